//! The bank on both SQL stores: the ledger's invariants under concurrency and repeats, provider
//! callbacks, the HTTP rail, PIN lockouts, one-time codes and number changes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use chrono::{TimeZone, Utc};
use futures_util::StreamExt;
use serde_json::{Value, json};
use teller::bank::rail::{HttpRail, RailStatus};
use teller::bank::rules::{DEFAULT_RULES, Rules};
use teller::bank::{Bank, Callback, CodeCheck, Destination, PinCheck, QuoteRefusal, Refusal, Transfer};
use teller::clock::{Clock, ManualClock};
use teller::config::SqlBackend;
use teller::kv::Kv;
use teller::store::SqlStore;

use crate::conversations::customer;
use crate::harness::{KvKind, TestApp, TestDb, bank_with, base_env, config, kv, kv_config};

crate::harness::on_both_sql_backends!(
    a_code_goes_in_the_authentication_template_with_a_copy_code_button,
    money_is_conserved_under_concurrent_and_repeated_transfers,
    a_credit_callback_credits_once_and_a_forged_one_nothing,
    an_external_transfer_holds_then_posts_or_releases_on_the_rails_word,
    a_locked_pin_is_not_checked_and_the_lock_ends_on_time,
    parallel_pin_guesses_never_check_more_pins_than_tries_are_left,
    successive_pin_locks_grow_then_wait_for_an_operator,
    a_number_change_moves_the_alias_and_asks_for_the_pin_again,
    a_refused_quote_names_the_figure_that_fixes_it,
);

crate::harness::on_both_kv_adapters!(codes_expire_are_single_use_and_allow_three_guesses);

fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
}

fn rules_with(replacements: &[(&str, &str)]) -> Rules {
    let text = replacements.iter().fold(DEFAULT_RULES.to_owned(), |t, (from, to)| {
        assert!(t.contains(from), "the rules no longer contain {from:?}");
        t.replace(from, to)
    });
    Rules::parse(&text).unwrap()
}

async fn open(store: Arc<dyn SqlStore>, kv: Arc<dyn Kv>, rules: Rules) -> (Arc<Bank>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start()));
    let bank = bank_with(store, kv, clock.clone(), rules);
    bank.open().await.unwrap();
    (bank, clock)
}

/// Property 4: 100 wallets, 10,000 transfers in parallel (a tenth of them repeats of an
/// earlier request, some of them racing it), random amounts that often exceed what the sender
/// holds. Afterwards every transaction balances, balances match their entries, the sum of all
/// balances is what it was, no wallet is negative, and each idempotency key moved money once.
async fn money_is_conserved_under_concurrent_and_repeated_transfers(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let rules = rules_with(&[
        ("per_day: \"200,000\"", "per_day: \"100,000,000\""),
        ("max_balance: \"300,000\"", "max_balance: \"100,000,000\""),
    ]);
    let (bank, _clock) = open(store.clone(), kv(KvKind::Memory), rules).await;
    const WALLETS: usize = 100;
    const TRANSFERS: usize = 10_000;
    const OPENING: i64 = 10_000 * 100;
    let mut customers = Vec::new();
    let mut tx = store.begin().await.unwrap();
    for n in 0..WALLETS {
        crate::harness::plain_customer(tx.as_mut(), n as u64, &format!("23480{n:08}"), start()).await;
    }
    tx.commit().await.unwrap();
    for n in 0..WALLETS {
        let phone = format!("23480{n:08}");
        assert_eq!(
            bank.credit(&format!("open-{n}"), &phone, OPENING, "NGN", "").await.unwrap(),
            Callback::Applied
        );
        let row = bank.customer(&format!("wa:{phone}")).await.unwrap().unwrap();
        let mut tx = store.begin().await.unwrap();
        let wallet = tx.bank().customer_account(row.id, "wallet").await.unwrap().unwrap();
        tx.rollback().await.unwrap();
        customers.push((row, wallet));
    }
    let before = bank.totals().await.unwrap();
    assert_eq!(before.posted, 0);

    let seed =
        std::env::var("LEDGER_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| fastrand::u64(..));
    println!("LEDGER_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut requests: Vec<(usize, usize, i64, String)> = Vec::with_capacity(TRANSFERS);
    for n in 0..TRANSFERS {
        if n > 0 && rng.u8(..10) == 0 {
            let again = requests[rng.usize(..requests.len())].clone();
            requests.push(again);
            continue;
        }
        let from = rng.usize(..WALLETS);
        let to = (from + 1 + rng.usize(..WALLETS - 1)) % WALLETS;
        requests.push((from, to, rng.i64(1..=6_000 * 100), format!("key-{n}")));
    }
    let customers = Arc::new(customers);
    let outcomes: Vec<(String, Transfer)> = futures_util::stream::iter(requests)
        .map(|(from, to, amount, key)| {
            let (bank, customers) = (bank.clone(), customers.clone());
            async move {
                let (sender, wallet) = &customers[from];
                let (recipient, _) = &customers[to];
                let outcome = bank.move_internal(sender, wallet, recipient, amount, &key).await.unwrap();
                (key, outcome)
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;

    let after = bank.totals().await.unwrap();
    assert_eq!(after.posted, 0, "the sum of all balances changed");
    assert_eq!(after.entries, 0);
    assert_eq!(after.unbalanced_transactions, 0);
    assert_eq!(after.drifted_accounts, 0, "a balance disagrees with its entries");
    assert_eq!(after.negative_wallets, 0);

    let mut posted: HashMap<String, String> = HashMap::new();
    let mut refusals = 0;
    for (key, outcome) in &outcomes {
        match outcome {
            Transfer::Posted { reference, .. } => {
                if let Some(first) = posted.insert(key.clone(), reference.clone()) {
                    assert_eq!(&first, reference, "{key} was applied twice");
                }
            }
            Transfer::Refused(Refusal::InsufficientFunds) => refusals += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    let mut tx = store.begin().await.unwrap();
    let mut wallets_total = 0;
    for (row, wallet) in customers.iter() {
        let now = tx.bank().account(wallet.id).await.unwrap().unwrap();
        assert!(now.available() >= 0, "customer {} is below zero", row.id);
        wallets_total += now.posted;
    }
    let fees = tx.bank().system_balance("fee_income", "NGN").await.unwrap();
    for key in posted.keys() {
        let row = tx.bank().transaction_by_key(key).await.unwrap().unwrap();
        assert_eq!(row.state, "posted");
    }
    tx.rollback().await.unwrap();
    assert_eq!(wallets_total + fees, OPENING * WALLETS as i64, "money leaked between wallets and fees");
    assert!(
        posted.len() > 1_000 && refusals > 0,
        "the run exercised both outcomes: {} posted, {refusals} refused",
        posted.len()
    );
}

fn signed(secret: &str, body: &Value) -> (Vec<u8>, String) {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = teller::signature::sign(secret.as_bytes(), &bytes);
    (bytes, signature)
}

async fn a_credit_callback_credits_once_and_a_forged_one_nothing(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    db.store().await.close().await;
    let mut env = base_env(&db);
    env.insert("PAYMENTS_WEBHOOK_SECRET".into(), "pay-secret".into());
    let app = TestApp::spawn_with(config(env, kv_config(KvKind::Memory)), db, |r| r).await;
    let bank = app.state.bank.clone();
    customer(&bank, "2348031230001", "Ngozi Eze", "4821", None).await;
    let url = format!("http://{}/webhook/payments", app.addr);
    let credit = json!({"type": "credit", "reference": "PRV-1", "wa_id": "2348031230001", "amount": "5000.00", "currency": "NGN", "payer": "Chidi Okafor"});
    let send = |body: Vec<u8>, signature: Option<String>| {
        let mut request = app.client.post(&url).header("content-type", "application/json").body(body);
        if let Some(signature) = signature {
            request = request.header("X-Teller-Signature", signature);
        }
        request.send()
    };
    let balance = || async { bank.balance("wa:2348031230001").await.unwrap().unwrap().0.available };

    // Forged: signed with the wrong key, unsigned, or tampered after signing.
    let (body, _) = signed("pay-secret", &credit);
    let (_, forged) = signed("not-the-secret", &credit);
    assert_eq!(send(body.clone(), Some(forged)).await.unwrap().status(), 401);
    assert_eq!(send(body.clone(), None).await.unwrap().status(), 401);
    let (_, good) = signed("pay-secret", &credit);
    let tampered = serde_json::to_vec(&json!({"type": "credit", "reference": "PRV-1", "wa_id": "2348031230001", "amount": "9000.00", "currency": "NGN"})).unwrap();
    assert_eq!(send(tampered, Some(good.clone())).await.unwrap().status(), 401);
    assert_eq!(balance().await, 0);

    // Genuine: credited once, however often it is replayed.
    let response = send(body.clone(), Some(good.clone())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "applied");
    for _ in 0..3 {
        let again = send(body.clone(), Some(good.clone())).await.unwrap();
        assert_eq!(again.status(), 200);
        assert_eq!(again.json::<Value>().await.unwrap()["status"], "duplicate");
    }
    assert_eq!(balance().await, 500_000);
    let notices = app.state.store.outbox_for_recipient("wa:2348031230001").await.unwrap();
    assert_eq!(notices.len(), 1, "the customer is told once");
    assert!(notices[0].body.0.to_string().contains("You received ₦5,000.00 from Chidi O."));

    // Bad input changes nothing and says why.
    for (body, status) in [
        (
            json!({"type": "credit", "reference": "PRV-2", "wa_id": "2348031230001", "amount": "nan", "currency": "NGN"}),
            400,
        ),
        (
            json!({"type": "credit", "reference": "PRV-3", "wa_id": "2348031230001", "amount": "-5", "currency": "NGN"}),
            400,
        ),
        (
            json!({"type": "credit", "reference": "PRV-4", "wa_id": "2348031230001", "amount": "5", "currency": "USD"}),
            422,
        ),
        // A naira callback whose amount is written in another currency is not fifty naira.
        (
            json!({"type": "credit", "reference": "PRV-4a", "wa_id": "2348031230001", "amount": "$50", "currency": "NGN"}),
            400,
        ),
        (
            json!({"type": "credit", "reference": "PRV-4b", "wa_id": "2348031230001", "amount": "KSh 50", "currency": "NGN"}),
            400,
        ),
        (
            json!({"type": "credit", "reference": "PRV-5", "wa_id": "2348000000000", "amount": "5", "currency": "NGN"}),
            422,
        ),
        (json!({"type": "refund", "reference": "PRV-6"}), 400),
        (json!({"type": "transfer.status", "reference": "nope", "status": "success"}), 422),
    ] {
        let (bytes, signature) = signed("pay-secret", &body);
        assert_eq!(send(bytes, Some(signature)).await.unwrap().status(), status, "{body}");
    }
    assert_eq!(balance().await, 500_000);

    // Past the tier's maximum balance (₦300,000 at tier 1), money from outside goes back.
    let big = json!({"type": "credit", "reference": "PRV-7", "wa_id": "2348031230001", "amount": "295000.01", "currency": "NGN"});
    let (bytes, signature) = signed("pay-secret", &big);
    assert_eq!(send(bytes, Some(signature)).await.unwrap().status(), 422);
    assert_eq!(balance().await, 500_000);
    let notices = app.state.store.outbox_for_recipient("wa:2348031230001").await.unwrap();
    let told = notices.last().unwrap().body.0.to_string();
    assert!(
        told.contains("A payment of ₦295,000.01 to you went back to the sender")
            && told.contains("can hold at most ₦300,000.00, so it can take only ₦295,000.00 more now"),
        "{told}"
    );
    let audit = app.state.store.recent_audit(5).await.unwrap();
    assert!(audit.iter().any(|e| e.event.action == "ledger.credit_refused"));
    let exact = json!({"type": "credit", "reference": "PRV-8", "wa_id": "2348031230001", "amount": "295000", "currency": "NGN"});
    let (bytes, signature) = signed("pay-secret", &exact);
    assert_eq!(
        send(bytes.clone(), Some(signature.clone())).await.unwrap().status(),
        200,
        "up to the maximum is fine"
    );
    assert_eq!(balance().await, 30_000_000);
    // The same callback again: acknowledged, and nothing more is credited.
    assert_eq!(send(bytes, Some(signature)).await.unwrap().status(), 200);
    assert_eq!(balance().await, 30_000_000);
    crate::harness::assert_ledger_sound(&bank).await;
    app.shutdown().await.unwrap();
}

/// Raw request bodies with the signature each came with.
type Signed = Arc<std::sync::Mutex<Vec<(Vec<u8>, String)>>>;

/// A fake rail: every transfer pending; lookups know one account.
#[derive(Clone, Default)]
struct FakeRail {
    received: Arc<std::sync::Mutex<Vec<Value>>>,
    /// Each transfer request's raw body and signature header.
    signed: Signed,
}

async fn fake_rail() -> (String, FakeRail) {
    let rail = FakeRail::default();
    let router = axum::Router::new()
        .route(
            "/transfers",
            post(|State(rail): State<FakeRail>, headers: axum::http::HeaderMap, raw: axum::body::Bytes| async move {
                let signature = headers.get("x-teller-signature").map_or(String::new(), |v| v.to_str().unwrap().to_owned());
                rail.signed.lock().unwrap().push((raw.to_vec(), signature));
                rail.received.lock().unwrap().push(serde_json::from_slice(&raw).unwrap());
                Json(json!({"status": "pending"}))
            }),
        )
        .route(
            "/transfers/{reference}",
            get(|Path(_r): Path<String>| async { Json(json!({"status": "pending"})) }),
        )
        .route(
            "/accounts/{bank}/{account}",
            get(|Path((_b, account)): Path<(String, String)>| async move {
                if account == "0123456785" {
                    Ok(Json(json!({"name": "Amaka Eze"})))
                } else {
                    Err(axum::http::StatusCode::NOT_FOUND)
                }
            }),
        )
        .with_state(rail.clone());
    let router = axum::Router::new().nest("/rail", router);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}/rail"), rail)
}

/// Verifies the PIN and, when a code is needed, the code the bank sent: what a flow does.
pub async fn authorise(bank: &Bank, store: &Arc<dyn SqlStore>, key: &str, amount: i64, to: &str, step: &str) {
    assert_eq!(bank.verify_pin(key, "4821").await.unwrap(), PinCheck::Verified);
    if bank.step_up(key, amount, to, step).await.unwrap().unwrap() == teller::bank::StepUp::Sent {
        let sent = store.outbox_for_recipient(key).await.unwrap();
        let text = sent.last().unwrap().body.0["text"]["body"].as_str().unwrap().to_owned();
        let code = &text[..6];
        assert_eq!(bank.verify_code(key, code).await.unwrap().unwrap(), CodeCheck::Verified);
    }
}

async fn an_external_transfer_holds_then_posts_or_releases_on_the_rails_word(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let (url, rail_seen) = fake_rail().await;
    let clock = Arc::new(ManualClock::new(start()));
    let bank = Arc::new(Bank::new(
        store.clone(),
        kv(KvKind::Memory),
        Rules::load(None).unwrap(),
        teller::bank::BankSettings {
            currency: "NGN".into(),
            timezone: chrono_tz::Africa::Lagos,
            otp_template: None,
            issuer: "teller".into(),
        },
        clock.clone(),
        Arc::new(
            HttpRail::new(url.parse().unwrap(), Some("rail-key".into()), Duration::from_secs(5)).unwrap(),
        ),
        b"k".to_vec(),
        Arc::new(teller::wake::Wake::default()),
    ));
    bank.open().await.unwrap();
    let key = "wa:2348031230002";
    customer(&bank, "2348031230002", "Funke Alade", "4821", Some("20,000")).await;
    // 0000000001 passes GTBank's check digit; the rail knows no such account.
    assert_eq!(bank.find_account("gtbank", "0000000001").await.unwrap(), Err(Refusal::UnknownAccount));
    // One digit off: caught by the check digit before the rail is asked.
    assert_eq!(bank.find_account("gtbank", "0123456780").await.unwrap(), Err(Refusal::InvalidAccount));
    assert_eq!(bank.find_account("nobank", "0123456785").await.unwrap(), Err(Refusal::UnknownBank));
    let name = bank.find_account("gtbank", "0123456785").await.unwrap().unwrap();
    assert_eq!(name, "Amaka Eze");
    let to = Destination { bank: "gtbank".into(), account: "0123456785".into(), name };
    let available = || async { bank.balance(key).await.unwrap().unwrap().0 };

    // Without a verified PIN nothing happens.
    assert_eq!(
        bank.transfer_external(key, &to, 500_000, "k1").await.unwrap(),
        Transfer::Refused(Refusal::NotVerified)
    );
    authorise(&bank, &store, key, 500_000, "058:0123456785", "s1").await;
    let Transfer::Pending { reference, fee } = bank.transfer_external(key, &to, 500_000, "k1").await.unwrap()
    else {
        panic!("not pending")
    };
    assert_eq!(fee, 1_075);
    // Held: gone from the available balance, still in the ledger balance.
    let held = available().await;
    assert_eq!((held.available, held.ledger), (2_000_000 - 501_075, 2_000_000));
    assert_eq!(rail_seen.received.lock().unwrap()[0]["reference"], reference.as_str());
    // A repeat of the same request is the same transfer.
    assert_eq!(
        bank.transfer_external(key, &to, 500_000, "k1").await.unwrap(),
        Transfer::Pending { reference: reference.clone(), fee }
    );
    assert_eq!(rail_seen.received.lock().unwrap().len(), 1, "the rail was called once");
    // Signed with the rail's own key, which is not the one callbacks are verified with.
    let (body, signature) = rail_seen.signed.lock().unwrap()[0].clone();
    assert!(teller::signature::verify(b"rail-key", &body, Some(signature.as_bytes())));
    assert!(!teller::signature::verify(b"pay-secret", &body, Some(signature.as_bytes())));

    // The rail's callback: success posts, once.
    assert_eq!(bank.settle(&reference, &RailStatus::Success).await.unwrap(), Callback::Applied);
    assert_eq!(bank.settle(&reference, &RailStatus::Success).await.unwrap(), Callback::Duplicate);
    assert_eq!(
        bank.settle(&reference, &RailStatus::Failed("late".into())).await.unwrap(),
        Callback::Duplicate
    );
    let after = available().await;
    assert_eq!((after.available, after.ledger), (2_000_000 - 501_075, 2_000_000 - 501_075));

    // A second transfer fails at the rail: everything comes back.
    authorise(&bank, &store, key, 100_000, "058:0123456785", "s2").await;
    let Transfer::Pending { reference, .. } = bank.transfer_external(key, &to, 100_000, "k2").await.unwrap()
    else {
        panic!("not pending")
    };
    assert_eq!(
        bank.settle(&reference, &RailStatus::Failed("account closed".into())).await.unwrap(),
        Callback::Applied
    );
    assert_eq!(available().await, after);
    let notices: Vec<String> =
        store.outbox_for_recipient(key).await.unwrap().iter().map(|m| m.body.0.to_string()).collect();
    assert!(notices.iter().any(|n| n.contains("has arrived")), "{notices:#?}");
    assert!(notices.iter().any(|n| n.contains("did not go through")), "{notices:#?}");
    let statement = bank.statement(key, 5).await.unwrap().unwrap();
    assert!(statement[0].contains("GTBank ****6785") && statement[0].ends_with('✖'), "{statement:#?}");
    // The failed transfer's request and the rail's word again: the same transfer, as it ended,
    // and nothing moves.
    assert_eq!(
        bank.transfer_external(key, &to, 100_000, "k2").await.unwrap(),
        Transfer::Failed { reference: reference.clone() }
    );
    assert_eq!(
        bank.settle(&reference, &RailStatus::Failed("account closed".into())).await.unwrap(),
        Callback::Duplicate
    );
    assert_eq!(available().await, after);
    crate::harness::assert_ledger_sound(&bank).await;
}

async fn a_locked_pin_is_not_checked_and_the_lock_ends_on_time(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let (bank, clock) = open(store.clone(), kv(KvKind::Memory), Rules::load(None).unwrap()).await;
    let key = "wa:2348031230003";
    customer(&bank, "2348031230003", "Emeka Nwosu", "4821", None).await;
    assert_eq!(bank.verify_pin(key, "1111").await.unwrap(), PinCheck::Wrong { left: 2 });
    assert_eq!(bank.verify_pin(key, "1111").await.unwrap(), PinCheck::Wrong { left: 1 });
    let PinCheck::Locked { until } = bank.verify_pin(key, "1111").await.unwrap() else {
        panic!("not locked")
    };
    assert_eq!(until, start() + chrono::Duration::minutes(30));
    // A fourth attempt, right or wrong, is refused without checking: the lock stays as it was.
    clock.advance(chrono::Duration::minutes(29));
    assert_eq!(bank.verify_pin(key, "4821").await.unwrap(), PinCheck::Locked { until });
    assert_eq!(bank.verify_pin(key, "1111").await.unwrap(), PinCheck::Locked { until });
    let row = bank.customer(key).await.unwrap().unwrap();
    assert_eq!((row.pin_locks, row.locked_until, row.pin_blocked), (1, Some(until), 0));
    assert_eq!(
        bank.transfer_internal(key, "2348000000009", 100, "t1").await.unwrap(),
        Transfer::Refused(Refusal::Locked)
    );
    // The lock ends when it should.
    clock.advance(chrono::Duration::minutes(1) + chrono::Duration::seconds(1));
    assert_eq!(bank.verify_pin(key, "4821").await.unwrap(), PinCheck::Verified);
    let audit: Vec<String> =
        store.recent_audit(20).await.unwrap().into_iter().map(|e| e.event.action).collect();
    assert!(
        audit.contains(&"customer.locked".to_owned()) && audit.contains(&"customer.unlocked".to_owned()),
        "{audit:?}"
    );
    for event in store.recent_audit(20).await.unwrap() {
        assert!(!event.event.detail.to_string().contains("4821"), "a PIN in the audit trail");
    }
    let row = bank.customer(key).await.unwrap().unwrap();
    assert!(row.pin_hash.starts_with("$argon2id$") && !row.pin_hash.contains("4821"));
}

/// Five guesses at once with one try left: only one is checked against the hash (the try is
/// counted before the check, and the last locks in advance), so a thief cannot test five PINs
/// in a three-try window. Before, each guess read the customer unlocked and was checked.
async fn parallel_pin_guesses_never_check_more_pins_than_tries_are_left(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let (bank, _clock) = open(store.clone(), kv(KvKind::Memory), Rules::load(None).unwrap()).await;
    let key = "wa:2348031230004";
    customer(&bank, "2348031230004", "Ngozi Eze", "4821", None).await;
    assert_eq!(bank.verify_pin(key, "1111").await.unwrap(), PinCheck::Wrong { left: 2 });
    assert_eq!(bank.verify_pin(key, "2222").await.unwrap(), PinCheck::Wrong { left: 1 });
    let checked_before = bank.hasher().computed();
    let guesses: Vec<_> = ["5555", "6666", "7777", "8888", "9999"]
        .into_iter()
        .map(|guess| {
            let bank = bank.clone();
            tokio::spawn(async move { bank.verify_pin(key, guess).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for guess in guesses {
        outcomes.push(guess.await.unwrap());
    }
    assert_eq!(bank.hasher().computed() - checked_before, 1, "one try left, one PIN checked: {outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(o, PinCheck::Locked { .. })), "{outcomes:?}");
    // And the right PIN, now, is not even checked.
    assert!(matches!(bank.verify_pin(key, "4821").await.unwrap(), PinCheck::Locked { .. }));
    assert_eq!(bank.hasher().computed() - checked_before, 1);
    let audit = store.recent_audit(20).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.event.action == "customer.locked").count(), 1, "one lock, once");
}

/// Locks in a row last 30 minutes, 2 hours, a day; the fourth waits for an operator, whose
/// unlock is audited and starts the count again.
async fn successive_pin_locks_grow_then_wait_for_an_operator(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let (bank, clock) = open(store.clone(), kv(KvKind::Memory), Rules::load(None).unwrap()).await;
    let key = "wa:2348031230005";
    customer(&bank, "2348031230005", "Musa Bello", "4821", None).await;
    let lock = |bank: Arc<Bank>| async move {
        assert!(matches!(bank.verify_pin(key, "1111").await.unwrap(), PinCheck::Wrong { left: 2 }));
        assert!(matches!(bank.verify_pin(key, "1111").await.unwrap(), PinCheck::Wrong { left: 1 }));
        bank.verify_pin(key, "1111").await.unwrap()
    };
    for (n, minutes) in [(1, 30), (2, 120), (3, 1440)] {
        let now = clock.now();
        let locked = lock(bank.clone()).await;
        assert_eq!(locked, PinCheck::Locked { until: now + chrono::Duration::minutes(minutes) }, "lock {n}");
        clock.advance(chrono::Duration::minutes(minutes) + chrono::Duration::seconds(1));
    }
    // The fourth lock in a row does not run out.
    assert_eq!(lock(bank.clone()).await, PinCheck::Blocked);
    clock.advance(chrono::Duration::days(30));
    assert_eq!(bank.verify_pin(key, "4821").await.unwrap(), PinCheck::Blocked, "not even the right PIN");
    assert_eq!(
        bank.transfer_internal(key, "2348000000009", 100, "t-blocked").await.unwrap(),
        Transfer::Refused(Refusal::Locked)
    );
    let row = bank.customer(key).await.unwrap().unwrap();
    assert_eq!((row.pin_blocked, row.pin_locks), (1, 4));
    // An operator unlocks, audited; the count starts again at 30 minutes.
    assert!(bank.unlock(row.id, "admin:7").await.unwrap());
    assert_eq!(bank.verify_pin(key, "4821").await.unwrap(), PinCheck::Verified);
    let now = clock.now();
    assert_eq!(lock(bank.clone()).await, PinCheck::Locked { until: now + chrono::Duration::minutes(30) });
    let audit = store.recent_audit(40).await.unwrap();
    let blocked: Vec<_> = audit.iter().filter(|e| e.event.action == "customer.blocked").collect();
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0].event.detail["operator_unlock"], true);
    assert_eq!(blocked[0].event.detail["locks_in_a_row"], 4);
    assert!(audit.iter().any(|e| e.event.action == "customer.unlocked" && e.event.actor == "admin:7"));
}

async fn codes_expire_are_single_use_and_allow_three_guesses(kind: KvKind) {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    let store = db.store().await;
    let rules = rules_with(&[("otp_ttl_seconds: 300", "otp_ttl_seconds: 1")]);
    let kv = kv(kind);
    let (bank, _clock) = open(store.clone(), kv.clone(), rules).await;
    let key = "wa:2348031230004";
    customer(&bank, "2348031230004", "Zainab Bello", "4821", None).await;
    let code = |store: Arc<dyn SqlStore>| async move {
        let sent = store.outbox_for_recipient(key).await.unwrap();
        sent.last().unwrap().body.0["text"]["body"].as_str().unwrap()[..6].to_owned()
    };
    // Nothing sent: nothing to check.
    assert_eq!(bank.verify_code(key, "123456").await.unwrap().unwrap(), CodeCheck::Expired);
    // Expired.
    assert_eq!(
        bank.step_up(key, 100, "2348000000001", "a").await.unwrap().unwrap(),
        teller::bank::StepUp::Sent
    );
    let first = code(store.clone()).await;
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(bank.verify_code(key, &first).await.unwrap().unwrap(), CodeCheck::Expired);
    // Used once, then never again; a repeated step-up request sends nothing new.
    assert_eq!(
        bank.step_up(key, 100, "2348000000001", "b").await.unwrap().unwrap(),
        teller::bank::StepUp::Sent
    );
    assert_eq!(
        bank.step_up(key, 100, "2348000000001", "b").await.unwrap().unwrap(),
        teller::bank::StepUp::Sent
    );
    let second = code(store.clone()).await;
    assert_eq!(store.outbox_for_recipient(key).await.unwrap().len(), 2, "one code per step-up");
    assert_eq!(bank.verify_code(key, &second).await.unwrap().unwrap(), CodeCheck::Verified);
    assert_eq!(bank.verify_code(key, &second).await.unwrap().unwrap(), CodeCheck::Expired);
    // Three guesses: the third wrong one ends it, and a fourth is refused even when right.
    assert_eq!(
        bank.step_up(key, 100, "2348000000001", "c").await.unwrap().unwrap(),
        teller::bank::StepUp::Sent
    );
    let third = code(store.clone()).await;
    let wrong = if third == "000000" { "111111" } else { "000000" };
    assert_eq!(bank.verify_code(key, wrong).await.unwrap().unwrap(), CodeCheck::Wrong);
    assert_eq!(bank.verify_code(key, wrong).await.unwrap().unwrap(), CodeCheck::Wrong);
    assert_eq!(bank.verify_code(key, wrong).await.unwrap().unwrap(), CodeCheck::TooMany);
    assert_ne!(bank.verify_code(key, &third).await.unwrap().unwrap(), CodeCheck::Verified);
    // The KV holds a keyed hash, never the code.
    assert_eq!(
        bank.step_up(key, 100, "2348000000001", "d").await.unwrap().unwrap(),
        teller::bank::StepUp::Sent
    );
    let fourth = code(store.clone()).await;
    let id = bank.customer(key).await.unwrap().unwrap().id;
    let kept = String::from_utf8(kv.get(&format!("bank:code:{id}")).await.unwrap().unwrap()).unwrap();
    assert_eq!(kept.len(), 64);
    assert!(!kept.contains(&fourth));
}

async fn a_number_change_moves_the_alias_and_asks_for_the_pin_again(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let (bank, _clock) = open(store.clone(), kv(KvKind::Memory), Rules::load(None).unwrap()).await;
    customer(&bank, "2348031230005", "Ibrahim Musa", "4821", Some("1,000")).await;
    customer(&bank, "2348031230006", "Amaka Eze", "1357", None).await;
    assert_eq!(bank.verify_pin("wa:2348031230005", "4821").await.unwrap(), PinCheck::Verified);
    assert!(bank.number_changed("wa:2348031230005", "2348099990005").await.unwrap());
    assert!(bank.customer("wa:2348031230005").await.unwrap().is_none());
    let key = "wa:2348099990005";
    let row = bank.customer(key).await.unwrap().unwrap();
    assert_eq!((row.phone.as_str(), row.reverify), ("2348099990005", 1));
    // The PIN verified before the change no longer counts.
    assert_eq!(
        bank.transfer_internal(key, "2348031230006", 100, "n1").await.unwrap(),
        Transfer::Refused(Refusal::NotVerified)
    );
    assert_eq!(bank.verify_pin(key, "4821").await.unwrap(), PinCheck::Verified);
    assert_eq!(bank.customer(key).await.unwrap().unwrap().reverify, 0);
    // A number already in use is not taken over.
    assert!(!bank.number_changed(key, "2348031230006").await.unwrap());
    let audit: Vec<String> =
        store.recent_audit(20).await.unwrap().into_iter().map(|e| e.event.action).collect();
    assert!(audit.contains(&"customer.number_changed".to_owned()));
}

/// A refused quote says the limit, what is left of today's, or the balance, and a lock before
/// the customer confirms anything.
async fn a_refused_quote_names_the_figure_that_fixes_it(sql: SqlBackend) {
    let naira = |n: i64| n * 100;
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let (bank, clock) = open(store.clone(), kv(KvKind::Memory), rules_with(&[])).await;
    customer(&bank, "2348030000011", "Ada Obi", "4821", Some("150,000")).await;
    customer(&bank, "2348030000012", "Tunde Bakare", "4821", None).await;
    customer(&bank, "2348030000013", "Empty Wallet", "4821", None).await;
    let (ada, tunde) = ("wa:2348030000011", "2348030000012");
    let quote = |key: &'static str, amount: i64| {
        let bank = bank.clone();
        async move { bank.quote(key, amount, tunde, false).await.unwrap() }
    };
    assert_eq!(quote(ada, naira(60_000)).await, Err(QuoteRefusal::OverLimit { limit: naira(50_000) }));
    assert_eq!(
        quote("wa:2348030000013", naira(1_000)).await,
        Err(QuoteRefusal::InsufficientFunds { available: 0 })
    );

    let sender = bank.customer(ada).await.unwrap().unwrap();
    let recipient = bank.customer(&format!("wa:{tunde}")).await.unwrap().unwrap();
    let mut tx = store.begin().await.unwrap();
    let wallet = tx.bank().customer_account(sender.id, "wallet").await.unwrap().unwrap();
    tx.rollback().await.unwrap();
    for key in ["daily-1", "daily-2"] {
        let sent = bank.move_internal(&sender, &wallet, &recipient, naira(50_000), key).await.unwrap();
        assert!(matches!(sent, Transfer::Posted { .. }), "{sent:?}");
    }
    assert_eq!(
        quote(ada, naira(50_000)).await,
        Err(QuoteRefusal::InsufficientFunds { available: naira(49_980) })
    );
    let available = bank.balance(ada).await.unwrap().unwrap().0.available;
    assert_eq!(available, naira(49_980));
    let more = naira(40_000);
    match quote(ada, more).await {
        Ok(q) => assert_eq!(q.total, more + q.fee),
        other => panic!("{other:?}"),
    }
    bank.credit("top-up", "2348030000011", naira(100_000), "NGN", "").await.unwrap();
    let sent = bank.move_internal(&sender, &wallet, &recipient, naira(50_000), "daily-3").await.unwrap();
    assert!(matches!(sent, Transfer::Posted { .. }), "{sent:?}");
    // ₦150,030 sent today with fees: ₦49,970 left of ₦200,000, though ₦99,970 is in the wallet.
    assert_eq!(quote(ada, naira(50_000)).await, Err(QuoteRefusal::DailyLimit { left: naira(49_970) }));
    // The same transfer asked again moves nothing more.
    let again = bank.move_internal(&sender, &wallet, &recipient, naira(50_000), "daily-3").await.unwrap();
    assert_eq!(again, sent);
    assert_eq!(bank.balance(ada).await.unwrap().unwrap().0.available, naira(99_970));

    // Three wrong PINs lock sending: the quote says until when, before any confirmation.
    for pin in ["1111", "2222", "3333"] {
        bank.verify_pin(ada, pin).await.unwrap();
    }
    match quote(ada, naira(1_000)).await {
        Err(QuoteRefusal::Locked { until }) => assert!(!until.is_empty(), "a timed lock says until when"),
        other => panic!("{other:?}"),
    }
    clock.advance(chrono::Duration::minutes(31));
    assert!(quote(ada, naira(1_000)).await.is_ok());
    crate::harness::assert_ledger_sound(&bank).await;
}

async fn a_code_goes_in_the_authentication_template_with_a_copy_code_button(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let bank = Arc::new(Bank::new(
        store.clone(),
        kv(KvKind::Memory),
        Rules::load(None).unwrap(),
        teller::bank::BankSettings {
            currency: "NGN".into(),
            timezone: chrono_tz::Africa::Lagos,
            otp_template: Some(("teller_login_code".into(), "en_US".into())),
            issuer: "teller".into(),
        },
        Arc::new(ManualClock::new(start())),
        Arc::new(teller::bank::rail::SimulatedRail),
        b"k".to_vec(),
        Arc::new(teller::wake::Wake::default()),
    ));
    bank.open().await.unwrap();
    let key = "wa:2348031230009";
    customer(&bank, "2348031230009", "Funke Alade", "4821", Some("200,000")).await;
    assert_eq!(bank.verify_pin(key, "4821").await.unwrap(), PinCheck::Verified);
    let sent = bank.step_up(key, 15_000_000, "058:0123456785", "s1").await.unwrap().unwrap();
    assert_eq!(sent, teller::bank::StepUp::Sent);
    let queued = store.outbox_for_recipient(key).await.unwrap();
    let body = &queued.last().unwrap().body.0;
    assert_eq!(body["template"]["name"], "teller_login_code");
    let code = body["template"]["components"][0]["parameters"][0]["text"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    assert_eq!(
        body["template"]["components"][1],
        json!({"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": code}]}),
        "the copy-code button carries the same code"
    );
    assert_eq!(bank.verify_code(key, &code).await.unwrap().unwrap(), CodeCheck::Verified);
}
