//! Airtime and data through the generic biller API, against a fake biller on loopback, on both
//! SQL stores: bought once per idempotency key at the biller's price with the rules' fee band;
//! refused before anything moves when out of range or unaffordable; a purchase the network
//! refuses takes nothing; one the biller leaves pending (or does not answer) stays held until
//! the stuck-transfer job asks again. Each ends on the ledger's invariants.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use teller::bank::biller::{BillKind, DataPlan, HttpBiller, Network};
use teller::bank::bills::{BillOrder, BillQuoteRefusal};
use teller::bank::rail::SimulatedRail;
use teller::bank::rules::Rules;
use teller::bank::{Bank, Refusal, Transfer};
use teller::clock::ManualClock;
use teller::config::SqlBackend;
use teller::store::SqlStore;

use crate::conversations::customer;
use crate::harness::{FakeServer, KvKind, TestDb, assert_ledger_sound, kv, new_bank};

crate::harness::on_both_sql_backends!(airtime_and_data_are_bought_once_and_what_fails_takes_nothing);

const SECRET: &str = "biller-key";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Success,
    Failed,
    Pending,
    Down,
}

#[derive(Clone)]
struct FakeBiller {
    mode: Arc<Mutex<Mode>>,
    purchases: Arc<Mutex<Vec<Value>>>,
    statuses: Arc<Mutex<HashMap<String, String>>>,
    unsigned: Arc<Mutex<usize>>,
}

async fn plans(Path(network): Path<String>) -> Json<Value> {
    Json(json!({ "plans": [
        { "code": format!("{network}-1gb-7d"), "name": "1GB, 7 days", "amount": 80_000 },
        { "code": format!("{network}-10gb-30d"), "name": "10GB, 30 days", "amount": 450_000 },
        { "code": "broken", "name": "", "amount": 0 },
    ]}))
}

async fn purchase(
    State(fake): State<FakeBiller>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, Json<Value>) {
    let signature = headers.get("x-teller-signature").map(|v| v.as_bytes());
    if !teller::signature::verify(SECRET.as_bytes(), &body, signature) {
        *fake.unsigned.lock().unwrap() += 1;
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "bad signature" })));
    }
    let order: Value = serde_json::from_slice(&body).unwrap();
    fake.purchases.lock().unwrap().push(order.clone());
    let reference = order["reference"].as_str().unwrap().to_owned();
    let status = match *fake.mode.lock().unwrap() {
        Mode::Down => return (StatusCode::BAD_GATEWAY, Json(json!({}))),
        Mode::Success => "success",
        Mode::Failed => "failed",
        Mode::Pending => "pending",
    };
    fake.statuses.lock().unwrap().insert(reference, status.into());
    (StatusCode::OK, Json(json!({ "status": status, "reason": "the network refused the line" })))
}

async fn status(State(fake): State<FakeBiller>, Path(reference): Path<String>) -> (StatusCode, Json<Value>) {
    match fake.statuses.lock().unwrap().get(&reference) {
        Some(status) => (StatusCode::OK, Json(json!({ "status": status }))),
        None => (StatusCode::NOT_FOUND, Json(json!({ "error": "no such purchase" }))),
    }
}

async fn fake_biller() -> (FakeServer, FakeBiller) {
    let fake = FakeBiller {
        mode: Arc::new(Mutex::new(Mode::Success)),
        purchases: Arc::default(),
        statuses: Arc::default(),
        unsigned: Arc::default(),
    };
    let router = Router::new()
        .route("/biller/plans/{network}", get(plans))
        .route("/biller/purchases", post(purchase))
        .route("/biller/purchases/{reference}", get(status))
        .with_state(fake.clone());
    (FakeServer::start(router).await, fake)
}

async fn available(bank: &Bank, key: &str) -> i64 {
    bank.balance(key).await.unwrap().unwrap().0.available
}

async fn airtime_and_data_are_bought_once_and_what_fails_takes_nothing(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store: Arc<dyn SqlStore> = db.store().await;
    let (server, fake) = fake_biller().await;
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap()));
    let biller = HttpBiller::new(
        format!("{}/biller", server.url).parse().unwrap(),
        SECRET.into(),
        Duration::from_secs(5),
    )
    .unwrap();
    let bank = new_bank(
        store.clone(),
        kv(KvKind::Memory),
        clock.clone(),
        Rules::load(None).unwrap(),
        Arc::new(SimulatedRail),
    )
    .with_biller(Arc::new(biller));
    bank.open().await.unwrap();
    let bank = Arc::new(bank);
    let (phone, key) = ("2348031230002", "wa:2348031230002");
    customer(&bank, phone, "Funke Alade", "4821", Some("20,000")).await;
    let line = |amount: i64| BillOrder {
        kind: BillKind::Airtime,
        network: Network::Mtn,
        phone: phone.into(),
        amount,
        plan: None,
    };
    let buy = |order: BillOrder, idempotency: &'static str| {
        let (bank, store) = (bank.clone(), store.clone());
        async move {
            crate::bank::authorise(&bank, &store, key, order.amount, &order.counterparty(), idempotency)
                .await;
            bank.buy(key, &order, idempotency).await.unwrap()
        }
    };
    let to = format!("mtn:{phone}");

    // Out of the rules' range, or unaffordable: refused before anything moves.
    assert_eq!(
        bank.quote_bill(key, 2_000, &to).await.unwrap(),
        Err(BillQuoteRefusal::TooSmall { min: 5_000 })
    );
    assert_eq!(
        bank.quote_bill(key, 5_000_100, &to).await.unwrap(),
        Err(BillQuoteRefusal::TooLarge { max: 5_000_000 })
    );
    assert!(
        matches!(bank.quote_bill(key, 600_000, &to).await.unwrap(), Ok(q) if q.fee == 1_000 && q.total == 601_000)
    );
    assert_eq!(bank.buy(key, &line(2_000), "r0").await.unwrap(), Transfer::Refused(Refusal::OverLimit));
    assert_eq!(available(&bank, key).await, 2_000_000);

    // Airtime: bought once, signed, with teller's reference; repeated: the same purchase.
    let first = buy(line(50_000), "a1").await;
    let Transfer::Posted { reference, fee: 0 } = first.clone() else { panic!("{first:?}") };
    assert_eq!(bank.buy(key, &line(50_000), "a1").await.unwrap(), first);
    {
        let purchases = fake.purchases.lock().unwrap();
        assert_eq!(purchases.len(), 1);
        let p = &purchases[0];
        assert_eq!(
            (
                p["reference"].as_str(),
                p["kind"].as_str(),
                p["network"].as_str(),
                p["phone"].as_str(),
                p["amount"].as_i64()
            ),
            (Some(reference.as_str()), Some("airtime"), Some("mtn"), Some(phone), Some(50_000))
        );
        assert!(p.get("plan").is_none());
    }
    assert_eq!(available(&bank, key).await, 2_000_000 - 50_000);
    // Above ₦5,000 the fee band charges ₦10.
    assert!(matches!(buy(line(600_000), "a2").await, Transfer::Posted { fee: 1_000, .. }));
    assert_eq!(available(&bank, key).await, 2_000_000 - 50_000 - 601_000);

    // Data, at the biller's price; the plans it lists with no name or price are left out.
    let plans = bank.data_plans(Network::Glo).await.unwrap();
    assert_eq!(plans.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(), ["glo-1gb-7d", "glo-10gb-30d"]);
    let plan = DataPlan { code: "glo-1gb-7d".into(), name: "1GB, 7 days".into(), amount: 80_000 };
    let data = BillOrder {
        kind: BillKind::Data,
        network: Network::Glo,
        phone: phone.into(),
        amount: 80_000,
        plan: Some(plan),
    };
    assert!(matches!(buy(data, "d1").await, Transfer::Posted { .. }));
    assert_eq!(fake.purchases.lock().unwrap()[2]["plan"], "glo-1gb-7d");
    let spent = 50_000 + 601_000 + 80_000;
    assert_eq!(available(&bank, key).await, 2_000_000 - spent);

    // The network refuses the line: nothing taken.
    *fake.mode.lock().unwrap() = Mode::Failed;
    assert!(matches!(buy(line(20_000), "f1").await, Transfer::Failed { .. }));
    assert_eq!(available(&bank, key).await, 2_000_000 - spent);
    // More than the wallet holds: refused, nothing asked of the biller.
    let asked = fake.purchases.lock().unwrap().len();
    assert_eq!(buy(line(1_900_000), "f2").await, Transfer::Refused(Refusal::InsufficientFunds));
    assert_eq!(fake.purchases.lock().unwrap().len(), asked);

    // Pending, and a biller that does not answer: held until the stuck job asks again.
    let stuck = |bank: Arc<Bank>, clock: Arc<ManualClock>| async move {
        let report = crate::harness::stuck_round(&bank, teller::clock::Clock::now(clock.as_ref())).await;
        (report.get("posted"), report.get("released"), report.get("still_pending"))
    };
    *fake.mode.lock().unwrap() = Mode::Pending;
    let Transfer::Pending { reference: pending, .. } = buy(line(30_000), "p1").await else { panic!() };
    *fake.mode.lock().unwrap() = Mode::Down;
    let Transfer::Pending { reference: unanswered, .. } = buy(line(40_000), "p2").await else { panic!() };
    assert_eq!(available(&bank, key).await, 2_000_000 - spent - 30_000 - 40_000);
    assert_eq!(stuck(bank.clone(), clock.clone()).await, (0, 0, 2), "both still unknown");
    fake.statuses.lock().unwrap().insert(pending.clone(), "success".into());
    fake.statuses.lock().unwrap().insert(unanswered.clone(), "failed".into());
    assert_eq!(stuck(bank.clone(), clock.clone()).await, (1, 1, 0), "one delivered, one refused");
    assert_eq!(stuck(bank.clone(), clock.clone()).await, (0, 0, 0), "settled once");
    assert_eq!(available(&bank, key).await, 2_000_000 - spent - 30_000);
    let told: Vec<String> = store
        .outbox_for_recipient(key)
        .await
        .unwrap()
        .iter()
        .filter_map(|m| m.body.0["text"]["body"].as_str().map(str::to_owned))
        .collect();
    assert!(told.iter().any(|t| t.contains("Your ₦300.00 of MTN airtime (")), "{told:?}");
    assert!(
        told.iter()
            .any(|t| t.contains("Your ₦400.00 of MTN airtime (") && t.contains("could not be delivered"))
    );
    assert_eq!(*fake.unsigned.lock().unwrap(), 0);
    assert_ledger_sound(&bank).await;
}
