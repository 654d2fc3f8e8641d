//! The worker on both SQL stores: stuck transfers settled by the rail's word (or suspended),
//! monthly fees once per wallet per month across two workers and a month boundary, leases,
//! retention; and the real binary: killed mid-run and restarted, two processes at once.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::{Path, State};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use teller::bank::rail::{Rail, RailStatus, RailTransfer};
use teller::bank::rules::{DEFAULT_RULES, Rules};
use teller::bank::{Bank, Callback};
use teller::clock::{Clock, ManualClock};
use teller::config::SqlBackend;
use teller::metrics::Metrics;
use teller::store::{NewTransaction, SqlStore};
use teller::worker::jobs::{MonthlyFees, Retention, StuckTransfers};
use teller::worker::{Job, JobContext, Report, RunOutcome, Worker};
use tokio::sync::watch;

use crate::harness::{self, KvKind, TestDb, assert_ledger_sound, bank_on_rail, kv};

crate::harness::on_both_sql_backends!(
    stuck_transfers_are_posted_released_or_suspended_by_the_rails_word,
    a_refund_from_suspense_that_would_pass_the_maximum_waits_until_it_fits,
    two_workers_across_a_month_boundary_charge_each_wallet_once,
    a_worker_down_over_the_first_catches_up_the_missed_months,
    a_job_runs_on_one_worker_at_a_time_and_is_taken_over_when_its_lease_expires,
    a_stop_lets_the_running_step_finish_and_leaves_the_job_due,
    a_worker_whose_stop_signal_is_gone_stops_after_the_run_in_progress,
    a_sent_code_is_scrubbed_once_it_expired,
    retention_purges_old_traffic_but_never_the_ledger_or_the_audit_trail,
);

const MINUTE: chrono::Duration = chrono::Duration::minutes(1);

/// `n` naira in kobo.
const fn naira(n: i64) -> i64 {
    n * 100
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn never() -> watch::Receiver<bool> {
    watch::channel(false).1
}

/// A rail whose answers the test sets, by account number; pending unless told otherwise.
#[derive(Default)]
struct ScriptedRail {
    answers: Mutex<HashMap<String, RailStatus>>,
    asked: AtomicUsize,
}

impl ScriptedRail {
    fn answer(&self, account: &str, status: RailStatus) {
        self.answers.lock().unwrap().insert(account.to_owned(), status);
    }
}

#[async_trait]
impl Rail for ScriptedRail {
    fn name(&self) -> &'static str {
        "scripted"
    }

    async fn lookup(&self, _bank_code: &str, _account: &str) -> anyhow::Result<Option<String>> {
        Ok(Some("Amaka Eze".into()))
    }

    async fn initiate(&self, _transfer: &RailTransfer) -> anyhow::Result<RailStatus> {
        Ok(RailStatus::Pending)
    }

    async fn status(&self, transfer: &RailTransfer) -> anyhow::Result<RailStatus> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Ok(self.answers.lock().unwrap().get(&transfer.account_number).cloned().unwrap_or(RailStatus::Pending))
    }
}

fn rules(replacements: &[(&str, &str)]) -> Rules {
    let text = replacements.iter().fold(DEFAULT_RULES.to_owned(), |t, (from, to)| {
        assert!(t.contains(from), "the rules no longer contain {from:?}");
        t.replace(from, to)
    });
    Rules::parse(&text).unwrap()
}

async fn open_bank(
    store: &Arc<dyn SqlStore>,
    clock: &Arc<ManualClock>,
    rules: Rules,
    rail: Arc<dyn Rail>,
) -> Arc<Bank> {
    let bank = bank_on_rail(store.clone(), kv(KvKind::Memory), clock.clone(), rules, rail);
    bank.open().await.unwrap();
    bank
}

/// A customer (`n` picks the phone) whose wallet opened at `opened`, credited `balance` minor
/// units then; returns their wallet's id.
async fn wallet(
    bank: &Bank,
    store: &Arc<dyn SqlStore>,
    clock: &ManualClock,
    n: u32,
    opened: DateTime<Utc>,
    balance: i64,
) -> i64 {
    let phone = phone(n);
    let mut tx = store.begin().await.unwrap();
    let wallet = crate::harness::plain_customer(tx.as_mut(), u64::from(n), &phone, opened).await;
    tx.commit().await.unwrap();
    if balance > 0 {
        clock.set(opened);
        assert_eq!(
            bank.credit(&format!("open-{n}"), &phone, balance, "NGN", "").await.unwrap(),
            Callback::Applied
        );
    }
    wallet
}

fn phone(n: u32) -> String {
    format!("23480{n:08}")
}

/// A transfer to account `account` at GTBank, left pending at `made` with its funds held: as
/// a transfer is when the rail never answered and the instance that made it died.
pub(crate) async fn pending_transfer(
    store: &Arc<dyn SqlStore>,
    wallet: i64,
    account: &str,
    amount: i64,
    made: DateTime<Utc>,
) -> String {
    let reference = format!("X{account}");
    let mut tx = store.begin().await.unwrap();
    let settlement = harness::system_part(tx.bank(), "settlement", 0).await.unwrap();
    let new = NewTransaction {
        reference: &reference,
        idempotency_key: &format!("key-{account}"),
        kind: "external_transfer",
        state: "pending",
        debit_account: wallet,
        credit_account: settlement.id,
        amount,
        fee: 2_688,
        currency: "NGN",
        counterparty: &format!("058:{account}"),
        counterparty_name: "Amaka Eze",
        origin: "",
        origin_name: "",
        narration: "",
        now: made,
    };
    tx.bank().insert_transaction(&new).await.unwrap().unwrap();
    tx.bank().lock_account(wallet).await.unwrap();
    assert!(tx.bank().shift_balance(wallet, 0, amount + 2_688).await.unwrap(), "the wallet can hold it");
    tx.commit().await.unwrap();
    reference
}

async fn account(store: &Arc<dyn SqlStore>, id: i64) -> teller::store::AccountRow {
    let mut tx = store.begin().await.unwrap();
    let row = tx.bank().account(id).await.unwrap().unwrap();
    tx.rollback().await.unwrap();
    row
}

/// The balance of the bank's `kind` account (the sum of its parts).
async fn system(store: &Arc<dyn SqlStore>, kind: &str) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let balance = tx.bank().system_balance(kind, "NGN").await.unwrap();
    tx.rollback().await.unwrap();
    balance
}

async fn state_of(store: &Arc<dyn SqlStore>, reference: &str) -> (String, bool) {
    let mut tx = store.begin().await.unwrap();
    let row = tx.bank().transaction_by_reference(reference).await.unwrap().unwrap();
    tx.rollback().await.unwrap();
    (row.state, row.suspense_at.is_some())
}

async fn texts(store: &Arc<dyn SqlStore>, n: u32) -> Vec<String> {
    let sent = store.outbox_for_recipient(&format!("wa:{}", phone(n))).await.unwrap();
    sent.iter().map(|m| m.body.0["text"]["body"].as_str().unwrap_or_default().to_owned()).collect()
}

async fn stuck_transfers_are_posted_released_or_suspended_by_the_rails_word(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let start = at("2026-11-22T09:00:00Z");
    let clock = Arc::new(ManualClock::new(start));
    let rail = Arc::new(ScriptedRail::default());
    let bank = open_bank(&store, &clock, Rules::load(None).unwrap(), rail.clone()).await;
    let metrics = Arc::new(Metrics::new());
    let job = StuckTransfers {
        bank: bank.clone(),
        metrics: metrics.clone(),
        after: Duration::from_secs(600),
        suspense_after: Duration::from_secs(3 * 24 * 3600),
    };
    let w = wallet(&bank, &store, &clock, 1, start, naira(100_000)).await;
    let succeeds = pending_transfer(&store, w, "0000000011", naira(10_000), start).await;
    let fails = pending_transfer(&store, w, "0000000022", naira(20_000), start).await;
    let unknown = pending_transfer(&store, w, "0000000033", naira(30_000), start).await;
    let recent = pending_transfer(&store, w, "0000000044", naira(5_000), start + MINUTE * 15).await;
    rail.answer("0000000011", RailStatus::Success);
    rail.answer("0000000022", RailStatus::Failed("account closed".into()));
    let fee = 2_688;

    // Twenty minutes on: the three older than ten minutes are asked about; the fourth is not.
    clock.set(start + MINUTE * 20);
    let report = job.run(&JobContext::new(clock.now(), never())).await.unwrap();
    assert_eq!(
        (report.get("checked"), report.get("posted"), report.get("released"), report.get("still_pending")),
        (3, 1, 1, 1),
        "{report}"
    );
    assert_eq!(rail.asked.load(Ordering::SeqCst), 3);
    assert_eq!(state_of(&store, &succeeds).await, ("posted".into(), false));
    assert_eq!(state_of(&store, &fails).await, ("failed".into(), false));
    assert_eq!(state_of(&store, &unknown).await, ("pending".into(), false));
    let after = account(&store, w).await;
    assert_eq!(
        after.posted,
        naira(100_000) - (naira(10_000) + fee),
        "the posted one left; the failed one came back"
    );
    assert_eq!(after.held, naira(30_000) + naira(5_000) + 2 * fee, "the unknown ones stay held");
    let notices = texts(&store, 1).await;
    assert_eq!(notices.iter().filter(|t| t.contains("has arrived")).count(), 1, "{notices:#?}");
    assert_eq!(notices.iter().filter(|t| t.contains("did not go through")).count(), 1, "{notices:#?}");

    // Running again changes nothing that was settled.
    let again = job.run(&JobContext::new(clock.now(), never())).await.unwrap();
    assert_eq!((again.get("posted"), again.get("released"), again.get("checked")), (0, 0, 1), "{again}");

    // Three days after it was made, still unknown: its funds go to suspense, once.
    clock.set(start + chrono::Duration::days(3) + MINUTE);
    let report = job.run(&JobContext::new(clock.now(), never())).await.unwrap();
    assert_eq!((report.get("suspended"), report.get("still_pending")), (1, 1), "{report}");
    assert_eq!(metrics.transfers_suspended.get(), 1);
    assert_eq!(state_of(&store, &unknown).await, ("pending".into(), true));
    assert_eq!(system(&store, "suspense").await, naira(30_000) + fee);
    let suspended = account(&store, w).await;
    assert_eq!(suspended.held, naira(5_000) + fee, "the suspended transfer holds nothing any more");
    assert_eq!(suspended.posted, after.posted - (naira(30_000) + fee));
    let report = job.run(&JobContext::new(clock.now(), never())).await.unwrap();
    assert_eq!(report.get("suspended"), 0, "suspended once: {report}");
    assert_ledger_sound(&bank).await;

    // The rail finally answers: the suspended transfer is posted out of suspense; the recent
    // one's callback says it failed, and its funds come back.
    rail.answer("0000000033", RailStatus::Success);
    let report = job.run(&JobContext::new(clock.now(), never())).await.unwrap();
    assert_eq!(report.get("posted"), 1, "{report}");
    assert_eq!(state_of(&store, &unknown).await, ("posted".into(), true));
    assert_eq!(system(&store, "suspense").await, 0);
    assert_eq!(bank.settle(&recent, &RailStatus::Failed("timeout".into())).await.unwrap(), Callback::Applied);
    let last = account(&store, w).await;
    assert_eq!((last.posted, last.held), (after.posted - (naira(30_000) + fee), 0));
    assert_eq!(system(&store, "fee_income").await, 2 * fee, "fees of the two that arrived");
    assert_ledger_sound(&bank).await;
}

/// Moves `amount` out of wallet `wallet` to another bank, posted at once (spent elsewhere).
async fn spent(store: &Arc<dyn SqlStore>, wallet: i64, amount: i64, reference: &str, now: DateTime<Utc>) {
    let (_, settlement) = crate::harness::wallet_and_settlement(store, &format!("wa:{}", phone(7))).await;
    let new = NewTransaction {
        reference,
        idempotency_key: reference,
        kind: "external_transfer",
        state: "posted",
        debit_account: wallet,
        credit_account: settlement,
        amount,
        fee: 0,
        currency: "NGN",
        counterparty: "058:0000000077",
        counterparty_name: "Landlord",
        origin: "",
        origin_name: "",
        narration: "",
        now,
    };
    crate::harness::post_directly(store, &new).await;
}

/// A tier-1 wallet reached ₦350,001 against its ₦300,000 maximum when a transfer in suspense
/// failed and was refunded. Every credit respects the maximum: the refund waits in suspense,
/// the customer is told and operations alerted, and the stuck-transfer job pays it, once, as
/// soon as it fits.
async fn a_refund_from_suspense_that_would_pass_the_maximum_waits_until_it_fits(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let start = at("2026-11-22T09:00:00Z");
    let clock = Arc::new(ManualClock::new(start));
    let rail = Arc::new(ScriptedRail::default());
    let bank = open_bank(&store, &clock, Rules::load(None).unwrap(), rail.clone()).await;
    let job = StuckTransfers {
        bank: bank.clone(),
        metrics: Arc::new(Metrics::new()),
        after: Duration::from_secs(600),
        suspense_after: Duration::from_secs(3 * 24 * 3600),
    };
    let fee = 2_688;
    let w = wallet(&bank, &store, &clock, 7, start, naira(100_000)).await;
    let transfer = pending_transfer(&store, w, "0000000055", naira(90_000), start).await;
    clock.set(start + chrono::Duration::days(3) + MINUTE);
    let report = job.run(&JobContext::new(clock.now(), never())).await.unwrap();
    assert_eq!(report.get("suspended"), 1, "{report}");
    // Meanwhile the wallet fills up to ₦290,000 (of ₦300,000).
    assert_eq!(
        bank.credit("salary", &phone(7), naira(280_000) + fee, "NGN", "").await.unwrap(),
        Callback::Applied
    );
    assert_eq!(account(&store, w).await.posted, naira(290_000));

    // The rail says it failed: the ₦90,026.88 refund would pass the maximum, so it waits.
    assert_eq!(
        bank.settle(&transfer, &RailStatus::Failed("closed".into())).await.unwrap(),
        Callback::Applied
    );
    assert_eq!(
        bank.settle(&transfer, &RailStatus::Failed("closed".into())).await.unwrap(),
        Callback::Duplicate
    );
    assert_eq!(account(&store, w).await.posted, naira(290_000), "nothing past the maximum");
    assert_eq!(system(&store, "suspense").await, naira(90_000) + fee, "the refund waits in suspense");
    assert_eq!(state_of(&store, &transfer).await, ("failed".into(), true));
    let told = texts(&store, 7).await;
    let held =
        "We are keeping your refund of ₦90,026.88 safe for you: your account can hold at most ₦300,000.00";
    assert_eq!(told.iter().filter(|t| t.contains(held)).count(), 1, "{told:#?}");
    let audit: Vec<String> =
        store.recent_audit(20).await.unwrap().into_iter().map(|e| e.event.action).collect();
    assert!(audit.contains(&"ledger.refund_held".to_owned()), "{audit:?}");
    let report = job.run(&JobContext::new(clock.now(), never())).await.unwrap();
    assert_eq!((report.get("refunds_held"), report.get("refunds_paid")), (1, 0), "still no room: {report}");
    assert_ledger_sound(&bank).await;

    // The customer pays rent: now it fits, and the job pays it, once.
    spent(&store, w, naira(150_000), "rent", clock.now()).await;
    let report = job.run(&JobContext::new(clock.now(), never())).await.unwrap();
    assert_eq!(report.get("refunds_paid"), 1, "{report}");
    let again = job.run(&JobContext::new(clock.now(), never())).await.unwrap();
    assert_eq!((again.get("refunds_paid"), again.get("refunds_held")), (0, 0), "paid once: {again}");
    assert_eq!(account(&store, w).await.posted, naira(140_000) + naira(90_000) + fee);
    assert_eq!(system(&store, "suspense").await, 0);
    let told = texts(&store, 7).await;
    assert_eq!(
        told.iter().filter(|t| t.contains("Your refund of ₦90,026.88 is in your account")).count(),
        1,
        "{told:#?}"
    );
    assert_ledger_sound(&bank).await;
}

async fn two_workers_across_a_month_boundary_charge_each_wallet_once(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let clock = Arc::new(ManualClock::new(at("2026-09-01T09:00:00Z")));
    let fee_rules = || rules(&[("balance_below: \"1,000\"", "balance_below: \"10\"")]);
    let bank = open_bank(&store, &clock, fee_rules(), Arc::new(ScriptedRail::default())).await;
    const REGULAR: u32 = 20;
    let september = at("2026-09-01T09:00:00Z");
    let mut regular = Vec::new();
    for n in 0..REGULAR {
        regular.push(wallet(&bank, &store, &clock, n, september, naira(1_000)).await);
    }
    let low = wallet(&bank, &store, &clock, 100, september, naira(5)).await;
    let poor = wallet(&bank, &store, &clock, 101, september, naira(30)).await;
    let new = wallet(&bank, &store, &clock, 102, at("2026-11-20T09:00:00Z"), naira(1_000)).await;

    // Two workers, each with its own pool and bank, like two processes.
    let worker = || async {
        let store = db.store().await;
        let bank = open_bank(&store, &clock, fee_rules(), Arc::new(ScriptedRail::default())).await;
        let job = Arc::new(MonthlyFees { bank });
        let worker = Worker::new(store, clock.clone(), Arc::new(Metrics::new()), Duration::from_secs(60))
            .schedule(job.clone(), Duration::from_secs(3600));
        (worker, job)
    };
    let ((one, one_job), (two, two_job)) = (worker().await, worker().await);

    // 23:50 on 30 November in Lagos: November is due (a first run charges the month it is in).
    clock.set(at("2026-11-30T22:50:00Z"));
    let stop = never();
    let (a, b) = tokio::join!(one.run_due(&stop), two.run_due(&stop));
    let ran: Vec<&Report> = a
        .iter()
        .chain(&b)
        .filter_map(|(_, o)| if let RunOutcome::Ran(r) = o { Some(r) } else { None })
        .collect();
    assert_eq!(ran.len(), 1, "one worker ran it, the other found it leased: {a:?} {b:?}");
    assert_eq!(
        (ran[0].get("charged"), ran[0].get("waived_low_balance"), ran[0].get("waived_insufficient_funds")),
        (20, 1, 1),
        "{}",
        ran[0]
    );
    assert_eq!(
        bank.monthly_fees("2026-11").await.unwrap().len(),
        22,
        "the November account was not open on the 1st"
    );

    // A wallet opened half an hour into December (Lagos time) owes nothing for December.
    let later = wallet(&bank, &store, &clock, 103, at("2026-11-30T23:30:00Z"), naira(1_000)).await;
    // 01:00 on 1 December in Lagos. Both run the job at once, without leases: what would
    // happen if two ran it anyway.
    clock.set(at("2026-12-01T00:00:00Z"));
    let cx = JobContext::new(clock.now(), never());
    let (a, b) = tokio::join!(one_job.run(&cx), two_job.run(&cx));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.get("charged") + b.get("charged"), 20, "{a} / {b}");
    let december = bank.monthly_fees("2026-12").await.unwrap();
    let outcome = |wallet: i64| december.iter().find(|f| f.account_id == wallet).map(|f| f.outcome.as_str());
    assert_eq!(december.len(), 23);
    assert!(regular.iter().all(|w| outcome(*w) == Some("charged")));
    assert_eq!(outcome(low), Some("waived_low_balance"));
    assert_eq!(outcome(poor), Some("waived_insufficient_funds"));
    assert_eq!(outcome(new), Some("waived_new_account"));
    assert_eq!(outcome(later), None);

    // Due again an hour after the first run: it finds December done and charges nothing.
    clock.set(at("2026-12-01T01:00:00Z"));
    let stop = never();
    let (a, b) = tokio::join!(one.run_due(&stop), two.run_due(&stop));
    let ran: Vec<&Report> = a
        .iter()
        .chain(&b)
        .filter_map(|(_, o)| if let RunOutcome::Ran(r) = o { Some(r) } else { None })
        .collect();
    assert_eq!(ran.len(), 1, "one worker ran it again: {a:?} {b:?}");
    assert_eq!(ran[0].get("charged"), 0, "{}", ran[0]);
    assert_eq!(bank.completed_fee_periods().await.unwrap(), ["2026-11", "2026-12"]);

    // Each regular wallet paid twice in all (November, December), and heard of it twice.
    for (n, w) in regular.iter().enumerate() {
        assert_eq!(account(&store, *w).await.posted, naira(1_000) - 2 * naira(50));
        let told = texts(&store, u32::try_from(n).unwrap()).await;
        let fees: Vec<&String> = told.iter().filter(|t| t.contains("maintenance fee")).collect();
        assert_eq!(fees.len(), 2, "{told:#?}");
        assert!(
            fees[1].contains("December") && fees[1].contains("₦50.00") && fees[1].contains("Ref: F"),
            "{fees:#?}"
        );
    }
    assert_eq!(account(&store, poor).await.posted, naira(30), "never pushed below what it had");
    assert_eq!(system(&store, "fee_income").await, 40 * naira(50));
    assert_ledger_sound(&bank).await;
}

/// The fee job last completed September and no worker ran again until 15 December: one run
/// charges October, November and December, each once, and marks them done.
async fn a_worker_down_over_the_first_catches_up_the_missed_months(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let clock = Arc::new(ManualClock::new(at("2026-08-01T09:00:00Z")));
    let bank = open_bank(&store, &clock, Rules::load(None).unwrap(), Arc::new(ScriptedRail::default())).await;
    let w = wallet(&bank, &store, &clock, 1, at("2026-07-01T09:00:00Z"), naira(5_000)).await;
    let job = MonthlyFees { bank: bank.clone() };
    let september = job.run(&JobContext::new(at("2026-09-03T09:00:00Z"), never())).await.unwrap();
    assert_eq!(september.get("charged"), 1, "{september}");

    let december = job.run(&JobContext::new(at("2026-12-15T09:00:00Z"), never())).await.unwrap();
    assert_eq!((december.get("charged"), december.get("periods_completed")), (3, 3), "{december}");
    assert_eq!(bank.completed_fee_periods().await.unwrap(), ["2026-09", "2026-10", "2026-11", "2026-12"]);
    for period in ["2026-10", "2026-11", "2026-12"] {
        let fees = bank.monthly_fees(period).await.unwrap();
        assert_eq!((fees.len(), fees[0].outcome.as_str()), (1, "charged"), "{period}");
    }
    assert_eq!(account(&store, w).await.posted, naira(5_000) - 4 * naira(50));
    let again = job.run(&JobContext::new(at("2026-12-15T10:00:00Z"), never())).await.unwrap();
    assert_eq!(again.get("charged"), 0);
    assert_ledger_sound(&bank).await;
}

/// A job that counts its runs and, when told, waits until released.
#[derive(Default)]
struct Gate {
    runs: AtomicUsize,
    hold: Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
    fail: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Job for Gate {
    fn name(&self) -> &'static str {
        "gate"
    }

    async fn run(&self, _cx: &JobContext) -> anyhow::Result<Report> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let hold = self.hold.lock().unwrap().take();
        if let Some(hold) = hold {
            let _ = hold.await;
        }
        if self.fail.load(Ordering::SeqCst) {
            anyhow::bail!("the gate is broken");
        }
        let mut report = Report::default();
        report.add("opened", 1);
        Ok(report)
    }
}

async fn a_job_runs_on_one_worker_at_a_time_and_is_taken_over_when_its_lease_expires(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let clock = Arc::new(ManualClock::new(at("2026-11-22T09:00:00Z")));
    let gate = Arc::new(Gate::default());
    let (release, hold) = tokio::sync::oneshot::channel();
    *gate.hold.lock().unwrap() = Some(hold);
    let metrics = Arc::new(Metrics::new());
    let worker = |metrics: Arc<Metrics>| {
        Arc::new(
            Worker::new(store.clone(), clock.clone(), metrics, Duration::from_secs(60))
                .schedule(gate.clone(), Duration::from_secs(300)),
        )
    };
    let (first, second) = (worker(Arc::new(Metrics::new())), worker(metrics.clone()));

    // The first takes the job and is stuck in it.
    let stuck = tokio::spawn({
        let first = first.clone();
        async move { first.run_now("gate", &never()).await.unwrap() }
    });
    while gate.runs.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(matches!(second.run_now("gate", &never()).await.unwrap(), RunOutcome::Skipped), "leased");
    assert!(matches!(second.run_due(&never()).await[0].1, RunOutcome::Skipped));
    let states = second.states().await.unwrap();
    assert_eq!(states[0].lease_owner.as_deref(), Some(first.owner()));

    // Its lease runs out (it stopped renewing: a crash, a long pause): the second takes over.
    clock.advance(chrono::Duration::seconds(61));
    assert!(matches!(second.run_now("gate", &never()).await.unwrap(), RunOutcome::Ran(_)));
    assert_eq!(gate.runs.load(Ordering::SeqCst), 2);
    let _ = release.send(());
    assert!(matches!(stuck.await.unwrap(), RunOutcome::Ran(_)));
    let state = &second.states().await.unwrap()[0];
    assert_eq!(
        (state.runs, state.failures, state.lease_owner.as_deref()),
        (1, 0, None),
        "the first could not finish a lease it lost"
    );
    assert_eq!(state.next_run_at, clock.now() + chrono::Duration::seconds(300));

    // Not due again before its interval; due after it.
    assert!(matches!(second.run_due(&never()).await[0].1, RunOutcome::Skipped));
    clock.advance(chrono::Duration::seconds(301));
    gate.fail.store(true, Ordering::SeqCst);
    assert!(matches!(second.run_due(&never()).await[0].1, RunOutcome::Failed(_)));
    let state = &second.states().await.unwrap()[0];
    assert_eq!((state.runs, state.failures), (2, 1));
    assert_eq!(state.last_error.as_deref(), Some("the gate is broken"));
    assert_eq!(state.next_run_at, clock.now() + chrono::Duration::seconds(60), "a failure is retried sooner");

    let rendered = metrics.render().unwrap();
    for line in [
        r#"teller_job_runs_total{job="gate",outcome="success"} 1"#,
        r#"teller_job_runs_total{job="gate",outcome="failure"} 1"#,
        r#"teller_job_items_total{job="gate",item="opened"} 1"#,
        r#"teller_job_duration_seconds_count{job="gate"} 2"#,
    ] {
        assert!(rendered.contains(line), "no {line} in:\n{rendered}");
    }
    assert!(rendered.contains(r#"teller_job_last_success_timestamp_seconds{job="gate"}"#));
    let unknown = second.run_now("nope", &never()).await.unwrap_err().to_string();
    assert!(unknown.contains("the jobs are: gate"), "{unknown}");
}

/// SIGTERM (here: the stop signal) while a job is in a step: the step finishes, the run ends
/// as interrupted, the lease is released and the job is due at once for whoever comes next.
async fn a_stop_lets_the_running_step_finish_and_leaves_the_job_due(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let clock = Arc::new(ManualClock::new(at("2026-11-22T09:00:00Z")));
    let gate = Arc::new(Gate::default());
    let (release, hold) = tokio::sync::oneshot::channel();
    *gate.hold.lock().unwrap() = Some(hold);
    let worker = Arc::new(
        Worker::new(store.clone(), clock.clone(), Arc::new(Metrics::new()), Duration::from_secs(60))
            .schedule(gate.clone(), Duration::from_secs(3600)),
    );
    let (stop_tx, stop) = watch::channel(false);
    let running = tokio::spawn(worker.clone().run(stop));
    while gate.runs.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop_tx.send_replace(true);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!running.is_finished(), "the step in progress is not cut short");
    let _ = release.send(());
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("stops once the step is done")
        .unwrap();
    let state = &worker.states().await.unwrap()[0];
    assert_eq!((state.runs, state.lease_owner.as_deref()), (1, None));
    assert_eq!(state.next_run_at, clock.now(), "an interrupted run is due again at once");
    assert_eq!(gate.runs.load(Ordering::SeqCst), 1, "and nothing else started after the stop");
}

/// A stop signal whose sender is gone can never turn true: the worker stops after the run in
/// progress rather than looking for due jobs without a pause.
async fn a_worker_whose_stop_signal_is_gone_stops_after_the_run_in_progress(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let clock = Arc::new(ManualClock::new(at("2026-11-22T09:00:00Z")));
    let gate = Arc::new(Gate::default());
    let worker = Arc::new(
        Worker::new(store.clone(), clock.clone(), Arc::new(Metrics::new()), Duration::from_secs(60))
            .schedule(gate.clone(), Duration::from_secs(3600)),
    );
    let (stop_tx, stop) = watch::channel(false);
    drop(stop_tx);
    tokio::time::timeout(Duration::from_secs(10), worker.clone().run(stop))
        .await
        .expect("the worker stopped");
    assert_eq!(gate.runs.load(Ordering::SeqCst), 1, "the run in progress finished");
    let state = &worker.states().await.unwrap()[0];
    assert_eq!((state.runs, state.lease_owner.as_deref()), (1, None));
}

/// A one-time code's message keeps its code only while the code can be used: the session
/// cleanup replaces the body of a sent one after that; one not yet sent, and other messages,
/// are left alone.
async fn a_sent_code_is_scrubbed_once_it_expired(sql: SqlBackend) {
    use teller::store::Settlement;

    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let kv = kv(KvKind::Memory);
    let start = at("2026-11-22T09:00:00Z");
    let clock = Arc::new(ManualClock::new(start));
    let (host, bank) = crate::conversations::banking(kv.clone(), store.clone(), clock.clone()).await;
    let key = "wa:2348031234521";
    crate::conversations::customer(&bank, "2348031234521", "Tunde Bakare", "4821", Some("50,000")).await;
    let send_all = || async {
        for reply in store.claim_outbound("t", clock.now(), Duration::from_secs(30), 10).await.unwrap() {
            let mut tx = store.begin().await.unwrap();
            let sent =
                Settlement::Sent { provider_message_id: format!("wamid.{}", reply.id), via_template: false };
            assert!(tx.settle_outbound(reply.id, "t", clock.now(), &sent).await.unwrap());
            tx.commit().await.unwrap();
        }
    };
    send_all().await;
    assert_eq!(bank.verify_pin(key, "4821").await.unwrap(), teller::bank::PinCheck::Verified);
    let sent = bank.step_up(key, naira(25_000), "2348031234599", "s1").await.unwrap().unwrap();
    assert_eq!(sent, teller::bank::StepUp::Sent);
    send_all().await;
    // A second code, still waiting to be sent.
    assert_eq!(
        bank.step_up(key, naira(25_000), "2348031234599", "s2").await.unwrap().unwrap(),
        teller::bank::StepUp::Sent
    );
    let job =
        teller::worker::jobs::SessionCleanup { conversations: Arc::new(host), kv, store: store.clone() };
    let bodies = || async {
        let rows = store.outbox_for_recipient(key).await.unwrap();
        rows.iter()
            .map(|m| m.body.0["text"]["body"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };

    let report = job.run(&JobContext::new(start + MINUTE, never())).await.unwrap();
    assert_eq!(report.get("codes_scrubbed"), 0, "the code can still be used");
    assert!(bodies().await[1].contains("is your code"));
    let report = job.run(&JobContext::new(start + MINUTE * 6, never())).await.unwrap();
    assert_eq!(report.get("codes_scrubbed"), 1, "{report}");
    let after = bodies().await;
    assert!(after[0].starts_with("You received"), "other messages stay: {after:#?}");
    assert_eq!(after[1], "[a one-time code: not kept]");
    assert!(after[2].contains("is your code"), "not sent yet: left for the sender");
    let again = job.run(&JobContext::new(start + MINUTE * 6, never())).await.unwrap();
    assert_eq!(again.get("codes_scrubbed"), 0);
}

/// On the embedded default, `teller serve` runs the jobs itself.
#[tokio::test]
async fn serve_on_the_embedded_default_runs_the_jobs_itself() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    db.store().await.close().await;
    let mut env = crate::harness::base_env(&db);
    env.remove("WORKER_IN_SERVE");
    let config = crate::harness::config(env, crate::harness::kv_config(KvKind::Memory));
    let app = crate::harness::TestApp::spawn_with(config, db, |router| router).await;
    assert!(app.state.config.worker.in_serve, "the embedded default runs the jobs in serve");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        if metrics.contains(r#"teller_job_runs_total{job="monthly_fees",outcome="success"} 1"#) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "serve ran no job:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.shutdown().await.unwrap();
}

async fn retention_purges_old_traffic_but_never_the_ledger_or_the_audit_trail(sql: SqlBackend) {
    use teller::store::{
        DeliveryStatus, Finish, NewAuditEvent, NewInboxMessage, NewOutboxMessage, NewWebhookPayload,
        Settlement,
    };

    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let now = at("2026-11-22T09:00:00Z");
    let old = now - chrono::Duration::days(40);
    let clock = Arc::new(ManualClock::new(old));
    let bank = open_bank(&store, &clock, Rules::load(None).unwrap(), Arc::new(ScriptedRail::default())).await;
    wallet(&bank, &store, &clock, 1, old, naira(1_000)).await;
    let message = json!({"type": "text", "text": {"body": "hi"}});
    let mut tx = store.begin().await.unwrap();
    for (id, when) in [("old.done", old), ("old.pending", old), ("new.done", now)] {
        let payload = tx
            .record_webhook(&NewWebhookPayload { received_at: when, body: b"{}", problems: None })
            .await
            .unwrap();
        let sender = format!("wa:{id}");
        tx.enqueue_inbound(&NewInboxMessage {
            payload_id: payload,
            message_id: id,
            sender_key: &sender,
            phone_number_id: None,
            kind: "text",
            sent_at: Some(when),
            received_at: when,
            message: &message,
        })
        .await
        .unwrap();
        tx.enqueue_outbound(&NewOutboxMessage {
            recipient_key: &sender,
            wa_id: Some("2348000000001"),
            bsuid: None,
            in_reply_to: Some(id),
            body: &json!({"type": "text", "text": {"body": "hello"}}),
            window_from: None,
            created_at: when,
            scrub_after: None,
            question: None,
        })
        .await
        .unwrap();
        tx.apply_delivery_status(&DeliveryStatus {
            message_id: format!("wamid.{id}"),
            status: "delivered".into(),
            rank: 2,
            status_at: Some(when),
            error_code: None,
            error_title: None,
            callback_data: None,
            updated_at: when,
        })
        .await
        .unwrap();
    }
    // A webhook body that carried nothing (statuses only), long ago.
    tx.record_webhook(&NewWebhookPayload { received_at: old, body: b"{}", problems: None }).await.unwrap();
    // Loan decisions: an old one that led nowhere (purged), an old one behind a loan and a
    // recent one (kept).
    let customer = tx.customers().customer_by_alias(&format!("wa:{}", phone(1))).await.unwrap().unwrap().id;
    let long_ago = now - chrono::Duration::days(200);
    let mut decisions = Vec::new();
    for when in [long_ago, long_ago, now] {
        let decision = teller::store::loans::NewDecision {
            customer_id: customer,
            product: Some("starter"),
            outcome: "eligible",
            limit: 100_000,
            reasons: "[]",
            facts: "{}",
            now: when,
        };
        decisions.push(tx.loans().insert_decision(&decision).await.unwrap());
    }
    let offer = teller::store::loans::NewLoan {
        reference: "L-kept",
        offer_key: "offer-kept",
        customer_id: customer,
        decision_id: decisions[1],
        product: "starter",
        currency: "NGN",
        principal: 100_000,
        fee: 0,
        interest: 0,
        total: 100_000,
        tenor: 1,
        every: "month",
        apr: "0",
        offered_on: "2026-05-06",
        now: long_ago,
    };
    tx.loans().insert_loan(&offer).await.unwrap().unwrap();
    tx.append_audit(&NewAuditEvent {
        occurred_at: old,
        actor: "test".into(),
        action: "test.old".into(),
        subject: "test".into(),
        detail: json!({}),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // Handle and send everything except "old.pending" (still waiting: it must stay).
    for claimed in store.claim_inbound("t", now, Duration::from_secs(30), 10).await.unwrap() {
        if claimed.message_id != "old.pending" {
            let mut tx = store.begin().await.unwrap();
            assert!(tx.finish_inbound(claimed.seq, "t", Finish::Done, now).await.unwrap());
            tx.commit().await.unwrap();
        }
    }
    for reply in store.claim_outbound("t", now, Duration::from_secs(30), 10).await.unwrap() {
        if reply.recipient_key != "wa:old.pending" {
            let mut tx = store.begin().await.unwrap();
            let sent = Settlement::Sent {
                provider_message_id: format!("wamid.sent{}", reply.id),
                via_template: false,
            };
            assert!(tx.settle_outbound(reply.id, "t", now, &sent).await.unwrap());
            tx.commit().await.unwrap();
        }
    }
    let audit_before = store.recent_audit(1000).await.unwrap().len();
    let totals_before = bank.totals().await.unwrap();

    let job = Retention {
        store: store.clone(),
        inbox_age: Duration::from_secs(30 * 86_400),
        outbox_age: Duration::from_secs(30 * 86_400),
        decisions_age: Duration::from_secs(180 * 86_400),
    };
    let report = job.run(&JobContext::new(now, never())).await.unwrap();
    assert_eq!(
        (
            report.get("inbox_messages"),
            report.get("webhook_payloads"),
            report.get("outbox_messages"),
            report.get("delivery_statuses")
        ),
        (1, 2, 2, 2),
        "{report}: the old reply, the old credit notice, and both old statuses"
    );
    assert_eq!(report.get("loan_decisions"), 1, "the old decision that led nowhere: {report}");
    let mut tx = store.begin().await.unwrap();
    let kept: Vec<i64> = tx.loans().decisions(customer, 10).await.unwrap().iter().map(|d| d.id).collect();
    tx.rollback().await.unwrap();
    assert_eq!(kept, [decisions[2], decisions[1]], "the one behind a loan, and the recent one");
    let messages = |sender: &'static str| {
        let store = store.clone();
        async move { store.inbox_for_sender(sender).await.unwrap().len() }
    };
    assert_eq!(
        (messages("wa:old.done").await, messages("wa:old.pending").await, messages("wa:new.done").await),
        (0, 1, 1)
    );
    let counts = store.inbox_counts().await.unwrap();
    assert_eq!(
        (counts.payloads, counts.messages, counts.statuses),
        (2, 2, 1),
        "the pending one's body stays with it"
    );
    assert!(store.outbox_for_recipient("wa:old.done").await.unwrap().is_empty());
    assert_eq!(store.outbox_for_recipient("wa:old.pending").await.unwrap().len(), 1, "not yet sent: kept");
    assert_eq!(store.outbox_for_recipient("wa:new.done").await.unwrap().len(), 1);
    assert_eq!(
        store.recent_audit(1000).await.unwrap().len(),
        audit_before,
        "the audit trail is never purged"
    );
    assert_eq!(bank.totals().await.unwrap(), totals_before, "nor is the ledger");
    assert_eq!(bank.statement(&format!("wa:{}", phone(1)), 5).await.unwrap().unwrap().len(), 1);
    let again = job.run(&JobContext::new(now, never())).await.unwrap();
    assert!(again.counts().iter().all(|(_, n)| *n == 0), "{again}");
}

// ---- the real binary -------------------------------------------------------------------------

/// A rail over HTTP whose status answers succeed, but only `answer` of them before it hangs
/// (each request after that waits until `release` is notified).
#[derive(Clone)]
struct SlowRail {
    asked: Arc<AtomicUsize>,
    answer: usize,
    release: Arc<tokio::sync::Notify>,
    released: Arc<std::sync::atomic::AtomicBool>,
}

async fn slow_rail(answer: usize) -> (String, SlowRail) {
    let rail = SlowRail {
        asked: Arc::new(AtomicUsize::new(0)),
        answer,
        release: Arc::new(tokio::sync::Notify::new()),
        released: Arc::new(std::sync::atomic::AtomicBool::new(false)),
    };
    let router = axum::Router::new()
        .route(
            "/transfers/{reference}",
            get(|State(rail): State<SlowRail>, Path(_r): Path<String>| async move {
                let n = rail.asked.fetch_add(1, Ordering::SeqCst);
                if n >= rail.answer && !rail.released.load(Ordering::SeqCst) {
                    rail.release.notified().await;
                }
                axum::Json(json!({"status": "success"}))
            }),
        )
        .with_state(rail.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}"), rail)
}

/// A worker killed (SIGKILL) in the middle of the stuck-transfer job, then run again once its
/// lease expired: every transfer ends posted exactly once, as if nothing had happened.
// Two threads: the fake rail must answer while the test waits on the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_converges_when_restarted() {
    let db = TestDb::new(SqlBackend::Postgres).await;
    let store = db.store().await;
    let made = Utc::now() - chrono::Duration::hours(1);
    let clock = Arc::new(ManualClock::new(made));
    let bank = open_bank(&store, &clock, Rules::load(None).unwrap(), Arc::new(ScriptedRail::default())).await;
    let w = wallet(&bank, &store, &clock, 1, made, naira(100_000)).await;
    let mut references = Vec::new();
    for n in 0..12 {
        references.push(pending_transfer(&store, w, &format!("00000001{n:02}"), naira(1_000), made).await);
    }
    let (url, rail) = slow_rail(5).await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("PAYMENT_RAIL_URL", url.as_str()),
        ("PAYMENT_RAIL_SECRET", "rail-signing-key"),
        ("WORKER_PORT", "0"),
        ("WORKER_LEASE_SECS", "2"),
    ];
    let mut child =
        crate::lifecycle::teller(dir.path(), &["worker"], &env).stdout(Stdio::null()).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while rail.asked.load(Ordering::SeqCst) <= 5 {
        assert!(std::time::Instant::now() < deadline, "the worker never reached the rail");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Five answered and settled; the sixth hangs at the rail. Kill it there.
    child.kill().unwrap();
    child.wait().unwrap();
    let mut posted = 0;
    for reference in &references {
        posted += usize::from(state_of(&store, reference).await.0 == "posted");
    }
    assert_eq!(posted, 5, "killed after five");

    rail.released.store(true, Ordering::SeqCst);
    rail.release.notify_waiters();
    // Its lease (2 s) must run out before another worker may take the job.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let output = crate::lifecycle::teller(dir.path(), &["worker", "--once", "stuck_transfers"], &env)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("stuck_transfers: checked=7 posted=7"), "{stdout}");
    for reference in &references {
        assert_eq!(state_of(&store, reference).await.0, "posted", "{reference}");
    }
    let arrived = texts(&store, 1).await.iter().filter(|t| t.contains("has arrived")).count();
    assert_eq!(arrived, 12, "one notice per transfer");
    assert_eq!(account(&store, w).await.posted, naira(100_000) - 12 * (naira(1_000) + 2_688));
    assert_ledger_sound(&bank).await;
}

/// Two `teller worker --once monthly_fees` processes at once: the month is charged once.
#[tokio::test]
async fn two_worker_processes_charge_the_current_month_once() {
    let db = TestDb::new(SqlBackend::Postgres).await;
    let store = db.store().await;
    let long_ago = Utc::now() - chrono::Duration::days(400);
    let clock = Arc::new(ManualClock::new(long_ago));
    let bank = open_bank(&store, &clock, Rules::load(None).unwrap(), Arc::new(ScriptedRail::default())).await;
    let mut wallets = Vec::new();
    for n in 0..30 {
        wallets.push(wallet(&bank, &store, &clock, n, long_ago, naira(5_000)).await);
    }
    let dir = tempfile::tempdir().unwrap();
    let env = [("DATABASE_URL", db.url.as_str())];
    let run = || {
        crate::lifecycle::teller(dir.path(), &["worker", "--once", "monthly_fees"], &env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (run(), run());
    let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let mut charged = 0;
    for output in &outputs {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Each either ran (and says what it charged) or found the other holding the job.
        assert!(output.status.success() || stderr.contains("it holds the lease"), "{stdout}\n{stderr}");
        if let Some(n) = stdout.split("charged=").nth(1) {
            charged += n.split_whitespace().next().unwrap().parse::<u32>().unwrap();
        }
    }
    assert_eq!(charged, 30, "{outputs:?}");
    let third =
        crate::lifecycle::teller(dir.path(), &["worker", "--once", "monthly_fees"], &env).output().unwrap();
    assert!(third.status.success());
    assert!(!String::from_utf8_lossy(&third.stdout).contains("charged="), "charged nothing more");
    let period = teller::bank::fees::Period::at(Utc::now(), chrono_tz::Africa::Lagos).unwrap();
    let fees = bank.monthly_fees(&period.name).await.unwrap();
    assert_eq!(fees.len(), 30);
    assert!(fees.iter().all(|f| f.outcome == "charged" && f.amount == naira(50)));
    for w in wallets {
        assert_eq!(account(&store, w).await.posted, naira(5_000) - naira(50));
    }
    assert_ledger_sound(&bank).await;
}

/// `teller worker` answers on its own port and stops cleanly on SIGTERM.
#[tokio::test]
async fn the_worker_process_serves_health_and_metrics_and_stops_on_sigterm() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    db.store().await.close().await;
    let dir = tempfile::tempdir().unwrap();
    let port = crate::harness::free_port();
    let port_text = port.to_string();
    let env = [("DATABASE_URL", db.url.as_str()), ("WORKER_PORT", port_text.as_str())];
    let mut child =
        crate::lifecycle::teller(dir.path(), &["worker"], &env).stdout(Stdio::null()).spawn().unwrap();
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let health: Value = loop {
        if let Ok(response) = client.get(format!("http://127.0.0.1:{port}/health")).send().await {
            break response.json().await.unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "the worker never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(health["status"], "ok");
    assert_eq!(health["checks"]["sql"]["status"], "ok");
    assert_eq!(health["scheduler"]["status"], "ok", "{health}");
    // Every job runs at start (none ever ran on this database).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = client
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let ran = ["stuck_transfers", "session_cleanup", "monthly_fees", "retention"].iter().all(|job| {
            metrics.contains(&format!(r#"teller_job_runs_total{{job="{job}",outcome="success"}} 1"#))
        });
        if ran {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not every job ran:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
