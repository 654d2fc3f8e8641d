//! A forgotten PIN, reset after the customer proves who they are, and its count of wrong
//! answers: on both SQL stores.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use teller::bank::rules::Rules;
use teller::bank::{Bank, IdentityCheck, PinCheck, PinReset, QuoteRefusal};
use teller::clock::ManualClock;
use teller::config::SqlBackend;
use teller::kv::Kv;
use teller::store::SqlStore;

use crate::conversations::{customer, id_number_of};
use crate::harness::{KvKind, TestDb, bank_with, kv};

crate::harness::on_both_sql_backends!(
    a_forgotten_pin_is_reset_once_the_customer_proves_who_they_are,
    a_frozen_or_blocked_account_waits_for_a_person_whatever_the_answers,
    wrong_answers_stop_for_a_day_after_three,
    checks_at_once_never_test_more_answers_than_tries_left,
    an_operator_who_has_checked_who_they_are_lets_them_try_again,
);

const MINOR: i64 = teller::money::MINOR_PER_MAJOR;

fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap()
}

async fn open(store: Arc<dyn SqlStore>, kv: Arc<dyn Kv>) -> (Arc<Bank>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start()));
    let bank = bank_with(store, kv, clock.clone(), Rules::load(None).unwrap());
    bank.open().await.unwrap();
    (bank, clock)
}

async fn new_pin(bank: &Bank, key: &str, pin: &str) {
    bank.choose_pin(key, pin).await.unwrap().unwrap();
    assert_eq!(bank.confirm_pin(key, pin).await.unwrap(), Some(true));
}

/// A customer locked out by wrong PINs proves who they are (after two wrong answers), sets a
/// new PIN and is unlocked; the old PIN stops working; for a day they may send ₦20,000 at most;
/// nothing they answered is in the audit trail.
async fn a_forgotten_pin_is_reset_once_the_customer_proves_who_they_are(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let (bank, clock) = open(store.clone(), kv(KvKind::Memory)).await;
    let phone = "2348031230101";
    let key = &format!("wa:{phone}");
    customer(&bank, phone, "Bola Ade", "4821", Some("50,000")).await;
    for _ in 0..3 {
        bank.verify_pin(key, "1111").await.unwrap();
    }
    assert!(matches!(bank.verify_pin(key, "4821").await.unwrap(), PinCheck::Locked { .. }));

    // No reset without the identity confirmed, whatever PIN is ready.
    new_pin(&bank, key, "7392").await;
    assert_eq!(bank.reset_pin(key).await.unwrap(), PinReset::NotVerified);
    let id = id_number_of(phone);
    assert_eq!(
        bank.check_identity(key, "1990-05-18", &id).await.unwrap(),
        IdentityCheck::Wrong { left: 2 },
        "a wrong date of birth"
    );
    assert_eq!(
        bank.check_identity(key, "1990-05-17", "22222222222").await.unwrap(),
        IdentityCheck::Wrong { left: 1 },
        "a wrong identity number"
    );
    assert_eq!(bank.reset_pin(key).await.unwrap(), PinReset::NotVerified);
    let spaced = format!("{} {} {}", &id[..3], &id[3..7], &id[7..]);
    assert_eq!(bank.check_identity(key, "1990-05-17", &spaced).await.unwrap(), IdentityCheck::Confirmed);
    let PinReset::Done { until, per_day } = bank.reset_pin(key).await.unwrap() else { panic!("not reset") };
    assert_eq!((until, per_day), (Some(start() + Duration::hours(24)), 20_000 * MINOR));

    // The lock is lifted, the old PIN is refused and the new one works.
    assert_eq!(bank.verify_pin(key, "4821").await.unwrap(), PinCheck::Wrong { left: 2 });
    assert_eq!(bank.verify_pin(key, "7392").await.unwrap(), PinCheck::Verified);
    let row = bank.customer(key).await.unwrap().unwrap();
    assert_eq!((row.pin_reset_at, row.locked_until), (Some(start()), None));
    // The confirmation is spent: another reset needs the answers again.
    new_pin(&bank, key, "5830").await;
    assert_eq!(bank.reset_pin(key).await.unwrap(), PinReset::NotVerified);

    // A day of smaller limits, then the tier's again.
    let limits = bank.limits(key).await.unwrap().unwrap();
    assert_eq!((limits.per_transaction, limits.per_day), (20_000 * MINOR, 20_000 * MINOR));
    assert_eq!(
        bank.quote(key, 25_000 * MINOR, "2348000000009", false).await.unwrap(),
        Err(QuoteRefusal::OverLimit { limit: 20_000 * MINOR })
    );
    clock.advance(Duration::hours(24) + Duration::seconds(1));
    let limits = bank.limits(key).await.unwrap().unwrap();
    assert_eq!((limits.per_transaction, limits.per_day), (50_000 * MINOR, 200_000 * MINOR));
    assert!(bank.quote(key, 25_000 * MINOR, "2348000000009", false).await.unwrap().is_ok());

    let audit = store.recent_audit(40).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.event.action.as_str()).collect();
    assert!(
        actions.contains(&"customer.identity_confirmed") && actions.contains(&"customer.pin_reset"),
        "{actions:?}"
    );
    for event in &audit {
        let detail = event.event.detail.to_string();
        for secret in [id.as_str(), "1990-05-17", "7392", "4821"] {
            assert!(!detail.contains(secret), "{secret} in the audit trail: {detail}");
        }
    }
    crate::harness::assert_ledger_sound(&bank).await;
}

/// A frozen account, or one locked until an operator unlocks it, is told so and not reset,
/// even with the right answers; one blocked after its identity was confirmed is not reset
/// either, and keeps its PIN.
async fn a_frozen_or_blocked_account_waits_for_a_person_whatever_the_answers(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let (bank, clock) = open(store.clone(), kv(KvKind::Memory)).await;
    let (frozen, blocked) = ("2348031230102", "2348031230103");
    customer(&bank, frozen, "Uche Obi", "4821", None).await;
    customer(&bank, blocked, "Sani Musa", "4821", None).await;
    let (frozen_key, blocked_key) = (format!("wa:{frozen}"), format!("wa:{blocked}"));

    bank.freeze(&frozen_key, "report-1").await.unwrap().unwrap();
    let answer = bank.check_identity(&frozen_key, "1990-05-17", &id_number_of(frozen)).await.unwrap();
    assert_eq!(answer, IdentityCheck::Frozen);

    // Confirmed first, then blocked by four locks in a row before the reset.
    let answer = bank.check_identity(&blocked_key, "1990-05-17", &id_number_of(blocked)).await.unwrap();
    assert_eq!(answer, IdentityCheck::Confirmed);
    new_pin(&bank, &blocked_key, "7392").await;
    for _ in 0..4 {
        for _ in 0..3 {
            bank.verify_pin(&blocked_key, "1111").await.unwrap();
        }
        clock.advance(Duration::days(2));
    }
    assert_eq!(bank.verify_pin(&blocked_key, "4821").await.unwrap(), PinCheck::Blocked);
    // Asked again now, the check says so; the reset the earlier confirmation allows is refused.
    let answer = bank.check_identity(&blocked_key, "1990-05-17", &id_number_of(blocked)).await.unwrap();
    assert_eq!(answer, IdentityCheck::Blocked);
    let before = bank.customer(&blocked_key).await.unwrap().unwrap();
    assert_eq!(bank.reset_pin(&blocked_key).await.unwrap(), PinReset::Locked);
    assert_eq!(bank.customer(&blocked_key).await.unwrap().unwrap(), before, "nothing changed");
    let audit = store.recent_audit(40).await.unwrap();
    assert!(!audit.iter().any(|e| e.event.action == "customer.pin_reset"), "no reset recorded");
}

/// Three wrong answers in a day, then none is checked, not even the right one, until the day
/// from the first is over; the refusal is audited once. The count is the store's: a KV that
/// forgets its keys (a restart, an eviction) hands out no fresh tries.
async fn wrong_answers_stop_for_a_day_after_three(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let (bank, clock) = open(store.clone(), kv(KvKind::Memory)).await;
    let phone = "2348031230104";
    let key = &format!("wa:{phone}");
    customer(&bank, phone, "Ify Nnaji", "4821", None).await;
    for left in [2, 1] {
        let answer = bank.check_identity(key, "1980-01-01", &id_number_of(phone)).await.unwrap();
        assert_eq!(answer, IdentityCheck::Wrong { left });
        clock.advance(Duration::hours(1));
    }
    let IdentityCheck::TooMany { until } = bank.check_identity(key, "1980-01-01", "0").await.unwrap() else {
        panic!("not refused")
    };
    assert_eq!(until, start() + Duration::hours(24), "a day from the first wrong answer");
    let answer = bank.check_identity(key, "1990-05-17", &id_number_of(phone)).await.unwrap();
    assert_eq!(answer, IdentityCheck::TooMany { until }, "the right answers, refused");

    // A bank on a KV that has lost everything still refuses, until the same time.
    let forgetful = bank_with(store.clone(), kv(KvKind::Memory), clock.clone(), Rules::load(None).unwrap());
    let answer = forgetful.check_identity(key, "1990-05-17", &id_number_of(phone)).await.unwrap();
    assert_eq!(answer, IdentityCheck::TooMany { until }, "fresh tries from an empty KV");
    new_pin(&bank, key, "7392").await;
    assert_eq!(bank.reset_pin(key).await.unwrap(), PinReset::NotVerified);
    assert_eq!(bank.verify_pin(key, "4821").await.unwrap(), PinCheck::Verified, "the PIN is as it was");
    let audit = store.recent_audit(40).await.unwrap();
    let refused = audit.iter().filter(|e| e.event.action == "customer.pin_reset_refused").count();
    assert_eq!(refused, 1);
    assert!(!audit.iter().any(|e| e.event.action == "customer.identity_confirmed"));

    // A day after the first wrong answer, the tries start again: the right answers pass.
    clock.set(until);
    assert_eq!(bank.check_identity(key, "1980-01-01", "0").await.unwrap(), IdentityCheck::Wrong { left: 2 });
    let answer = bank.check_identity(key, "1990-05-17", &id_number_of(phone)).await.unwrap();
    assert_eq!(answer, IdentityCheck::Confirmed);
    let row = bank.customer(key).await.unwrap().unwrap();
    assert_eq!((row.reset_tries, row.reset_tries_until), (0, None), "a right answer starts the count again");
}

/// Eight checks sent at once with wrong answers: three are compared (two wrong, the last
/// refusing the reset), five refused uncompared, one refusal audited.
async fn checks_at_once_never_test_more_answers_than_tries_left(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let (bank, _) = open(store.clone(), kv(KvKind::Memory)).await;
    let phone = "2348031230105";
    let key = format!("wa:{phone}");
    customer(&bank, phone, "Tunde Bello", "4821", None).await;
    let checks = (0..8).map(|_| {
        let (bank, key) = (bank.clone(), key.clone());
        tokio::spawn(async move { bank.check_identity(&key, "1980-01-01", "22200000000").await.unwrap() })
    });
    let mut answers = Vec::new();
    for check in checks {
        answers.push(check.await.unwrap());
    }
    let wrong: Vec<_> = answers.iter().filter(|a| matches!(a, IdentityCheck::Wrong { .. })).collect();
    assert_eq!(wrong.len(), 2, "{answers:?}");
    assert!(answers.iter().all(|a| matches!(a, IdentityCheck::Wrong { .. } | IdentityCheck::TooMany { .. })));
    let audit = store.recent_audit(40).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.event.action == "customer.pin_reset_refused").count(), 1);
    assert_eq!(bank.customer(&key).await.unwrap().unwrap().reset_tries, 3, "refusals are not counted");
}

/// Refused after three wrong answers, the customer reaches care; an operator who has checked
/// who they are unlocks (audited), and the right answers then pass. With nothing left to lift,
/// an unlock changes nothing.
async fn an_operator_who_has_checked_who_they_are_lets_them_try_again(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let (bank, _) = open(store.clone(), kv(KvKind::Memory)).await;
    let phone = "2348031230106";
    let key = &format!("wa:{phone}");
    customer(&bank, phone, "Musa Sani", "4821", None).await;
    for _ in 0..3 {
        bank.check_identity(key, "1990-05-18", &id_number_of(phone)).await.unwrap();
    }
    let row = bank.customer(key).await.unwrap().unwrap();
    assert_eq!(bank.reset_refused_until(&row), Some(start() + Duration::hours(24)));
    assert!(!row.locked_at(start()), "the PIN itself is not locked");

    assert!(bank.unlock(row.id, "admin:7").await.unwrap());
    let row = bank.customer(key).await.unwrap().unwrap();
    assert_eq!(bank.reset_refused_until(&row), None);
    let audit = store.recent_audit(40).await.unwrap();
    assert!(audit.iter().any(|e| e.event.action == "customer.unlocked" && e.event.actor == "admin:7"));
    let answer = bank.check_identity(key, "1990-05-17", &id_number_of(phone)).await.unwrap();
    assert_eq!(answer, IdentityCheck::Confirmed);

    let before = bank.customer(key).await.unwrap().unwrap();
    assert!(!bank.unlock(row.id, "admin:7").await.unwrap(), "nothing to lift");
    assert_eq!(bank.customer(key).await.unwrap().unwrap(), before, "nothing changed");
}
