//! A dispatcher round recorded all at once (`SqlStore::record_round`; one statement on
//! PostgreSQL): the round whose lease held finishes its messages, queues their replies in
//! order, removes a secret and brings a retry forward; a stalled round whose leases passed to
//! another changes nothing at all.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use teller::config::SqlBackend;
use teller::store::{Finish, Finishing, NewOutboxMessage, RoundRecord};

use crate::dispatch::{enqueue, t};
use crate::harness::{TestDb, on_both_sql_backends, text_notification};

const LEASE: Duration = Duration::from_secs(30);

/// A reply with text `text` to the message `in_reply_to` of `key`, queued at `now`.
fn reply<'a>(
    key: &'a str,
    in_reply_to: &'a str,
    body: &'a Value,
    now: DateTime<Utc>,
) -> NewOutboxMessage<'a> {
    NewOutboxMessage {
        recipient_key: key,
        wa_id: key.strip_prefix("wa:"),
        bsuid: None,
        in_reply_to: Some(in_reply_to),
        body,
        window_from: Some(now),
        created_at: now,
        scrub_after: None,
        question: Some("pin"),
    }
}

fn texts(store_rows: &[teller::store::OutboxMessage]) -> Vec<String> {
    store_rows.iter().map(|m| m.body.0["text"]["body"].as_str().unwrap_or_default().to_owned()).collect()
}

on_both_sql_backends!(a_stalled_round_changes_nothing_and_the_holders_round_is_recorded_whole);

async fn a_stalled_round_changes_nothing_and_the_holders_round_is_recorded_whole(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let (ada, bola) = ("wa:2348000000001", "wa:2348000000002");
    enqueue(&store, &text_notification("2348000000001", "wamid.pin", "4821", 1)).await;
    enqueue(&store, &text_notification("2348000000002", "wamid.slow", "balance", 1)).await;
    let stalled = store.claim_inbound("stalled", t(0), LEASE, 10).await.unwrap();
    let current = store.claim_inbound("current", t(31), LEASE, 10).await.unwrap();
    assert_eq!((stalled.len(), current.len()), (2, 2), "the expired leases passed on");
    let (pin, slow) = (current[0].seq, current[1].seq);

    // The stalled round wakes and records everything it did: fenced out, row by row.
    let (first, second) = (
        json!({"type": "text", "text": {"body": "stale one"}}),
        json!({"type": "text", "text": {"body": "stale two"}}),
    );
    let redacted = json!({"type": "text", "text": {"body": "[gone]"}});
    let stale = RoundRecord {
        owner: "stalled",
        now: t(32),
        finishing: vec![
            Finishing {
                seq: pin,
                finish: Finish::Done,
                redacted: Some(&redacted),
                replies: vec![
                    reply(ada, "wamid.pin", &first, t(32)),
                    reply(ada, "wamid.pin", &second, t(32)),
                ],
            },
            Finishing { seq: slow, finish: Finish::Failed, redacted: None, replies: vec![] },
        ],
        retries: vec![],
    };
    assert_eq!(store.record_round(&stale).await.unwrap(), [false, false]);
    assert_eq!(store.record_round(&stale).await.unwrap(), [false, false], "asked again, the same");
    assert!(store.outbox_for_recipient(ada).await.unwrap().is_empty(), "no reply of the stale round");
    let (message, body) = store.inbound_as_stored("wamid.pin").await.unwrap().unwrap();
    assert_eq!(message["text"]["body"], "4821", "nothing removed by a round that no longer holds it");
    assert!(String::from_utf8_lossy(&body).contains("4821"));
    let inbox = store.inbox_for_sender(ada).await.unwrap();
    assert_eq!(inbox[0].state, "pending");

    // The holder's round: the PIN message finished with its secret removed and both replies
    // queued in order; the other's handling met an outage, so it is retried at 35 s.
    let (thanks, next) = (
        json!({"type": "text", "text": {"body": "PIN taken"}}),
        json!({"type": "text", "text": {"body": "Now the amount"}}),
    );
    let held = RoundRecord {
        owner: "current",
        now: t(33),
        finishing: vec![Finishing {
            seq: pin,
            finish: Finish::Done,
            redacted: Some(&redacted),
            replies: vec![reply(ada, "wamid.pin", &thanks, t(33)), reply(ada, "wamid.pin", &next, t(33))],
        }],
        retries: vec![(slow, t(35))],
    };
    assert_eq!(store.record_round(&held).await.unwrap(), [true]);
    let queued = store.outbox_for_recipient(ada).await.unwrap();
    assert_eq!(texts(&queued), ["PIN taken", "Now the amount"], "in the order given");
    assert!(queued[0].id < queued[1].id);
    assert_eq!(store.inbox_for_sender(ada).await.unwrap()[0].state, "done");
    let (message, body) = store.inbound_as_stored("wamid.pin").await.unwrap().unwrap();
    assert_eq!(message, redacted, "kept in place of the message received");
    assert_eq!(body, teller::store::REDACTED_PAYLOAD);
    let (message, _) = store.inbound_as_stored("wamid.slow").await.unwrap().unwrap();
    assert_eq!(message["text"]["body"], "balance", "a retried message is kept as it was");

    // Recorded again (an answer lost on the way back): the lease is spent, nothing is repeated.
    assert_eq!(store.record_round(&held).await.unwrap(), [false]);
    assert_eq!(store.outbox_for_recipient(ada).await.unwrap().len(), 2, "each reply queued once");

    // The retry came forward: free at 35 s, not when the 30 s lease from 31 s runs out.
    assert!(store.claim_inbound("early", t(34), LEASE, 10).await.unwrap().is_empty());
    let again = store.claim_inbound("later", t(35), LEASE, 10).await.unwrap();
    assert_eq!(again.iter().map(|m| m.message_id.as_str()).collect::<Vec<_>>(), ["wamid.slow"]);
    assert!(store.outbox_for_recipient(bola).await.unwrap().is_empty());
    assert_eq!(texts(&store.outbox_for_recipient(ada).await.unwrap()), ["PIN taken", "Now the amount"]);
}
