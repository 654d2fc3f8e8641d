//! The Paystack adapter against a fake Paystack built from its documentation, on both SQL
//! stores: funding accounts opened, retried and backfilled; money into them credited once by
//! signed event (redelivered, replayed, forged, in another currency, past the tier's maximum);
//! payouts with the resolved name, one recipient per payee, settled once by success, failure
//! and reversal; a provider that is down or loses its answer leaving funds held, never lost
//! or sent twice; the stuck-transfer job verifying by reference. Each ends on the ledger's
//! invariants.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use teller::bank::funding::{Account, FundingDetails};
use teller::bank::rail::RailStatus;
use teller::bank::rules::Rules;
use teller::bank::{Bank, Destination, Transfer};
use teller::clock::ManualClock;
use teller::config::{PaystackConfig, SqlBackend};
use teller::store::SqlStore;

use crate::conversations::customer;
use crate::fake_paystack::{FakePaystack, KEY, Payouts};
use crate::harness::{
    KvKind, TestApp, TestDb, assert_ledger_sound, base_env, config, kv, kv_config, new_bank, plain_customer,
};

crate::harness::on_both_sql_backends!(
    a_funding_account_is_opened_retried_and_backfilled,
    money_into_a_dedicated_account_is_credited_once_by_signed_event,
    payouts_use_the_resolved_name_one_recipient_and_settle_once,
    a_provider_that_is_down_or_loses_its_answer_never_loses_or_doubles_a_payout,
    a_reversal_racing_its_success_still_refunds_once,
);

fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap()
}

/// A bank on `store` whose rail and funding accounts are Paystack at `fake`, on `clock`.
async fn paystack_bank(
    store: &Arc<dyn SqlStore>,
    fake: &FakePaystack,
    clock: &Arc<ManualClock>,
) -> Arc<Bank> {
    let config = PaystackConfig {
        secret_key: KEY.into(),
        base_url: fake.server.url.parse().unwrap(),
        preferred_bank: "test-bank".into(),
        email_domain: "customers.bank.example".into(),
    };
    let paystack = teller::bank::paystack::Paystack::new(&config, store.clone(), clock.clone()).unwrap();
    let bank = new_bank(
        store.clone(),
        kv(KvKind::Memory),
        clock.clone(),
        Rules::load(None).unwrap(),
        paystack.clone(),
    )
    .with_funding(paystack);
    bank.open().await.unwrap();
    Arc::new(bank)
}

/// The customer who pays out in these tests.
const PAYER: &str = "wa:2348031230002";

/// The account at GTBank the fake Paystack resolves, as the customer confirms it.
fn chinedu() -> Destination {
    Destination { bank: "gtbank".into(), account: "0123456785".into(), name: "CHINEDU EZE".into() }
}

/// A bank on Paystack with [`PAYER`] registered, ₦50,000 in their wallet.
struct Payer {
    _db: TestDb,
    store: Arc<dyn SqlStore>,
    fake: FakePaystack,
    clock: Arc<ManualClock>,
    bank: Arc<Bank>,
}

async fn payer_on_paystack(sql: SqlBackend) -> Payer {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let fake = FakePaystack::start().await;
    let clock = Arc::new(ManualClock::new(start()));
    let bank = paystack_bank(&store, &fake, &clock).await;
    customer(&bank, "2348031230002", "Funke Alade", "4821", Some("50,000")).await;
    Payer { _db: db, store, fake, clock, bank }
}

/// The texts queued for `key`, oldest first.
async fn texts(store: &Arc<dyn SqlStore>, key: &str) -> Vec<String> {
    let sent = store.outbox_for_recipient(key).await.unwrap();
    sent.iter().filter_map(|m| m.body.0["text"]["body"].as_str().map(str::to_owned)).collect()
}

async fn a_funding_account_is_opened_retried_and_backfilled(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let fake = FakePaystack::start().await;
    let clock = Arc::new(ManualClock::new(start()));
    let bank = paystack_bank(&store, &fake, &clock).await;

    // Registration asks at once; Paystack is down for the account: the customer is made,
    // the account waits for the worker.
    fake.accounts_down(1);
    let key = "wa:2348000000101";
    customer(&bank, "2348000000101", "Adaeze Okonkwo", "4821", None).await;
    assert_eq!(bank.funding_details(key).await.unwrap().unwrap(), FundingDetails::Pending);
    fake.seen(|s| {
        assert_eq!(s.customers.len(), 1);
        assert_eq!(s.customers[0]["email"], "2348000000101@customers.bank.example");
        assert_eq!(s.customers[0]["phone"], "+2348000000101");
        assert_eq!(s.customers[0]["first_name"], "Adaeze");
        assert!(s.accounts.is_empty());
    });
    // Not due yet: the worker waits out the backoff.
    let round = bank.open_funding_accounts(200).await.unwrap();
    assert_eq!((round.requested, round.opened, round.failed), (0, 0, 0));
    clock.advance(chrono::Duration::minutes(2));
    let round = bank.open_funding_accounts(200).await.unwrap();
    assert_eq!((round.requested, round.opened), (0, 1));
    fake.seen(|s| {
        assert_eq!(s.customers.len(), 1, "the customer code was kept, not made again");
        assert_eq!(s.accounts[0]["customer"], "CUS_fake0001");
        assert_eq!(s.accounts[0]["preferred_bank"], "test-bank");
    });
    let ready = FundingDetails::Ready(Account {
        account_number: "9930100001".into(),
        bank_name: "Test Bank".into(),
        account_name: "TELLER TEST/ADAEZE OKONKWO".into(),
    });
    assert_eq!(bank.funding_details(key).await.unwrap().unwrap(), ready);
    let told = texts(&store, key).await;
    assert!(
        told.iter()
            .any(|t| t.contains("Your account number for adding money is ready:\n9930100001\nTest Bank")),
        "{told:?}"
    );

    // A customer from before the provider: the backfill asks for theirs.
    let mut tx = store.begin().await.unwrap();
    plain_customer(tx.as_mut(), 7, "2348000000107", start()).await;
    tx.commit().await.unwrap();
    fake.accounts_down(1);
    let round = bank.open_funding_accounts(200).await.unwrap();
    assert_eq!((round.requested, round.opened, round.failed), (1, 0, 1));
    // Paystack assigns it on its own and says so by event: open, once.
    let assigned = Account {
        account_number: "9930100777".into(),
        bank_name: "Test Bank".into(),
        account_name: "TELLER TEST/TEST CUSTOMER".into(),
    };
    assert!(bank.funding_assigned("CUS_fake0002", &assigned).await.unwrap());
    assert!(!bank.funding_assigned("CUS_fake0002", &assigned).await.unwrap(), "once");
    assert!(!bank.funding_assigned("CUS_unknown", &assigned).await.unwrap());
    let backfilled = "wa:2348000000107";
    assert_eq!(bank.funding_details(backfilled).await.unwrap().unwrap(), FundingDetails::Ready(assigned));
    // Nothing more to do: nothing asked of Paystack again.
    let round = bank.open_funding_accounts(200).await.unwrap();
    assert_eq!((round.requested, round.opened, round.waiting, round.failed), (0, 0, 0, 0));
    fake.seen(|s| assert_eq!((s.customers.len(), s.accounts.len(), s.unauthorised), (2, 1, 0)));
    assert_ledger_sound(&bank).await;
}

/// A `charge.success` into a dedicated account, from the fixture, with these values.
fn charge(reference: &str, code: &str, account: &str, kobo: i64, currency: &str) -> Vec<u8> {
    let raw = std::fs::read(format!(
        "{}/tests/fixtures/paystack/charge_success_dedicated_nuban.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut event: Value = serde_json::from_slice(&raw).unwrap();
    event["data"]["reference"] = json!(reference);
    event["data"]["customer"]["customer_code"] = json!(code);
    event["data"]["authorization"]["receiver_bank_account_number"] = json!(account);
    event["data"]["amount"] = json!(kobo);
    event["data"]["currency"] = json!(currency);
    serde_json::to_vec(&event).unwrap()
}

/// A transfer event of `kind` (`success`, `failed`, `reversed`) for Paystack reference `reference`.
fn transfer_event(kind: &str, reference: &str) -> Vec<u8> {
    let raw =
        std::fs::read(format!("{}/tests/fixtures/paystack/transfer_{kind}.json", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    let mut event: Value = serde_json::from_slice(&raw).unwrap();
    event["data"]["reference"] = json!(reference);
    serde_json::to_vec(&event).unwrap()
}

/// Posts `body` to `/webhook/paystack` signed under `key` (none: no header); status and body.
async fn post_event(app: &TestApp, body: Vec<u8>, key: Option<&str>) -> (u16, Value) {
    let mut request = app.client.post(app.url("/webhook/paystack")).body(body.clone());
    if let Some(key) = key {
        request =
            request.header("x-paystack-signature", teller::signature::sign_sha512(key.as_bytes(), &body));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn paystack_app(sql: SqlBackend, fake: &FakePaystack) -> TestApp {
    let db = TestDb::new(sql).await;
    db.store().await.close().await;
    let mut env = base_env(&db);
    env.extend(fake.env().into_iter().map(|(k, v)| (k.to_owned(), v)));
    let kv = if sql == SqlBackend::Postgres { KvKind::Redis } else { KvKind::Memory };
    TestApp::spawn_with(config(env, kv_config(kv)), db, |router| router).await
}

async fn available(bank: &Bank, key: &str) -> i64 {
    bank.balance(key).await.unwrap().unwrap().0.available
}

async fn money_into_a_dedicated_account_is_credited_once_by_signed_event(sql: SqlBackend) {
    let fake = FakePaystack::start().await;
    let app = paystack_app(sql, &fake).await;
    let bank = app.state.bank.clone();
    let store = app.state.store.clone();
    let key = "wa:2348000000101";
    customer(&bank, "2348000000101", "Adaeze Okonkwo", "4821", None).await;
    let FundingDetails::Ready(account) = bank.funding_details(key).await.unwrap().unwrap() else {
        panic!("the account opened at registration")
    };
    let (code, number) = ("CUS_fake0001", account.account_number.as_str());

    // ₦5,000.00 arrives: credited, and the customer told.
    let body = charge("tlrdva0000000001", code, number, 500_000, "NGN");
    assert_eq!(post_event(&app, body.clone(), Some(KEY)).await, (200, json!({ "status": "applied" })));
    assert_eq!(available(&bank, key).await, 500_000);
    assert!(texts(&store, key).await.iter().any(|t| t.contains("You received ₦5,000.00 from Adaeze O.")));
    // Redelivered three times: nothing more.
    for _ in 0..3 {
        assert_eq!(post_event(&app, body.clone(), Some(KEY)).await, (200, json!({ "status": "duplicate" })));
    }
    assert_eq!(available(&bank, key).await, 500_000);

    // Forged (another key, or none): 401, and nothing kept: the same event signed properly
    // later is new.
    let next = charge("tlrdva0000000002", code, number, 100_000, "NGN");
    assert_eq!(post_event(&app, next.clone(), Some("sk_test_forger")).await.0, 401);
    assert_eq!(post_event(&app, next.clone(), None).await.0, 401);
    assert_eq!(available(&bank, key).await, 500_000);
    assert_eq!(post_event(&app, next, Some(KEY)).await, (200, json!({ "status": "applied" })));
    assert_eq!(available(&bank, key).await, 600_000);

    // Another currency, a customer nobody knows, an account that is not theirs: acknowledged
    // (Paystack would retry for days), not credited.
    let dollars = charge("tlrdva0000000003", code, number, 100_000, "USD");
    assert_eq!(post_event(&app, dollars, Some(KEY)).await, (200, json!({ "status": "refused" })));
    let stranger = charge("tlrdva0000000004", "CUS_nobody", number, 100_000, "NGN");
    assert_eq!(post_event(&app, stranger, Some(KEY)).await, (200, json!({ "status": "unknown" })));
    let elsewhere = charge("tlrdva0000000005", code, "9930199999", 100_000, "NGN");
    assert_eq!(post_event(&app, elsewhere, Some(KEY)).await, (200, json!({ "status": "unknown" })));
    // A signed body teller cannot read: 400, with why.
    let (status, answer) = post_event(&app, b"{\"event\":\"charge.success\"}".to_vec(), Some(KEY)).await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap_or_default().contains("no \"data\" object"), "{answer}");
    assert_eq!(available(&bank, key).await, 600_000);

    // Past tier 1's ₦300,000 maximum: held (the money is with the bank), the customer told.
    let big = charge("tlrdva0000000006", code, number, 29_500_000, "NGN");
    assert_eq!(post_event(&app, big.clone(), Some(KEY)).await, (200, json!({ "status": "applied" })));
    assert_eq!(post_event(&app, big, Some(KEY)).await, (200, json!({ "status": "duplicate" })));
    assert_eq!(available(&bank, key).await, 600_000);
    assert!(
        texts(&store, key).await.iter().any(|t| t.contains("₦295,000.00 arrived for you, but your account can hold at most ₦300,000.00")),
        "{:?}",
        texts(&store, key).await
    );
    // Still no room: it waits.
    assert_eq!(bank.pay_held_refunds(200).await.unwrap().waiting, 1);
    // The customer sends ₦2,000.00 out; once it has gone there is room, and it is paid in, once.
    let to = chinedu();
    crate::bank::authorise(&bank, &store, key, 200_000, "058:0123456785", "m9:send").await;
    let Transfer::Pending { reference, fee } =
        bank.transfer_external(key, &to, 200_000, "m9:send").await.unwrap()
    else {
        panic!("pending at the fake")
    };
    assert_eq!(bank.pay_held_refunds(200).await.unwrap().waiting, 1, "a hold is not yet gone");
    let success = transfer_event("success", &reference.to_ascii_lowercase());
    assert_eq!(post_event(&app, success, Some(KEY)).await, (200, json!({ "status": "applied" })));
    let paid = bank.pay_held_refunds(200).await.unwrap();
    assert_eq!((paid.paid, paid.waiting), (1, 0));
    assert_eq!(bank.pay_held_refunds(200).await.unwrap().paid, 0, "paid once");
    assert_eq!(available(&bank, key).await, 600_000 - 200_000 - fee + 29_500_000);
    assert!(
        texts(&store, key)
            .await
            .iter()
            .any(|t| t.contains("The ₦295,000.00 we kept for you is in your account now"))
    );
    // The first event replayed, long after: nothing moves.
    let now = available(&bank, key).await;
    assert_eq!(post_event(&app, body, Some(KEY)).await, (200, json!({ "status": "duplicate" })));
    assert_eq!(available(&bank, key).await, now);
    assert_ledger_sound(&bank).await;
}

async fn payouts_use_the_resolved_name_one_recipient_and_settle_once(sql: SqlBackend) {
    let fake = FakePaystack::start().await;
    let app = paystack_app(sql, &fake).await;
    let bank = app.state.bank.clone();
    let store = app.state.store.clone();
    let key = "wa:2348031230002";
    customer(&bank, "2348031230002", "Funke Alade", "4821", Some("50,000")).await;

    // The name Paystack resolves is the name the customer confirms; an account it cannot
    // resolve is unknown; a mistyped one never reaches it.
    assert_eq!(bank.find_account("gtbank", "0123456785").await.unwrap(), Ok("CHINEDU EZE".to_owned()));
    assert_eq!(
        bank.find_account("gtbank", "0000000001").await.unwrap(),
        Err(teller::bank::Refusal::UnknownAccount)
    );
    assert_eq!(
        bank.find_account("gtbank", "0123456784").await.unwrap(),
        Err(teller::bank::Refusal::InvalidAccount)
    );

    let to = chinedu();
    let send = |amount: i64, idempotency: &'static str| {
        let (bank, store, to) = (bank.clone(), store.clone(), to.clone());
        async move {
            crate::bank::authorise(&bank, &store, key, amount, "058:0123456785", idempotency).await;
            bank.transfer_external(key, &to, amount, idempotency).await.unwrap()
        }
    };
    // A pending payout: held, sent once with teller's reference, and repeated: the same one.
    let first = send(200_000, "m1:send").await;
    let Transfer::Pending { reference, fee } = first.clone() else { panic!("{first:?}") };
    assert_eq!(bank.transfer_external(key, &to, 200_000, "m1:send").await.unwrap(), first);
    assert_eq!(available(&bank, key).await, 5_000_000 - 200_000 - fee);
    let theirs = reference.to_ascii_lowercase();
    fake.seen(|s| {
        assert_eq!(s.recipients.len(), 1);
        assert_eq!(s.recipients[0]["name"], "CHINEDU EZE");
        assert_eq!(s.recipients[0]["bank_code"], "058");
        assert_eq!(s.transfer_posts.len(), 1);
        let post = &s.transfer_posts[0];
        assert_eq!(
            (post["reference"].as_str(), post["amount"].as_i64()),
            (Some(theirs.as_str()), Some(200_000))
        );
        assert_eq!(post["recipient"], "RCP_fake0001");
        assert_eq!(post["source"], "balance");
    });
    // Paystack's word, three times: posted once.
    let success = transfer_event("success", &theirs);
    assert_eq!(post_event(&app, success.clone(), Some(KEY)).await, (200, json!({ "status": "applied" })));
    assert_eq!(post_event(&app, success.clone(), Some(KEY)).await, (200, json!({ "status": "duplicate" })));
    assert_eq!(
        post_event(&app, transfer_event("failed", &theirs), Some(KEY)).await,
        (200, json!({ "status": "duplicate" }))
    );
    assert_eq!(available(&bank, key).await, 5_000_000 - 200_000 - fee);
    assert!(texts(&store, key).await.iter().any(|t| t.contains("Your transfer of ₦2,000.00 to Chinedu E.")));

    // The same payee again: the recipient is reused. Paystack fails it: the hold goes back.
    let Transfer::Pending { reference: second, .. } = send(300_000, "m2:send").await else { panic!() };
    fake.seen(|s| assert_eq!((s.recipients.len(), s.transfer_posts.len()), (1, 2)));
    let failed = transfer_event("failed", &second.to_ascii_lowercase());
    assert_eq!(post_event(&app, failed.clone(), Some(KEY)).await, (200, json!({ "status": "applied" })));
    assert_eq!(post_event(&app, failed, Some(KEY)).await, (200, json!({ "status": "duplicate" })));
    assert_eq!(available(&bank, key).await, 5_000_000 - 200_000 - fee);

    // A payout that went and came back: the money and the fee return, once.
    let before = available(&bank, key).await;
    let reversed = transfer_event("reversed", &theirs);
    assert_eq!(post_event(&app, reversed.clone(), Some(KEY)).await, (200, json!({ "status": "applied" })));
    assert_eq!(post_event(&app, reversed, Some(KEY)).await, (200, json!({ "status": "duplicate" })));
    assert_eq!(available(&bank, key).await, before + 200_000 + fee);
    assert!(
        texts(&store, key).await.iter().any(|t| t.contains("came back: the receiving bank did not take it"))
    );
    // An event about a transfer teller never made: acknowledged, nothing moves.
    let foreign = transfer_event("success", "tlr_trf_0b7c9e4a2f6d4c1e8a3b");
    assert_eq!(post_event(&app, foreign, Some(KEY)).await, (200, json!({ "status": "unknown" })));
    assert_eq!(available(&bank, key).await, before + 200_000 + fee);
    assert_ledger_sound(&bank).await;
}

async fn a_provider_that_is_down_or_loses_its_answer_never_loses_or_doubles_a_payout(sql: SqlBackend) {
    let Payer { _db, store, fake, clock, bank } = payer_on_paystack(sql).await;
    let (key, to) = (PAYER, chinedu());
    let send = |amount: i64, idempotency: &'static str| {
        let (bank, store, to) = (bank.clone(), store.clone(), to.clone());
        async move {
            crate::bank::authorise(&bank, &store, key, amount, "058:0123456785", idempotency).await;
            bank.transfer_external(key, &to, amount, idempotency).await.unwrap()
        }
    };
    let stuck = |bank: Arc<Bank>, clock: Arc<ManualClock>| async move {
        let report = crate::harness::stuck_round(&bank, teller::clock::Clock::now(clock.as_ref())).await;
        (report.get("posted"), report.get("released"), report.get("still_pending"))
    };

    // Down: nothing created. The funds stay held; the stuck job finds Paystack never had it
    // and sends it, with the same reference.
    fake.payouts(Payouts::Down);
    let Transfer::Pending { reference, fee } = send(100_000, "d1:send").await else { panic!() };
    assert_eq!(available(&bank, key).await, 5_000_000 - 100_000 - fee);
    fake.payouts(Payouts::Success);
    assert_eq!(stuck(bank.clone(), clock.clone()).await, (1, 0, 0), "posted");
    let theirs = reference.to_ascii_lowercase();
    fake.seen(|s| {
        let posts: Vec<_> =
            s.transfer_posts.iter().map(|p| p["reference"].as_str().unwrap().to_owned()).collect();
        assert_eq!(posts, vec![theirs.clone(), theirs.clone()], "the retry reuses the reference");
        assert_eq!(s.transfers.len(), 1, "one transfer exists at Paystack");
    });
    assert_eq!(available(&bank, key).await, 5_000_000 - 100_000 - fee);

    // Created, but the answer was lost: verify says it went; it is not sent again.
    fake.payouts(Payouts::LostAnswer);
    let Transfer::Pending { reference: lost, fee: lost_fee } = send(50_000, "d2:send").await else {
        panic!()
    };
    fake.payouts(Payouts::Pending);
    assert_eq!(stuck(bank.clone(), clock.clone()).await, (1, 0, 0), "verified: it went");
    fake.seen(|s| {
        let tries = s.transfer_posts.iter().filter(|p| p["reference"] == lost.to_ascii_lowercase()).count();
        assert_eq!(tries, 1, "a transfer Paystack has is never posted again");
    });
    let spent = 100_000 + fee + 50_000 + lost_fee;
    assert_eq!(available(&bank, key).await, 5_000_000 - spent);

    // Refused for good (a bad recipient): released at once. Refused until an operator tops up
    // Paystack's balance: held, unknown, and the stuck job keeps asking.
    fake.payouts(Payouts::Refused);
    assert!(matches!(send(10_000, "d3:send").await, Transfer::Failed { .. }));
    assert_eq!(available(&bank, key).await, 5_000_000 - spent);
    fake.payouts(Payouts::NoBalance);
    let Transfer::Pending { reference: waiting, fee: waiting_fee } = send(20_000, "d4:send").await else {
        panic!()
    };
    assert_eq!(available(&bank, key).await, 5_000_000 - spent - 20_000 - waiting_fee);
    assert_eq!(stuck(bank.clone(), clock.clone()).await, (0, 0, 1), "still held");
    fake.payouts(Payouts::Pending);
    assert_eq!(stuck(bank.clone(), clock.clone()).await, (0, 0, 1), "sent now, pending");
    fake.set_transfer(&waiting.to_ascii_lowercase(), "failed");
    assert_eq!(stuck(bank.clone(), clock.clone()).await, (0, 1, 0), "released");
    assert_eq!(available(&bank, key).await, 5_000_000 - spent);
    assert_ledger_sound(&bank).await;
}

/// The console's preview bank runs drafts against a private test bank: with Paystack
/// configured, a test customer opening an account there makes nothing at Paystack.
#[tokio::test]
async fn the_preview_bank_never_reaches_paystack() {
    let fake = FakePaystack::start().await;
    let app = paystack_app(SqlBackend::Sqlite, &fake).await;
    let admin = crate::admin::make_admin(app.state.store.as_ref(), "product@bank.example", "editor").await;
    let s = crate::admin::bearer(&app, &admin, 0).await;
    let (status, draft) = s.post(&app, "/admin/api/drafts", json!({ "title": "Try funding" })).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{draft}");
    let draft = draft["id"].as_i64().unwrap();
    crate::preview::register(&s, &app, draft).await;
    let fund = crate::preview::say(&s, &app, draft, json!({ "text": "how do I add money" })).await;
    assert!(fund.contains("To add money, send a transfer from any bank app to:"), "{fund}");
    fake.seen(|seen| {
        assert_eq!((seen.customers.len(), seen.accounts.len()), (0, 0), "the preview reached Paystack")
    });
}

async fn a_reversal_racing_its_success_still_refunds_once(sql: SqlBackend) {
    let Payer { _db, store, fake: _fake, clock: _clock, bank } = payer_on_paystack(sql).await;
    let (key, to) = (PAYER, chinedu());
    let mut references = Vec::new();
    for n in 0..8 {
        let step = format!("race{n}:send");
        crate::bank::authorise(&bank, &store, key, 100_000, "058:0123456785", &step).await;
        let Transfer::Pending { reference, .. } =
            bank.transfer_external(key, &to, 100_000, &step).await.unwrap()
        else {
            panic!("pending at the fake")
        };
        references.push(reference);
    }
    // Paystack's success and its reversal, delivered at once: whichever lands first, the
    // money and the fee end up back, once.
    let reversed = RailStatus::Reversed("reversed: the receiving bank refused it".into());
    for reference in &references {
        let (a, b) =
            tokio::join!(bank.settle(reference, &RailStatus::Success), bank.settle(reference, &reversed));
        a.unwrap();
        b.unwrap();
        assert_eq!(bank.settle(reference, &reversed).await.unwrap(), teller::bank::Callback::Duplicate);
    }
    assert_eq!(available(&bank, key).await, 5_000_000);
    assert_ledger_sound(&bank).await;
}
