//! The dispatcher: each inbound message handled once, each customer's in order, replies queued
//! with the handling, leases that expire after a crash and fence a stalled dispatcher out.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use secrecy::ExposeSecret;
use teller::config::{Config, SqlBackend};
use teller::dispatch::{Dispatcher, Handled, Handler, Outcome, Standing};
use teller::signature;
use teller::store::{DeliveryStatus, Finish, NewInboxMessage, NewWebhookPayload, SqlStore};
use teller::whatsapp::inbox::accept;
use teller::whatsapp::notification::{Content, InboundMessage, Notification};
use teller::whatsapp::outbound::{Outbound, Text};

use crate::harness::{
    self, FakeGraph, KvKind, TestApp, TestDb, on_both_sql_backends, post_signed, text_notification,
    text_notification_at,
};

const SECRET: &str = "test-app-secret";
const LEASE: Duration = Duration::from_secs(30);

pub(crate) fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_000_000 + secs, 0).single().unwrap()
}

/// Puts messages straight into the inbox, as a verified webhook would.
pub(crate) async fn enqueue(store: &Arc<dyn SqlStore>, body: &[u8]) {
    let notification = Notification::parse(body).unwrap();
    accept(store.as_ref(), body, &notification, None, Utc::now()).await.unwrap();
}

/// Echoes each text back, so replies show which message they answer.
pub(crate) struct Echo;

#[async_trait]
impl Handler for Echo {
    async fn handle(&self, message: &InboundMessage, _: Option<&Standing>) -> anyhow::Result<Handled> {
        let Content::Text { body } = &message.content else { anyhow::bail!("not text") };
        let reply: Outbound = Text::new(format!("echo: {body}"))?.into();
        Ok(vec![reply].into())
    }
}

async fn replies(store: &Arc<dyn SqlStore>, key: &str) -> Vec<String> {
    store
        .outbox_for_recipient(key)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body.0["text"]["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

on_both_sql_backends!(
    each_customer_is_answered_in_the_order_they_wrote,
    a_stalled_dispatcher_cannot_finish_a_message_another_has_taken_over,
    a_crashed_dispatchers_message_is_taken_over_when_its_lease_expires,
    a_failing_message_is_retried_then_set_aside,
    a_message_failing_for_an_outage_is_retried_until_it_ends_never_set_aside,
    a_pin_typed_in_a_message_is_not_kept_once_handled,
    a_round_leases_no_more_than_its_batch_and_finishes_them_together,
    a_late_message_written_earlier_waits_while_another_of_the_customers_is_handled,
    a_redelivered_pin_leaves_no_copy,
    a_claim_reads_who_each_sender_is_as_of_the_claim,
    new_webhooks_are_kept_at_once_and_a_batch_with_a_repeat_keeps_nothing,
    the_queues_statistics_are_refreshed_once_a_queue_outgrows_them,
    a_claim_says_whose_sender_has_more_waiting,
);

/// A dispatcher goes again at once only when a claimed message's sender has another waiting
/// behind it (`more`), so the claim must say so, whatever order the messages arrived in.
async fn a_claim_says_whose_sender_has_more_waiting(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    // Ada's second message arrives first, as Meta's unordered delivery allows.
    enqueue(&store, &text_notification("2348000000001", "wamid.a2", "second", 2)).await;
    enqueue(&store, &text_notification("2348000000001", "wamid.a1", "first", 1)).await;
    enqueue(&store, &text_notification("2348000000002", "wamid.b1", "hello", 1)).await;
    let more = |claimed: &[teller::store::ClaimedMessage]| {
        let mut said: Vec<_> = claimed.iter().map(|m| (m.message_id.clone(), m.more)).collect();
        said.sort();
        said
    };
    let first = store.claim_inbound("one", t(10), LEASE, 10).await.unwrap();
    assert_eq!(more(&first), [("wamid.a1".to_owned(), true), ("wamid.b1".to_owned(), false)]);
    let done: Vec<_> = first.iter().map(|m| (m.seq, Finish::Done)).collect();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.finish_inbound_all("one", t(11), &done).await.unwrap(), [true, true]);
    tx.commit().await.unwrap();
    let second = store.claim_inbound("two", t(12), LEASE, 10).await.unwrap();
    assert_eq!(more(&second), [("wamid.a2".to_owned(), false)], "her last: nothing behind it");
}

/// Meta may deliver a customer's messages out of order: one written earlier can arrive while a
/// later one is being handled. It must wait, or the two would be handled at once (5 PIN
/// guesses inside a 3-try window, before the tries were counted atomically).
async fn a_late_message_written_earlier_waits_while_another_of_the_customers_is_handled(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    enqueue(&store, &text_notification("2348000000001", "wamid.c2", "second", 20)).await;
    let first = store.claim_inbound("one", t(30), LEASE, 10).await.unwrap();
    let ids = |claimed: &[teller::store::ClaimedMessage]| {
        claimed.iter().map(|m| m.message_id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&first), ["wamid.c2"]);
    enqueue(&store, &text_notification("2348000000001", "wamid.c1", "first", 10)).await;
    enqueue(&store, &text_notification("2348000000002", "wamid.b1", "hello", 15)).await;
    let second = store.claim_inbound("two", t(31), LEASE, 10).await.unwrap();
    assert_eq!(ids(&second), ["wamid.b1"], "nothing of hers while one of her messages is leased");

    let mut tx = store.begin().await.unwrap();
    assert!(tx.finish_inbound(first[0].seq, "one", Finish::Done, t(32)).await.unwrap());
    tx.commit().await.unwrap();
    let third = store.claim_inbound("three", t(33), LEASE, 10).await.unwrap();
    assert_eq!(ids(&third), ["wamid.c1"], "handled once the other is done (on arrival, after it)");
}

async fn each_customer_is_answered_in_the_order_they_wrote(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    // Ada's second message arrives first, as Meta's unordered delivery allows.
    enqueue(&store, &text_notification("2348000000001", "wamid.a2", "second", 2)).await;
    enqueue(&store, &text_notification("2348000000001", "wamid.a1", "first", 1)).await;
    enqueue(&store, &text_notification("2348000000002", "wamid.b1", "hello", 1)).await;
    let dispatcher = Dispatcher::new(store.clone(), Arc::new(Echo), LEASE, 64);

    // One round takes one message per customer: never two of Ada's at once.
    let round = dispatcher.run_once(t(10)).await.unwrap();
    assert_eq!(round, [Outcome::Done, Outcome::Done]);
    assert_eq!(dispatcher.run_once(t(10)).await.unwrap(), [Outcome::Done]);
    assert!(dispatcher.run_once(t(10)).await.unwrap().is_empty());

    assert_eq!(replies(&store, "wa:2348000000001").await, ["echo: first", "echo: second"]);
    assert_eq!(replies(&store, "wa:2348000000002").await, ["echo: hello"]);
    let inbox = store.inbox_for_sender("wa:2348000000001").await.unwrap();
    assert!(inbox.iter().all(|m| m.state == "done"));
}

async fn a_crashed_dispatchers_message_is_taken_over_when_its_lease_expires(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    enqueue(&store, &text_notification("2348000000001", "wamid.x", "hi", 1)).await;
    // An instance leases it and dies without finishing.
    let taken = store.claim_inbound("crashed", t(0), LEASE, 10).await.unwrap();
    assert_eq!(taken.len(), 1);

    let survivor = Dispatcher::new(store.clone(), Arc::new(Echo), LEASE, 10);
    assert!(survivor.run_once(t(29)).await.unwrap().is_empty(), "a live lease is respected");
    assert_eq!(survivor.run_once(t(30)).await.unwrap(), [Outcome::Done], "an expired lease is taken over");

    // The crashed instance wakes up and tries to finish: fenced out, nothing changes.
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.finish_inbound(taken[0].seq, "crashed", Finish::Done, t(31)).await.unwrap());
    drop(tx);
    assert_eq!(replies(&store, "wa:2348000000001").await, ["echo: hi"], "answered exactly once");
}

async fn a_stalled_dispatcher_cannot_finish_a_message_another_has_taken_over(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    enqueue(&store, &text_notification("2348000000001", "wamid.y", "hi", 1)).await;
    let stalled = store.claim_inbound("stalled", t(0), LEASE, 10).await.unwrap();
    let current = store.claim_inbound("current", t(31), LEASE, 10).await.unwrap();
    assert_eq!(current.len(), 1, "the expired lease passed to another dispatcher");

    // While the new holder works, the stalled one wakes up and tries to finish: fenced out.
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.finish_inbound(stalled[0].seq, "stalled", Finish::Done, t(32)).await.unwrap());
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.finish_inbound(current[0].seq, "current", Finish::Done, t(33)).await.unwrap());
    tx.commit().await.unwrap();
}

/// Property 6: the text of a message that answered a PIN or code question is removed from the
/// inbox and from the raw webhook body, in the transaction that marks it handled.
/// Takes any four digits for a PIN.
struct PinStep;

#[async_trait]
impl Handler for PinStep {
    async fn handle(&self, message: &InboundMessage, _: Option<&Standing>) -> anyhow::Result<Handled> {
        let Content::Text { body } = &message.content else { anyhow::bail!("not text") };
        let reply: Outbound = Text::new("Thanks")?.into();
        Ok(Handled {
            replies: vec![reply],
            secret: body.len() == 4 && body.bytes().all(|b| b.is_ascii_digit()),
            question: None,
        })
    }
}

/// The rows `sql` reads straight from the store's tables, on either backend.
async fn table_rows<T>(db: &TestDb, sql: &'static str) -> Vec<T>
where
    T: Send + Unpin,
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
{
    match db.config.backend {
        SqlBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
        }
        SqlBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
        }
    }
}

/// Every raw webhook body the store keeps, read straight from its table.
async fn kept_bodies(db: &TestDb) -> Vec<String> {
    let bodies: Vec<(Vec<u8>,)> = table_rows(db, "SELECT body FROM webhook_payloads ORDER BY id").await;
    bodies.into_iter().map(|(b,)| String::from_utf8_lossy(&b).into_owned()).collect()
}

/// Each kept message with the body of the payload it names, in arrival order.
async fn messages_with_payloads(db: &TestDb) -> Vec<(String, String)> {
    let sql = "SELECT m.message_id, p.body FROM inbox_messages m
               JOIN webhook_payloads p ON p.id = m.payload_id ORDER BY m.seq";
    let rows: Vec<(String, Vec<u8>)> = table_rows(db, sql).await;
    rows.into_iter().map(|(id, body)| (id, String::from_utf8_lossy(&body).into_owned())).collect()
}

fn payload(body: &[u8]) -> NewWebhookPayload<'_> {
    NewWebhookPayload { received_at: t(5), body, problems: None }
}

/// Webhooks of new messages are kept at once, each message naming the payload it came in (in
/// the order given), and a batch with one message the inbox has already keeps nothing at all.
async fn new_webhooks_are_kept_at_once_and_a_batch_with_a_repeat_keeps_nothing(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let bodies: Vec<Vec<u8>> = (1..=3)
        .map(|n| {
            text_notification(&format!("234800000050{n}"), &format!("wamid.new{n}"), &format!("text {n}"), n)
        })
        .collect();
    let notifications: Vec<Notification> = bodies.iter().map(|b| Notification::parse(b).unwrap()).collect();
    let keys: Vec<String> = notifications.iter().map(|n| n.messages[0].sender.key()).collect();
    // Message `n`, in the payload at `place` of its batch.
    let row = |n: usize, place: i64| {
        let message = &notifications[n].messages[0];
        NewInboxMessage {
            payload_id: place,
            message_id: message.id.as_str(),
            sender_key: &keys[n],
            phone_number_id: message.phone_number_id.as_deref(),
            kind: "text",
            sent_at: message.sent_at,
            received_at: t(5),
            message: &message.raw,
        }
    };
    // Messages listed out of their payloads' order: each still names its own.
    let stored = store
        .enqueue_new_webhooks(&[payload(&bodies[0]), payload(&bodies[1])], &[row(1, 1), row(0, 0)])
        .await
        .unwrap();
    assert!(stored);
    let kept = messages_with_payloads(&db).await;
    let named: Vec<_> = kept
        .iter()
        .map(|(id, body)| (id.as_str(), body.contains("text 1"), body.contains("text 2")))
        .collect();
    assert_eq!(named, [("wamid.new2", false, true), ("wamid.new1", true, false)], "{kept:?}");

    // A new message batched with a repeat: nothing of the batch is kept.
    let stored = store
        .enqueue_new_webhooks(&[payload(&bodies[2]), payload(&bodies[0])], &[row(2, 0), row(0, 1)])
        .await
        .unwrap();
    assert!(!stored, "one message is in the inbox already");
    assert_eq!(messages_with_payloads(&db).await, kept, "nothing was added");
    assert_eq!(kept_bodies(&db).await.len(), 2, "no payload was kept for the refused batch");

    let unnamed = store.enqueue_new_webhooks(&[payload(&bodies[2])], &[row(2, 1)]).await;
    assert!(unnamed.is_err(), "a message naming no payload is refused: {unnamed:?}");
    assert_eq!(kept_bodies(&db).await.len(), 2, "and nothing of it kept");
}

/// Meta redelivers: five deliveries of a PIN answer (before and after it was handled) keep
/// one copy of it, which handling removes; a redelivery batched with a new message keeps the
/// new one only. Before, every verified body was stored before the duplicate check, and
/// redaction replaced only the copy the inbox row pointed to: four copies of the PIN stayed
/// for 30 days.
async fn a_redelivered_pin_leaves_no_copy(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let pin = text_notification("2348000000001", "wamid.pin", "4821", 1);
    for _ in 0..3 {
        enqueue(&store, &pin).await;
    }
    assert_eq!(kept_bodies(&db).await.len(), 1, "one copy, for the one message");
    let dispatcher = Dispatcher::new(store.clone(), Arc::new(PinStep), LEASE, 10);
    assert_eq!(dispatcher.run_once(t(0)).await.unwrap(), [Outcome::Done]);
    for _ in 0..2 {
        enqueue(&store, &pin).await;
    }
    // A batch: a new message beside the PIN again.
    let mut batch: serde_json::Value = serde_json::from_slice(&pin).unwrap();
    let new = serde_json::json!({"from": "2348000000001", "id": "wamid.new", "timestamp": "1795000002",
                                 "type": "text", "text": {"body": "what is my balance"}});
    batch["entry"][0]["changes"][0]["value"]["messages"].as_array_mut().unwrap().push(new);
    enqueue(&store, &serde_json::to_vec(&batch).unwrap()).await;

    let bodies = kept_bodies(&db).await;
    assert_eq!(bodies.len(), 2, "the PIN's (redacted) and the batch's: {bodies:#?}");
    assert!(bodies.iter().all(|b| !b.contains("4821")), "a copy of the PIN is kept: {bodies:#?}");
    assert!(bodies[1].contains("what is my balance") && bodies[1].contains("wamid.new"), "{}", bodies[1]);
    assert_eq!(store.inbox_for_sender("wa:2348000000001").await.unwrap().len(), 2, "each message once");
    assert_eq!(replies(&store, "wa:2348000000001").await, ["Thanks"], "answered once");
}

async fn a_pin_typed_in_a_message_is_not_kept_once_handled(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    enqueue(&store, &text_notification("2348000000001", "wamid.pin", "4821", 1)).await;
    enqueue(&store, &text_notification("2348000000002", "wamid.hello", "hello", 1)).await;
    let (message, body) = store.inbound_as_stored("wamid.pin").await.unwrap().unwrap();
    assert_eq!(message["text"]["body"], "4821", "kept until handled, like any message");
    assert!(String::from_utf8_lossy(&body).contains("4821"));

    let dispatcher = Dispatcher::new(store.clone(), Arc::new(PinStep), LEASE, 10);
    assert_eq!(dispatcher.run_once(t(0)).await.unwrap(), [Outcome::Done, Outcome::Done]);
    let (message, body) = store.inbound_as_stored("wamid.pin").await.unwrap().unwrap();
    assert_eq!(message["text"]["body"], teller::dispatch::REDACTED);
    assert_eq!(message["from"], "2348000000001", "the rest of the message stays");
    assert!(!String::from_utf8_lossy(&body).contains("4821"), "nor in the raw body");
    assert_eq!(body, teller::store::REDACTED_PAYLOAD);
    let (message, body) = store.inbound_as_stored("wamid.hello").await.unwrap().unwrap();
    assert_eq!(message["text"]["body"], "hello", "other messages are kept as they were");
    assert!(String::from_utf8_lossy(&body).contains("hello"));
    assert_eq!(replies(&store, "wa:2348000000001").await, ["Thanks"]);
}

async fn a_failing_message_is_retried_then_set_aside(backend: SqlBackend) {
    struct Broken(AtomicUsize);
    #[async_trait]
    impl Handler for Broken {
        async fn handle(&self, _: &InboundMessage, _: Option<&Standing>) -> anyhow::Result<Handled> {
            self.0.fetch_add(1, Ordering::SeqCst);
            anyhow::bail!("the handler has a bug")
        }
    }
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    enqueue(&store, &text_notification("2348000000001", "wamid.bad", "boom", 1)).await;
    enqueue(&store, &text_notification("2348000000001", "wamid.next", "after", 2)).await;
    let broken = Arc::new(Broken(AtomicUsize::new(0)));
    let dispatcher = Dispatcher::new(store.clone(), broken.clone(), LEASE, 10);

    let mut outcomes = Vec::new();
    for attempt in 0..5 {
        outcomes.extend(dispatcher.run_once(t(attempt * 31)).await.unwrap());
    }
    assert_eq!(outcomes, [Outcome::Retry, Outcome::Retry, Outcome::Retry, Outcome::Retry, Outcome::Failed]);
    assert_eq!(broken.0.load(Ordering::SeqCst), 5);
    let inbox = store.inbox_for_sender("wa:2348000000001").await.unwrap();
    assert_eq!(inbox[0].state, "failed");
    assert_eq!(inbox[1].state, "pending", "the customer's next message is not blocked for ever");
}

async fn a_message_failing_for_an_outage_is_retried_until_it_ends_never_set_aside(backend: SqlBackend) {
    /// The KV is down for the first `.0` attempts, then back.
    struct Outage(usize, AtomicUsize);
    #[async_trait]
    impl Handler for Outage {
        async fn handle(&self, _: &InboundMessage, _: Option<&Standing>) -> anyhow::Result<Handled> {
            if self.1.fetch_add(1, Ordering::SeqCst) < self.0 {
                let down = teller::kv::KvError::Unavailable(anyhow::anyhow!("redis is restarting"));
                return Err(anyhow::Error::new(down).context("cannot load the session"));
            }
            Ok(vec![].into())
        }
    }
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    enqueue(&store, &text_notification("2348000000001", "wamid.patient", "hello", 1)).await;
    let dispatcher = Dispatcher::new(store.clone(), Arc::new(Outage(8, AtomicUsize::new(0))), LEASE, 10);
    assert_eq!(dispatcher.run_once(t(0)).await.unwrap(), [Outcome::Retry]);
    assert!(dispatcher.run_once(t(0)).await.unwrap().is_empty(), "not retried at once");
    // Retried within seconds, not when the lease (30 s) would have run out: 1 s after the first
    // failure, then waits doubling up to 8 s.
    let mut outcomes = Vec::new();
    for attempt in 1..9 {
        outcomes.extend(dispatcher.run_once(t(attempt * 8)).await.unwrap());
    }
    assert!(
        outcomes[..7].iter().all(|o| *o == Outcome::Retry),
        "past the attempts a bug gets, still retried: {outcomes:?}"
    );
    assert_eq!(outcomes[7..], [Outcome::Done]);
    assert_eq!(store.inbox_for_sender("wa:2348000000001").await.unwrap()[0].state, "done");
}

#[tokio::test]
async fn two_instances_answer_every_message_once_and_each_customer_in_order() {
    let graph = FakeGraph::start().await;
    let first = webhook_app(&graph).await;
    let mut env: Vec<(String, String)> = [
        ("PORT", "0".to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
        ("DATABASE_URL", first.state.config.database.url.expose_secret().to_owned()),
        ("WHATSAPP_APP_SECRET", SECRET.to_owned()),
        ("SECRETS_KEY", crate::harness::TEST_SECRETS_KEY.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(fast_sending(&graph));
    let mut config = Config::from_vars(env).unwrap();
    config.kv = first.state.config.kv.clone();
    let second = TestApp::spawn_sharing(config).await;

    // 50 customers × 20 messages, each delivered three times to either instance. Each
    // customer's messages are sent in order; customers and redeliveries interleave freely.
    let base = Utc::now().timestamp();
    let customers: Vec<_> = (0..50)
        .map(|c| {
            let urls = [first.url("/webhook"), second.url("/webhook")];
            let client = first.client.clone();
            tokio::spawn(async move {
                for n in 0..20 {
                    let body = text_notification_at(
                        &format!("23480200000{c:02}"),
                        &format!("wamid.c{c}m{n}"),
                        // "menu" always gets exactly one reply (for these new customers: the
                        // first question of registration).
                        "menu",
                        base + n,
                    );
                    let signature = signature::sign(SECRET.as_bytes(), &body);
                    let copies = (0..3).map(|copy| {
                        let request = client
                            .post(&urls[usize::try_from(c + n + copy).unwrap() % 2])
                            .header("x-hub-signature-256", &signature);
                        request.body(body.clone()).send()
                    });
                    for response in futures_util::future::join_all(copies).await {
                        assert_eq!(response.unwrap().status(), 200);
                    }
                }
            })
        })
        .collect();
    for customer in customers {
        customer.await.unwrap();
    }

    // Every reply reaches the (fake) Graph API exactly once…
    let deadline = Instant::now() + Duration::from_secs(60);
    while graph.sends().len() < 1000 {
        assert!(Instant::now() < deadline, "{} of 1000 replies sent", graph.sends().len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sends = graph.sends();
    assert_eq!(sends.len(), 1000, "no reply was sent twice");

    // …and each customer's replies leave in the order of their messages.
    let store = first.state.store.clone();
    for c in 0..50 {
        let wa_id = format!("23480200000{c:02}");
        let outbox = store.outbox_for_recipient(&format!("wa:{wa_id}")).await.unwrap();
        let answering: std::collections::HashMap<String, String> =
            outbox.iter().map(|m| (m.id.to_string(), m.in_reply_to.clone().unwrap())).collect();
        let order: Vec<String> = sends
            .iter()
            .filter(|s| s["to"] == wa_id.as_str())
            .map(|s| answering[s["biz_opaque_callback_data"].as_str().unwrap()].clone())
            .collect();
        let expected: Vec<_> = (0..20).map(|n| format!("wamid.c{c}m{n}")).collect();
        assert_eq!(order, expected, "customer {c}: one reply per message, sent in order");
        assert!(outbox.iter().all(|m| m.state == "sent"));
        let inbox = store.inbox_for_sender(&format!("wa:{wa_id}")).await.unwrap();
        assert!(inbox.len() == 20 && inbox.iter().all(|m| m.state == "done"));
    }
}

#[tokio::test]
async fn a_served_app_answers_a_new_customer_with_registration_and_no_receipt_when_answered_at_once() {
    let graph = FakeGraph::start().await;
    let app = webhook_app(&graph).await;
    let body = text_notification_at("2348000000009", "wamid.welcome", "hi", Utc::now().timestamp());
    let status = post_signed(app.client.clone(), app.url("/webhook"), SECRET, body).await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while graph.sends().is_empty() {
        assert!(Instant::now() < deadline, "no reply was sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sends = graph.sends();
    assert_eq!(sends[0]["to"], "2348000000009");
    // Not registered yet: the first message is greeted with the bank's name and the way in.
    assert_eq!(sends[0]["type"], "interactive");
    let welcome = sends[0]["interactive"]["body"]["text"].as_str().unwrap();
    assert!(welcome.starts_with("Hello 👋 This is teller on WhatsApp."), "{welcome}");
    // The sender records the send after the Graph API answered it.
    loop {
        let outbox = app.state.store.outbox_for_recipient("wa:2348000000009").await.unwrap();
        if outbox[0].state == "sent" {
            break;
        }
        assert!(Instant::now() < deadline, "the reply stayed {}", outbox[0].state);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Answered within the receipt's wait: no separate read mark (and typing hint) was sent,
    // nor is one sent once the wait is over.
    tokio::time::sleep(teller::outbox::RECEIPT_WAIT * 2).await;
    assert!(graph.receipts().is_empty(), "{:?}", graph.receipts());
}

/// Every message is followed by a wake-up of the other instances: one that came too soon after
/// the last to publish its own is published when the interval is up. An instance whose round
/// held the customer's earlier message counts on it to look again.
#[tokio::test]
async fn every_webhook_wakes_the_other_instances_even_in_a_burst() {
    let graph = FakeGraph::start().await;
    let app = webhook_app(&graph).await;
    let mut wakeups = app.state.kv.subscribe(teller::dispatch::WAKE_CHANNEL).await.unwrap();
    for n in 0..2 {
        let body =
            text_notification_at("2348000000011", &format!("wamid.burst.{n}"), "hi", Utc::now().timestamp());
        assert_eq!(post_signed(app.client.clone(), app.url("/webhook"), SECRET, body).await, 200);
    }
    // The first is published at once, the second at the interval's end (or at once, on a
    // machine slow enough to take the interval between the two).
    for n in 0..2 {
        let heard = tokio::time::timeout(Duration::from_secs(5), wakeups.next()).await;
        let origin = heard.unwrap_or_else(|_| panic!("wake-up {n} was not published")).unwrap();
        assert_eq!(origin, app.state.wake.origin().as_bytes(), "published under this instance's name");
    }
}

#[tokio::test]
async fn without_an_access_token_replies_are_recorded_by_the_sandbox() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    assert_eq!(app.state.transport.name(), "sandbox");
    let body = text_notification_at("2348000000010", "wamid.sandbox", "hi", Utc::now().timestamp());
    // The sandbox app has no app secret: put the message straight into its inbox.
    enqueue(&app.state.store, &body).await;
    app.state.wake.signal();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let outbox = app.state.store.outbox_for_recipient("wa:2348000000010").await.unwrap();
        if let Some(reply) = outbox.first().filter(|r| r.state == "sent") {
            assert!(reply.provider_message_id.as_deref().unwrap().starts_with("sandbox."));
            break;
        }
        assert!(Instant::now() < deadline, "the sandbox did not record the reply");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sending settings for tests that push many replies: Meta's limits would make them slow.
fn fast_sending(graph: &FakeGraph) -> Vec<(String, String)> {
    let mut env = graph.env();
    env.push(("WHATSAPP_SEND_RATE".to_owned(), "10000".to_owned()));
    env.push(("WHATSAPP_PAIR_BURST".to_owned(), "45".to_owned()));
    env
}

async fn webhook_app(graph: &FakeGraph) -> TestApp {
    let db = TestDb::new(SqlBackend::Postgres).await;
    db.store().await.close().await;
    let mut env = harness::base_env(&db);
    env.insert("WHATSAPP_APP_SECRET".into(), SECRET.into());
    env.extend(fast_sending(graph));
    TestApp::spawn_with(harness::config(env, harness::kv_config(KvKind::Redis)), db, |r| r).await
}

async fn a_round_leases_no_more_than_its_batch_and_finishes_them_together(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    for n in 0..6 {
        enqueue(&store, &text_notification(&format!("23480000002{n:02}"), &format!("wamid.{n}"), "hi", 1))
            .await;
    }
    // A claim keeps to its limit, however the database plans it.
    let first = store.claim_inbound("first", t(0), LEASE, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let second = store.claim_inbound("second", t(0), LEASE, 10).await.unwrap();
    assert_eq!(second.len(), 4);

    // Finishing a round at once is fenced message by message.
    let mut finishing: Vec<(i64, Finish)> = second.iter().map(|m| (m.seq, Finish::Done)).collect();
    finishing[1].1 = Finish::Failed;
    finishing.insert(1, (first[0].seq, Finish::Done));
    let mut tx = store.begin().await.unwrap();
    let held = tx.finish_inbound_all("second", t(1), &finishing).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(held, [true, false, true, true, true]);
    let mut states = Vec::new();
    for n in 0..6 {
        for message in store.inbox_for_sender(&format!("wa:23480000002{n:02}")).await.unwrap() {
            states.push(message.state);
        }
    }
    states.sort();
    assert_eq!(states, ["done", "done", "done", "failed", "pending", "pending"]);
}

/// A claim reads, with each message, whether its sender is a customer and the language they
/// chose, as they stand at the claim: what the handler is given instead of asking again.
async fn a_claim_reads_who_each_sender_is_as_of_the_claim(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let (customer, stranger) = ("2348000000301", "2348000000302");
    let mut tx = store.begin().await.unwrap();
    harness::plain_customer(tx.as_mut(), 301, customer, t(0)).await;
    tx.commit().await.unwrap();
    store.set_customer_language(&format!("wa:{customer}"), "yo", t(0)).await.unwrap();
    enqueue(&store, &text_notification(customer, "wamid.c1", "hi", 1)).await;
    enqueue(&store, &text_notification(stranger, "wamid.s1", "hi", 2)).await;
    let claimed = store.claim_inbound("one", t(1), LEASE, 10).await.unwrap();
    let standing: Vec<_> = claimed
        .iter()
        .map(|m| (m.sender_key.as_str(), m.standing.registered, m.standing.language.as_deref()))
        .collect();
    assert_eq!(
        standing,
        [("wa:2348000000301", true, Some("yo")), ("wa:2348000000302", false, None)],
        "{claimed:?}"
    );
    assert!(claimed.iter().all(|m| m.standing.wrote_before.is_none()), "a first message: {claimed:?}");

    // The stranger registers and chooses a language before their next message is claimed.
    let mut tx = store.begin().await.unwrap();
    tx.finish_inbound_all("one", t(2), &[(claimed[0].seq, Finish::Done), (claimed[1].seq, Finish::Done)])
        .await
        .unwrap();
    harness::plain_customer(tx.as_mut(), 302, stranger, t(2)).await;
    tx.commit().await.unwrap();
    store.set_customer_language(&format!("wa:{stranger}"), "ha", t(2)).await.unwrap();
    enqueue(&store, &text_notification(stranger, "wamid.s2", "balance", 3)).await;
    let claimed = store.claim_inbound("two", t(3), LEASE, 10).await.unwrap();
    let standing: Vec<_> = claimed
        .iter()
        .map(|m| (m.standing.registered, m.standing.language.as_deref(), m.standing.wrote_before))
        .collect();
    assert_eq!(standing, [(true, Some("ha"), Some(t(2)))], "when they last wrote, too: {claimed:?}");
    let looked_up = store.inbound_before(&format!("wa:{stranger}"), "wamid.s2").await.unwrap();
    assert_eq!(looked_up, Some(t(2)), "the claim and the lookup agree");
}

/// A claim in flight holds a lock on each customer it may lease. Another claim skips those
/// customers at once (it neither waits nor leases them), takes the others, and its own locks
/// end with it: a third claim finds nothing held.
#[tokio::test]
async fn a_customer_another_claim_holds_is_skipped_not_waited_for() {
    let db = TestDb::new(SqlBackend::Postgres).await;
    let store = db.store().await;
    enqueue(&store, &text_notification("2348000000401", "wamid.held", "hi", 1)).await;
    enqueue(&store, &text_notification("2348000000402", "wamid.free", "hi", 2)).await;
    let other = sqlx::PgPool::connect(&db.url).await.unwrap();
    let mut in_flight = other.begin().await.unwrap();
    // The lock a claim takes on a customer: class 0x74656c6c ("tell"), the key hashed.
    let taken: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(1952803948, hashtext('wa:2348000000401'))")
            .fetch_one(&mut *in_flight)
            .await
            .unwrap();
    assert!(taken);

    let claimed = tokio::time::timeout(Duration::from_secs(5), store.claim_inbound("one", t(3), LEASE, 10))
        .await
        .expect("the claim does not wait for the other")
        .unwrap();
    let ids: Vec<_> = claimed.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids, ["wamid.free"], "only the customer nobody holds");
    in_flight.rollback().await.unwrap();

    let locks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&other)
    .await
    .unwrap();
    assert_eq!(locks, 0, "no claim's lock outlives it");
    let claimed = store.claim_inbound("two", t(4), LEASE, 10).await.unwrap();
    let ids: Vec<_> = claimed.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids, ["wamid.held"], "taken once the other claim ended");
}

/// Two business numbers can share one webhook (one Meta app): a message addressed to the other
/// number is kept in the inbox, marked handled, and not answered, read-marked or acted on.
#[tokio::test]
async fn a_message_to_another_business_number_is_kept_but_not_answered() {
    let graph = FakeGraph::start().await;
    let app = webhook_app(&graph).await;
    let now = Utc::now().timestamp();
    let to_other = String::from_utf8(text_notification_at("2348000000007", "wamid.other", "hi", now))
        .unwrap()
        .replace("\"phone_number_id\":\"100\"", "\"phone_number_id\":\"999\"");
    assert!(to_other.contains("\"999\""), "the fixture names its number");
    let status = post_signed(app.client.clone(), app.url("/webhook"), SECRET, to_other.into_bytes()).await;
    assert_eq!(status, 200);
    let ours = text_notification_at("2348000000007", "wamid.ours", "hi", now + 1);
    assert_eq!(post_signed(app.client.clone(), app.url("/webhook"), SECRET, ours).await, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let inbox = app.state.store.inbox_for_sender("wa:2348000000007").await.unwrap();
        let outbox = app.state.store.outbox_for_recipient("wa:2348000000007").await.unwrap();
        if inbox.iter().all(|m| m.state == "done") && outbox.iter().any(|m| m.state == "sent") {
            assert_eq!(inbox.len(), 2, "both are kept");
            let answered: Vec<_> = outbox.iter().filter_map(|m| m.in_reply_to.clone()).collect();
            assert!(answered.iter().all(|id| id == "wamid.ours"), "{answered:?}");
            break;
        }
        assert!(Instant::now() < deadline, "not handled: {inbox:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (message, _) = app.state.store.inbound_as_stored("wamid.other").await.unwrap().unwrap();
    assert_eq!(message["text"]["body"], "hi", "kept as it came");
    assert!(graph.sends().iter().all(|s| s["to"] == "2348000000007"));
    let read: Vec<_> = graph.receipts().iter().map(|r| r["message_id"].clone()).collect();
    assert!(!read.contains(&serde_json::json!("wamid.other")), "not even marked read: {read:?}");
}

/// The keeper of the queues' statistics analyzes nothing while the tables are small, a table
/// once it has grown past twice the pages its statistics saw, and that table not again until
/// it grows as much once more. SQLite makes no plan from a table's size: nothing to do there.
async fn the_queues_statistics_are_refreshed_once_a_queue_outgrows_them(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let none: [&str; 0] = [];
    assert_eq!(store.refresh_queue_statistics().await.unwrap(), none, "a new database's tables are small");
    for n in 0..400 {
        let body = text_notification(&format!("2348055{n:05}"), &format!("wamid.grown.{n}"), "hi", 100);
        enqueue(&store, &body).await;
    }
    // Meta's statuses of as many replies (a row each is small: more of them fill as many pages).
    let mut tx = store.begin().await.unwrap();
    for n in 0..2_000 {
        let status = DeliveryStatus {
            message_id: format!("wamid.reply.{n}"),
            status: "delivered".into(),
            rank: 2,
            status_at: Some(t(101)),
            error_code: None,
            error_title: None,
            callback_data: None,
            updated_at: t(102),
        };
        tx.apply_delivery_status(&status).await.unwrap();
    }
    tx.commit().await.unwrap();
    let refreshed = store.refresh_queue_statistics().await.unwrap();
    match backend {
        SqlBackend::Postgres => {
            let grown = ["webhook_payloads", "inbox_messages", "delivery_statuses"];
            assert_eq!(refreshed, grown, "the outbox holds nothing yet");
        }
        SqlBackend::Sqlite => assert_eq!(refreshed, none),
    }
    assert_eq!(store.refresh_queue_statistics().await.unwrap(), none, "up to date until they grow again");
}
