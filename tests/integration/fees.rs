//! What a customer reads of fees and limits when the bank's rules differ from the shipped ones.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use teller::bank::rules::{DEFAULT_RULES, Rules};
use teller::clock::ManualClock;
use teller::config::SqlBackend;
use teller::flows::engine::Event;

use crate::conversations::{banking_under, customer};
use crate::harness::{KvKind, TestDb, kv};

/// A tier whose balance has no cap: the welcome's fees and the customer's own say nothing of
/// one (they said "hold up to ₦0.00").
#[tokio::test]
async fn a_tier_without_a_balance_cap_says_nothing_of_one() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    let (store, kv) = (db.store().await, kv(KvKind::Memory));
    let capped = r#"1: { per_transaction: "50,000", per_day: "200,000", max_balance: "300,000" }"#;
    assert!(DEFAULT_RULES.contains(capped));
    let uncapped = DEFAULT_RULES.replace(capped, r#"1: { per_transaction: "50,000", per_day: "200,000" }"#);
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap()));
    let (host, bank) = banking_under(kv, store, clock, Rules::parse(&uncapped).unwrap()).await;
    customer(&bank, "2348031230201", "Ada Obi", "4821", None).await;
    let mut n = 0;
    let mut say = async |phone: &str, event: Event| {
        n += 1;
        let key = format!("wa:{phone}");
        let replies = host.converse(&key, phone, &format!("wamid.fees{n}"), event, Utc::now()).await.unwrap();
        replies.iter().map(|r| r.to_body().to_string()).collect::<Vec<_>>().join("\n")
    };

    let mine = say("2348031230201", Event::Text("fees".into())).await;
    assert!(mine.contains("Your limits: ₦50,000.00 at a time and ₦200,000.00 a day"), "{mine}");
    assert!(!mine.contains("hold up to") && !mine.contains("₦0.00"), "{mine}");

    let stranger = "2348031230202";
    say(stranger, Event::Text("hi".into())).await;
    let welcome = say(stranger, Event::Choice { id: "fees".into(), title: "Fees and limits".into() }).await;
    assert!(
        welcome.contains("A new account can send up to ₦50,000.00 at a time and ₦200,000.00 a day."),
        "{welcome}"
    );
    assert!(!welcome.contains("hold up to") && !welcome.contains("₦0.00"), "{welcome}");
}
