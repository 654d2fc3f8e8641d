//! `teller loadgen --ledger`: the ledger under load, without the message path. Internal
//! transfers between wallets it opens itself, each one unit of work on the configured store
//! (`Bank::move_internal`: the transaction, the locks, the entries, the balances, the fee, the
//! recipient's notice), many at once, some asked twice. It reports transfers a second and each
//! transfer's latency, and checks afterwards that the ledger is sound and that every repeat was
//! answered with the first answer. Every transfer pays the internal fee into the one fee-income
//! account, so this is where hot accounts show.
//!
//! It opens wallets and credits them, so it runs only on a database with no customers: a fresh
//! SQLite file when `DATABASE_URL` is unset, else one made for the benchmark.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::StreamExt;

use super::{LoadgenArgs, millis, per_second, percentile};
use crate::bank::{Bank, Callback, Transfer};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::store::{self, AccountRow, CustomerRow, NewCustomer, SqlStore};

/// What each wallet is opened with: far more than the transfers take out.
const OPENING: i64 = 1_000_000 * 100;
/// The largest transfer, in minor units (the smallest is one).
const MOST: i64 = 5_000 * 100;

/// A wallet loadgen opened: its owner and account.
type Wallet = (CustomerRow, AccountRow);

/// Runs the ledger benchmark and prints its report; an error when the ledger is not sound.
pub async fn run(args: &LoadgenArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.customers >= 2, "--ledger needs at least 2 --customers to move money between");
    let (config, sqlite_file) = config(args).await?;
    let result = measure(args, &config).await;
    if let Some(file) = sqlite_file {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
    result
}

/// The configuration from the environment, on a fresh SQLite file when `DATABASE_URL` is unset,
/// through a delaying proxy with `--db-latency-ms`.
async fn config(args: &LoadgenArgs) -> anyhow::Result<(Config, Option<std::path::PathBuf>)> {
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.push(("KV_PREFIX".into(), format!("loadgen-{}:", std::process::id())));
    let mut sqlite_file = None;
    match std::env::var("DATABASE_URL").ok().filter(|url| !url.trim().is_empty()) {
        Some(url) if !args.db_latency_ms.is_zero() => {
            let delayed = super::latency::delayed(&url, args.db_latency_ms).await?;
            vars.push(("DATABASE_URL".into(), delayed));
        }
        Some(_) => {}
        None => {
            let file = std::env::temp_dir().join(format!("teller-loadgen-ledger-{}.db", std::process::id()));
            vars.push(("DATABASE_URL".into(), format!("sqlite://{}", file.display())));
            sqlite_file = Some(file);
        }
    }
    Ok((Config::from_vars(vars)?, sqlite_file))
}

async fn measure(args: &LoadgenArgs, config: &Config) -> anyhow::Result<()> {
    let store = store::connect(&config.database).await?;
    store.migrate().await?;
    let mut tx = store.begin().await?;
    let taken = tx.customers().any_customer().await?;
    tx.rollback().await?;
    anyhow::ensure!(
        !taken,
        "--ledger opens its own wallets and credits them: give it a database with no customers (this one has some)"
    );
    let kv = crate::kv::connect(&config.kv)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let wake = Arc::new(crate::wake::Wake::default());
    let bank = Arc::new(crate::bank::setup::open(config, &store, &kv, &wake, &clock).await?);
    eprintln!("opening {} wallets on {}", args.customers, config.describe_backends());
    let wallets = Arc::new(open_wallets(&bank, &store, args.customers).await?);
    eprintln!("moving money: {} transfers, {} at a time", args.messages, args.concurrency);
    let run = transfer(args, &bank, &wallets).await;
    let sound = soundness(&bank, &store, run.fees).await?;
    run.print(args, config);
    println!("ledger sound           {sound}");
    store.close().await;
    anyhow::ensure!(sound == "yes", "the ledger is not sound after the run");
    anyhow::ensure!(run.failed == 0 && run.disagreed == 0, "transfers failed or repeats disagreed");
    Ok(())
}

/// Opens `count` tier-3 wallets (no maximum balance), each credited [`OPENING`] through the
/// bank, as money from another bank arrives.
async fn open_wallets(
    bank: &Arc<Bank>,
    store: &Arc<dyn SqlStore>,
    count: u32,
) -> anyhow::Result<Vec<Wallet>> {
    let now = chrono::Utc::now();
    for first in (0..count).step_by(500) {
        let mut tx = store.begin().await?;
        for n in first..(first + 500).min(count) {
            let new = NewCustomer {
                first_name: "Load",
                last_name: "Test",
                date_of_birth: "1990-01-01",
                id_number: &format!("loadgen-{n}"),
                id_number_sealed: None,
                phone: &phone(n),
                kyc_tier: 3,
                // Not a PIN hash: no PIN opens these wallets.
                pin_hash: "!",
                now,
            };
            let id = tx.customers().insert_customer(&new).await?.context("a loadgen customer exists")?;
            tx.customers().insert_alias(&format!("wa:{}", phone(n)), id, now).await?;
            tx.bank()
                .insert_account(&format!("8{n:09}"), "wallet", Some(id), bank.currency(), false, now)
                .await?;
        }
        tx.commit().await?;
    }
    let opened = futures_util::stream::iter(0..count)
        .map(|n| {
            let (bank, store) = (bank.clone(), store.clone());
            async move { open_one(&bank, &store, n).await }
        })
        .buffered(16)
        .collect::<Vec<_>>()
        .await;
    opened.into_iter().collect()
}

async fn open_one(bank: &Bank, store: &Arc<dyn SqlStore>, n: u32) -> anyhow::Result<Wallet> {
    let phone = phone(n);
    let credited =
        bank.credit(&format!("loadgen-open-{n}"), &phone, OPENING, bank.currency(), "loadgen").await?;
    anyhow::ensure!(credited == Callback::Applied, "opening wallet {n}: {credited:?}");
    let mut tx = store.begin().await?;
    let customer = tx.customers().customer_by_alias(&format!("wa:{phone}")).await?.context("customer")?;
    let wallet = tx.bank().customer_account(customer.id, "wallet").await?.context("wallet")?;
    tx.rollback().await?;
    Ok((customer, wallet))
}

/// Wallet `n`'s owner's WhatsApp number.
fn phone(n: u32) -> String {
    format!("234800{n:07}")
}

/// What the transfers did.
struct Run {
    elapsed: Duration,
    posted: u64,
    refused: u64,
    failed: u64,
    /// Transfers asked a second time (`--redeliver`), and those answered otherwise than first.
    repeated: u64,
    disagreed: u64,
    /// The fees the posted transfers charged.
    fees: i64,
    latencies: Vec<u64>,
}

/// One transfer's answer, the second answer when it was asked twice, and the first's latency.
type Answer = (anyhow::Result<Transfer>, Option<anyhow::Result<Transfer>>, u64);

async fn transfer(args: &LoadgenArgs, bank: &Arc<Bank>, wallets: &Arc<Vec<Wallet>>) -> Run {
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let count = u64::try_from(wallets.len()).unwrap_or(u64::MAX);
    let mut rng = fastrand::Rng::new();
    let requests: Vec<(usize, usize, i64)> = (0..args.messages)
        .map(|_| {
            let from = rng.u64(..count);
            let to = (from + 1 + rng.u64(..count - 1)) % count;
            (usize::try_from(from).unwrap_or(0), usize::try_from(to).unwrap_or(0), rng.i64(1..=MOST))
        })
        .collect();
    let started = Instant::now();
    let answers: Vec<Answer> = futures_util::stream::iter(requests.into_iter().enumerate())
        .map(|(n, (from, to, amount))| {
            let (bank, wallets, key) = (bank.clone(), wallets.clone(), format!("loadgen-{run_id}-{n}"));
            let again = n % 100 < usize::from(args.redeliver);
            async move {
                let ((sender, wallet), (recipient, _)) = (&wallets[from], &wallets[to]);
                let at = Instant::now();
                let first = bank.move_internal(sender, wallet, recipient, amount, &key).await;
                let micros = u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX);
                let second = match again {
                    true => Some(bank.move_internal(sender, wallet, recipient, amount, &key).await),
                    false => None,
                };
                (first, second, micros)
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    Run::tally(started.elapsed(), answers)
}

impl Run {
    fn tally(elapsed: Duration, answers: Vec<Answer>) -> Run {
        let mut run = Run {
            elapsed,
            posted: 0,
            refused: 0,
            failed: 0,
            repeated: 0,
            disagreed: 0,
            fees: 0,
            latencies: Vec::with_capacity(answers.len()),
        };
        for (first, second, micros) in answers {
            run.latencies.push(micros);
            match &first {
                Ok(Transfer::Posted { fee, .. }) => {
                    run.posted += 1;
                    run.fees += fee;
                }
                Ok(_) => run.refused += 1,
                Err(err) => {
                    if run.failed == 0 {
                        eprintln!("a transfer failed: {err:#}");
                    }
                    run.failed += 1;
                }
            }
            if let Some(second) = second {
                run.repeated += 1;
                run.disagreed += u64::from(!same_answer(&first, &second));
            }
        }
        run.latencies.sort_unstable();
        run
    }

    fn print(&self, args: &LoadgenArgs, config: &Config) {
        let asked = self.posted + self.refused + self.failed;
        println!(
            "ledger                 {} wallets on {}, {} transfers at a time",
            args.customers,
            config.database.backend.name(),
            args.concurrency
        );
        println!(
            "transfers              {asked} asked: {} posted, {} refused, {} failed; {} asked twice, {} answered otherwise",
            self.posted, self.refused, self.failed, self.repeated, self.disagreed
        );
        println!(
            "throughput             {} transfers/s over {:.1?}",
            per_second(asked, self.elapsed),
            self.elapsed
        );
        let l = &self.latencies;
        println!(
            "transfer latency ms    p50 {}  p90 {}  p99 {}  max {}",
            millis(percentile(l, 50)),
            millis(percentile(l, 90)),
            millis(percentile(l, 99)),
            millis(l.last().copied().unwrap_or(0))
        );
    }
}

/// Whether a repeat was answered as the first request was: a posted transfer with its reference.
fn same_answer(first: &anyhow::Result<Transfer>, second: &anyhow::Result<Transfer>) -> bool {
    match (first, second) {
        (Ok(Transfer::Posted { reference: a, .. }), Ok(Transfer::Posted { reference: b, .. })) => a == b,
        (Ok(Transfer::Refused(a)), Ok(Transfer::Refused(b))) => a == b,
        _ => false,
    }
}

/// "yes", or what is wrong: the ledger's sums, and the fee income against the fees charged.
async fn soundness(bank: &Bank, store: &Arc<dyn SqlStore>, fees: i64) -> anyhow::Result<String> {
    let totals = bank.totals().await?;
    let mut tx = store.begin().await?;
    let income = tx.bank().system_balance(crate::bank::ledger::kind::FEE_INCOME, bank.currency()).await?;
    tx.rollback().await?;
    let mut wrong = Vec::new();
    if totals.posted != 0 || totals.entries != 0 {
        wrong.push(format!("balances sum to {} and entries to {}", totals.posted, totals.entries));
    }
    if totals.unbalanced_transactions != 0 || totals.drifted_accounts != 0 {
        wrong.push(format!(
            "{} transactions do not balance, {} balances disagree with their entries",
            totals.unbalanced_transactions, totals.drifted_accounts
        ));
    }
    if totals.negative_wallets != 0 {
        wrong.push(format!("{} wallets below zero", totals.negative_wallets));
    }
    if income != fees {
        wrong.push(format!("fee income is {income}, the fees charged {fees}"));
    }
    Ok(if wrong.is_empty() { "yes".to_owned() } else { format!("NO: {}", wrong.join("; ")) })
}
