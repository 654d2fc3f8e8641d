//! The sender against a fake Graph API: each reply sent once, in order per customer, retried by
//! Meta's error class, recorded when it cannot go, and kept inside the 24-hour window.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use teller::config::{Config, SqlBackend};
use teller::metrics::Metrics;
use teller::outbox::{SendOutcome, Sender};
use teller::store::{DeliveryStatus, NewOutboxMessage, OutboxMessage, Settlement, SqlStore};
use teller::wake::Wake;
use teller::whatsapp::graph::GraphApi;
use teller::whatsapp::inbox::accept;
use teller::whatsapp::notification::Notification;

use crate::harness::{
    Answer, FakeGraph, TestDb, on_both_sql_backends, text_notification, text_notification_at,
};

const ADA: &str = "2348000000001";
const BAYO: &str = "2348000000002";

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_000_000 + secs, 0).single().unwrap()
}

fn key(wa_id: &str) -> String {
    format!("wa:{wa_id}")
}

/// A sender for `store` that talks to `graph`, with `vars` on top of a fast retry base.
pub(crate) fn sender(store: &Arc<dyn SqlStore>, graph: &FakeGraph, vars: &[(&str, &str)]) -> Sender {
    let mut env = graph.env();
    env.push(("OUTBOX_RETRY_BASE_MS".to_owned(), "1000".to_owned()));
    env.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let config = Config::from_vars(env).unwrap();
    let transport = GraphApi::from_config(&config.whatsapp).unwrap().unwrap();
    Sender::new(
        store.clone(),
        Arc::new(transport),
        Arc::new(Metrics::new()),
        config.outbox,
        config.whatsapp.send_timeout,
        64,
    )
}

/// The customer wrote at `t(sent)`: their window is open for 24 hours from then.
pub(crate) async fn customer_wrote(store: &Arc<dyn SqlStore>, wa_id: &str, id: &str, sent: i64) {
    let body = text_notification(wa_id, id, "hi", sent);
    accept(store.as_ref(), &body, &Notification::parse(&body).unwrap(), None, Utc::now()).await.unwrap();
}

/// Queues a text reply to `wa_id`; returns its outbox id.
pub(crate) async fn queue(store: &Arc<dyn SqlStore>, wa_id: &str, text: &str) -> i64 {
    let body = json!({"type": "text", "text": {"body": text}});
    let mut tx = store.begin().await.unwrap();
    let key = key(wa_id);
    let id = tx
        .enqueue_outbound(&NewOutboxMessage {
            recipient_key: &key,
            wa_id: Some(wa_id),
            bsuid: None,
            in_reply_to: None,
            body: &body,
            // Unknown, so the sender looks the window up.
            window_from: None,
            created_at: t(0),
            scrub_after: None,
            question: None,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

pub(crate) async fn outbox(store: &Arc<dyn SqlStore>, wa_id: &str) -> Vec<OutboxMessage> {
    store.outbox_for_recipient(&key(wa_id)).await.unwrap()
}

/// The customer's first reply once a failed send has been recorded on it, by a round or by a
/// send that finished after its round.
async fn recorded(store: &Arc<dyn SqlStore>, wa_id: &str) -> OutboxMessage {
    let started = std::time::Instant::now();
    loop {
        let first = outbox(store, wa_id).await.remove(0);
        if first.error_message.is_some() {
            return first;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the send was never recorded: {first:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn texts(sends: &[Value]) -> Vec<String> {
    sends.iter().map(|s| s["text"]["body"].as_str().unwrap_or("<not text>").to_owned()).collect()
}

on_both_sql_backends!(
    a_reply_is_sent_once_with_our_id_as_callback_data,
    a_throughput_error_is_retried_after_backoff_and_delivered_once,
    an_undeliverable_number_is_recorded_failed_and_never_retried,
    a_timeout_is_retried,
    a_send_whose_answer_was_lost_is_not_repeated_once_its_status_arrived,
    a_customers_replies_go_one_at_a_time_in_order,
    outside_the_window_a_free_form_reply_is_recorded_not_sent,
    outside_the_window_the_configured_template_goes_instead,
    metas_window_error_is_treated_as_outside_the_window,
    the_pair_rate_holds_back_a_burst_without_counting_attempts,
    two_senders_never_send_a_reply_twice_and_keep_each_customers_order,
    retryable_failures_stop_after_the_configured_attempts,
    a_late_window_failure_status_marks_the_sent_reply_outside_the_window,
    a_hung_send_holds_up_neither_its_round_nor_the_next,
    a_rounds_outcomes_are_recorded_together_each_fenced_by_its_lease,
    a_claim_says_whose_recipient_has_more_waiting,
    a_reply_put_off_goes_when_it_comes_due_not_at_the_next_poll,
);

/// A retry (here after Meta's throughput error, 20 to 40 ms on) goes when it comes due: with a
/// poll of an hour, only the sender's alarm can send it within the test's wait.
async fn a_reply_put_off_goes_when_it_comes_due_not_at_the_next_poll(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    graph.script([Answer::Error(400, 130_429)]);
    // The sender runs on the real clock: the customer wrote a minute ago.
    let body = text_notification_at(ADA, "wamid.in", "balance", Utc::now().timestamp() - 60);
    accept(store.as_ref(), &body, &Notification::parse(&body).unwrap(), None, Utc::now()).await.unwrap();
    queue(&store, ADA, "your balance").await;
    let sender =
        sender(&store, &graph, &[("OUTBOX_RETRY_BASE_MS", "40")]).polling_every(Duration::from_secs(3600));
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { sender.run(1, Arc::new(Wake::default()), stop).await });

    let started = std::time::Instant::now();
    while outbox(&store, ADA).await[0].state != "sent" {
        assert!(started.elapsed() < Duration::from_secs(30), "the retry waited for the poll");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_tx.send_replace(true);
    running.await.unwrap();
    let row = &outbox(&store, ADA).await[0];
    assert_eq!((row.attempts, row.error_code), (2, Some(130_429)), "sent at the second attempt");
    assert_eq!(texts(&graph.sends()), ["your balance", "your balance"]);
}

/// A sender goes again at once only when a claimed reply's recipient has another waiting behind
/// it (`more`), so the claim must say so.
async fn a_claim_says_whose_recipient_has_more_waiting(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ada = [queue(&store, ADA, "one").await, queue(&store, ADA, "two").await];
    let bayo = queue(&store, BAYO, "hello").await;
    let lease = Duration::from_secs(30);
    let more = |claimed: Vec<teller::store::ClaimedReply>| {
        let mut said: Vec<_> = claimed.iter().map(|r| (r.id, r.more)).collect();
        said.sort_unstable();
        said
    };
    let first = store.claim_outbound("ours", t(1), lease, 10).await.unwrap();
    assert_eq!(more(first), [(ada[0], true), (bayo, false)]);
    let sent =
        |id, wamid: &str| (id, Settlement::Sent { provider_message_id: wamid.into(), via_template: false });
    let mut tx = store.begin().await.unwrap();
    let held = tx.settle_outbound_all("ours", t(2), &[sent(ada[0], "wamid.1"), sent(bayo, "wamid.2")]).await;
    assert_eq!(held.unwrap(), [true, true]);
    tx.commit().await.unwrap();
    let second = store.claim_outbound("ours", t(3), lease, 10).await.unwrap();
    assert_eq!(more(second), [(ada[1], false)], "her last: nothing behind it");
}

async fn a_reply_is_sent_once_with_our_id_as_callback_data(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    customer_wrote(&store, ADA, "wamid.in", 0).await;
    let id = queue(&store, ADA, "Hello Ada").await;
    let sender = sender(&store, &graph, &[]);

    assert_eq!(sender.run_once(t(1)).await.unwrap(), [SendOutcome::Sent]);
    assert!(sender.run_once(t(2)).await.unwrap().is_empty(), "nothing is left to send");

    let sends = graph.sends();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0]["to"], ADA);
    assert_eq!(sends[0]["messaging_product"], "whatsapp");
    assert_eq!(sends[0]["biz_opaque_callback_data"], id.to_string());
    assert_eq!(sends[0]["text"]["body"], "Hello Ada");
    assert_eq!(graph.headers()[0]["authorization"], "Bearer test-token");
    let row = &outbox(&store, ADA).await[0];
    assert_eq!(row.state, "sent");
    assert_eq!(row.provider_message_id.as_deref(), Some("wamid.fake.0"));
    assert_eq!(row.attempts, 1);
}

async fn a_throughput_error_is_retried_after_backoff_and_delivered_once(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    graph.script([Answer::Error(400, 130_429)]);
    customer_wrote(&store, ADA, "wamid.in", 0).await;
    queue(&store, ADA, "Your balance").await;
    let sender = sender(&store, &graph, &[]);

    assert_eq!(sender.run_once(t(1)).await.unwrap(), [SendOutcome::Retry]);
    let row = &outbox(&store, ADA).await[0];
    assert_eq!((row.state.as_str(), row.error_code), ("pending", Some(130_429)));
    let due = row.next_attempt_at.unwrap();
    // The first retry waits between half and all of the 1 s base.
    assert!(due >= t(1) + chrono::Duration::milliseconds(500) && due <= t(2), "retry due at {due}");
    assert!(sender.run_once(t(1)).await.unwrap().is_empty(), "not retried before its backoff");

    assert_eq!(sender.run_once(t(2)).await.unwrap(), [SendOutcome::Sent]);
    assert!(sender.run_once(t(60)).await.unwrap().is_empty());
    assert_eq!(texts(&graph.sends()), ["Your balance", "Your balance"], "one failed try, one delivery");
    let row = &outbox(&store, ADA).await[0];
    assert_eq!((row.state.as_str(), row.attempts), ("sent", 2));
}

async fn an_undeliverable_number_is_recorded_failed_and_never_retried(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    graph.script([Answer::Error(400, 131_026)]);
    customer_wrote(&store, ADA, "wamid.in", 0).await;
    queue(&store, ADA, "first").await;
    queue(&store, ADA, "second").await;
    let sender = sender(&store, &graph, &[]);

    assert_eq!(sender.run_once(t(1)).await.unwrap(), [SendOutcome::Failed]);
    let rows = outbox(&store, ADA).await;
    assert_eq!((rows[0].state.as_str(), rows[0].error_code), ("failed", Some(131_026)));
    assert!(rows[0].error_message.as_deref().unwrap().contains("scripted failure"));
    // A failed reply does not block the customer's queue, and is never tried again.
    assert_eq!(sender.run_once(t(2)).await.unwrap(), [SendOutcome::Sent]);
    assert!(sender.run_once(t(3600)).await.unwrap().is_empty());
    assert_eq!(texts(&graph.sends()), ["first", "second"]);
}

async fn a_timeout_is_retried(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    graph.script([Answer::Hang(Duration::from_secs(3))]);
    customer_wrote(&store, ADA, "wamid.in", 0).await;
    queue(&store, ADA, "slow").await;
    let sender = sender(&store, &graph, &[("WHATSAPP_SEND_TIMEOUT_SECS", "1")]);

    // The round leaves the slow send behind; it is recorded when it gives up.
    assert!(sender.run_once(t(1)).await.unwrap().is_empty());
    let row = &recorded(&store, ADA).await;
    assert_eq!(row.state, "pending");
    assert!(row.error_message.as_deref().unwrap().contains("in time"), "{:?}", row.error_message);
    // Not retried before a status webhook proving Meta took it had time to arrive.
    assert!(row.next_attempt_at.unwrap() >= t(6), "retry due at {:?}", row.next_attempt_at);
    assert!(sender.run_once(t(5)).await.unwrap().is_empty());
    assert_eq!(sender.run_once(t(60)).await.unwrap(), [SendOutcome::Sent]);
    assert_eq!(graph.sends().len(), 2);
}

async fn a_send_whose_answer_was_lost_is_not_repeated_once_its_status_arrived(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    graph.script([Answer::Hang(Duration::from_secs(3))]);
    customer_wrote(&store, ADA, "wamid.in", 0).await;
    let id = queue(&store, ADA, "did it go?").await;
    let sender = sender(&store, &graph, &[("WHATSAPP_SEND_TIMEOUT_SECS", "1")]);
    // A round waits for a send at most half the timeout: this one is recorded when it gives up.
    assert!(sender.run_once(t(1)).await.unwrap().is_empty());
    let row = recorded(&store, ADA).await;
    assert_eq!((row.state.as_str(), row.attempts), ("pending", 1), "a retry: {row:?}");

    // Meta did take it: its status webhook echoes our outbox id.
    let mut tx = store.begin().await.unwrap();
    tx.apply_delivery_status(&DeliveryStatus {
        message_id: "wamid.taken".into(),
        status: "sent".into(),
        rank: 1,
        status_at: Some(t(2)),
        error_code: None,
        error_title: None,
        callback_data: Some(id.to_string()),
        updated_at: t(2),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(sender.run_once(t(60)).await.unwrap(), [SendOutcome::Sent]);
    assert_eq!(graph.sends().len(), 1, "not sent a second time");
    let row = &outbox(&store, ADA).await[0];
    assert_eq!((row.state.as_str(), row.provider_message_id.as_deref()), ("sent", Some("wamid.taken")));
}

async fn a_customers_replies_go_one_at_a_time_in_order(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    // Ada's first reply meets a transient error: her second must wait for it.
    graph.script([Answer::Error(500, 131_000)]);
    customer_wrote(&store, ADA, "wamid.a", 0).await;
    customer_wrote(&store, BAYO, "wamid.b", 0).await;
    for text in ["a1", "a2", "a3"] {
        queue(&store, ADA, text).await;
    }
    let sender = sender(&store, &graph, &[]);

    assert_eq!(sender.run_once(t(1)).await.unwrap(), [SendOutcome::Retry], "only a1: one reply per customer");
    queue(&store, BAYO, "b1").await;
    // a2 waits behind a1's backoff; Bayo is not held up by Ada.
    assert_eq!(sender.run_once(t(1)).await.unwrap(), [SendOutcome::Sent]);
    assert_eq!(texts(&graph.sends()[1..]), ["b1"]);
    for round in 0..3 {
        assert_eq!(sender.run_once(t(10 + round)).await.unwrap(), [SendOutcome::Sent]);
    }
    assert!(sender.run_once(t(20)).await.unwrap().is_empty());
    let ada: Vec<_> = graph.sends().into_iter().filter(|s| s["to"] == ADA).collect();
    assert_eq!(texts(&ada), ["a1", "a1", "a2", "a3"]);
}

async fn outside_the_window_a_free_form_reply_is_recorded_not_sent(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    customer_wrote(&store, ADA, "wamid.in", 0).await;
    queue(&store, ADA, "a day too late").await;
    queue(&store, BAYO, "never wrote to us").await;
    let sender = sender(&store, &graph, &[]);

    let day = 24 * 60 * 60;
    let outcomes = sender.run_once(t(day + 1)).await.unwrap();
    assert_eq!(outcomes, [SendOutcome::OutsideWindow, SendOutcome::OutsideWindow]);
    assert!(graph.sends().is_empty());
    for wa_id in [ADA, BAYO] {
        assert_eq!(outbox(&store, wa_id).await[0].state, "outside_window");
    }
}

async fn outside_the_window_the_configured_template_goes_instead(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    customer_wrote(&store, ADA, "wamid.in", 0).await;
    queue(&store, ADA, "late").await;
    let sender = sender(&store, &graph, &[("WHATSAPP_WINDOW_TEMPLATE", "reopen_chat")]);

    assert_eq!(sender.run_once(t(2 * 24 * 60 * 60)).await.unwrap(), [SendOutcome::Sent]);
    let sends = graph.sends();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0]["type"], "template");
    assert_eq!(sends[0]["template"]["name"], "reopen_chat");
    let row = &outbox(&store, ADA).await[0];
    assert!(row.via_template && row.state == "sent");
}

async fn metas_window_error_is_treated_as_outside_the_window(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    // Meta knows better than our clock: 131047 although we think the window is open.
    graph.script([Answer::Error(400, 131_047), Answer::Error(400, 131_047)]);
    customer_wrote(&store, ADA, "wamid.a", 0).await;
    customer_wrote(&store, BAYO, "wamid.b", 0).await;
    queue(&store, ADA, "no template").await;
    let plain = sender(&store, &graph, &[]);
    assert_eq!(plain.run_once(t(1)).await.unwrap(), [SendOutcome::OutsideWindow]);
    let row = &outbox(&store, ADA).await[0];
    assert_eq!((row.state.as_str(), row.error_code), ("outside_window", Some(131_047)));

    queue(&store, BAYO, "with template").await;
    let templated = sender(&store, &graph, &[("WHATSAPP_WINDOW_TEMPLATE", "reopen_chat")]);
    assert_eq!(templated.run_once(t(1)).await.unwrap(), [SendOutcome::Sent]);
    let sends = graph.sends();
    assert_eq!(sends.len(), 3);
    assert_eq!(sends[2]["type"], "template", "the template follows Meta's refusal");
    assert!(outbox(&store, BAYO).await[0].via_template);
}

async fn the_pair_rate_holds_back_a_burst_without_counting_attempts(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    customer_wrote(&store, ADA, "wamid.in", 0).await;
    queue(&store, ADA, "one").await;
    queue(&store, ADA, "two").await;
    let sender = sender(&store, &graph, &[("WHATSAPP_PAIR_BURST", "1")]);

    assert_eq!(sender.run_once(t(1)).await.unwrap(), [SendOutcome::Sent]);
    assert_eq!(sender.run_once(t(1)).await.unwrap(), [SendOutcome::Postponed]);
    let rows = outbox(&store, ADA).await;
    assert_eq!(
        (rows[1].state.as_str(), rows[1].attempts),
        ("pending", 0),
        "a postponement is not an attempt"
    );
    let due = rows[1].next_attempt_at.unwrap();
    assert!(due > t(1) + chrono::Duration::seconds(4) && due <= t(7), "due at {due}: one message per 6 s");
    assert_eq!(graph.sends().len(), 1);
}

async fn two_senders_never_send_a_reply_twice_and_keep_each_customers_order(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    let customers: Vec<String> = (0..20).map(|i| format!("23480000001{i:02}")).collect();
    for (i, wa_id) in customers.iter().enumerate() {
        customer_wrote(&store, wa_id, &format!("wamid.in.{i}"), 0).await;
        for n in 0..5 {
            queue(&store, wa_id, &format!("{wa_id}/{n}")).await;
        }
    }
    let vars = [("WHATSAPP_PAIR_BURST", "45"), ("WHATSAPP_SEND_RATE", "10000")];
    let (one, two) = (Arc::new(sender(&store, &graph, &vars)), Arc::new(sender(&store, &graph, &vars)));
    // Both drain until everything is sent: a fixed number of rounds made the test depend on
    // how often the two happened to collide on a slow machine.
    let total = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let drain = |s: Arc<Sender>, total: Arc<std::sync::atomic::AtomicUsize>| async move {
        let mut sent = 0;
        for _ in 0..2000 {
            if total.load(std::sync::atomic::Ordering::SeqCst) >= 100 {
                break;
            }
            let n = s.run_once(t(1)).await.unwrap().iter().filter(|o| **o == SendOutcome::Sent).count();
            total.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
            sent += n;
        }
        sent
    };
    let (a, b) =
        tokio::join!(tokio::spawn(drain(one, total.clone())), tokio::spawn(drain(two, total.clone())));
    assert_eq!(a.unwrap() + b.unwrap(), 100);

    let sends = graph.sends();
    assert_eq!(sends.len(), 100, "each reply sent exactly once");
    for wa_id in &customers {
        let mine: Vec<_> = sends.iter().filter(|s| s["to"] == wa_id.as_str()).cloned().collect();
        let expected: Vec<String> = (0..5).map(|n| format!("{wa_id}/{n}")).collect();
        assert_eq!(texts(&mine), expected, "{wa_id}'s replies in order");
    }
}

async fn retryable_failures_stop_after_the_configured_attempts(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    graph.script([Answer::Error(500, 131_000); 3]);
    customer_wrote(&store, ADA, "wamid.in", 0).await;
    queue(&store, ADA, "unlucky").await;
    let sender = sender(&store, &graph, &[("OUTBOX_MAX_ATTEMPTS", "3")]);

    let mut outcomes = Vec::new();
    for minute in 1..=5 {
        outcomes.extend(sender.run_once(t(minute * 60)).await.unwrap());
    }
    assert_eq!(outcomes, [SendOutcome::Retry, SendOutcome::Retry, SendOutcome::Failed]);
    let row = &outbox(&store, ADA).await[0];
    assert_eq!((row.state.as_str(), row.error_code, row.attempts), ("failed", Some(131_000), 3));
}

async fn a_late_window_failure_status_marks_the_sent_reply_outside_the_window(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    customer_wrote(&store, ADA, "wamid.in", 0).await;
    let id = queue(&store, ADA, "accepted, then refused").await;
    assert_eq!(sender(&store, &graph, &[]).run_once(t(1)).await.unwrap(), [SendOutcome::Sent]);

    let status = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": "100"},
        "statuses": [{"id": "wamid.fake.0", "status": "failed", "timestamp": "1795000002", "recipient_id": ADA,
                      "biz_opaque_callback_data": id.to_string(),
                      "errors": [{"code": 131047, "title": "Re-engagement message"}]}]}}]}]})
    .to_string()
    .into_bytes();
    accept(store.as_ref(), &status, &Notification::parse(&status).unwrap(), None, Utc::now()).await.unwrap();

    let row = &outbox(&store, ADA).await[0];
    assert_eq!((row.state.as_str(), row.error_code), ("outside_window", Some(131_047)));
}

async fn a_hung_send_holds_up_neither_its_round_nor_the_next(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    customer_wrote(&store, ADA, "wamid.a", 0).await;
    customer_wrote(&store, BAYO, "wamid.b", 0).await;
    let bayo = queue(&store, BAYO, "b1").await;
    queue(&store, ADA, "a1").await;
    queue(&store, ADA, "a2").await;
    // Bayo's sends never get an answer: each one lasts until the client's timeout.
    graph.hang_for(&[BAYO.to_owned()]);
    let sender = sender(&store, &graph, &[("WHATSAPP_SEND_TIMEOUT_SECS", "3")]);

    // The round does not wait out Bayo's timeout: it ends with a1 recorded, b1 still in flight.
    assert_eq!(sender.run_once(t(1)).await.unwrap(), [SendOutcome::Sent]);
    // The next round sends a2 and leaves b1, still leased to its send, alone.
    assert_eq!(sender.run_once(t(1)).await.unwrap(), [SendOutcome::Sent]);
    let ada: Vec<_> = graph.sends().into_iter().filter(|s| s["to"] == ADA).collect();
    assert_eq!(texts(&ada), ["a1", "a2"]);
    let b1 = &outbox(&store, BAYO).await[0];
    assert_eq!((b1.id, b1.state.as_str(), b1.error_message.as_deref()), (bayo, "pending", None));

    // When the send gives up, its outcome is recorded on its own: a retry, after a wait that
    // counts from then.
    let b1 = recorded(&store, BAYO).await;
    assert_eq!((b1.state.as_str(), b1.attempts), ("pending", 1), "{b1:?}");
    assert!(b1.next_attempt_at.is_some_and(|at| at >= t(1 + 3 + 5)), "{b1:?}");
    assert!(sender.run_once(t(2)).await.unwrap().is_empty(), "not retried before its wait");
    assert_eq!(graph.sends().iter().filter(|s| s["to"] == BAYO).count(), 1, "sent once");
}

async fn a_rounds_outcomes_are_recorded_together_each_fenced_by_its_lease(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let customers: Vec<String> = (0..6).map(|n| format!("23480000001{n:02}")).collect();
    let mut ids = Vec::new();
    for customer in &customers {
        ids.push(queue(&store, customer, "hello").await);
    }
    let lease = Duration::from_secs(30);
    // The first is another sender's; the rest are ours.
    let theirs = store.claim_outbound("theirs", t(1), lease, 1).await.unwrap();
    assert_eq!(theirs.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[0]]);
    assert_eq!(store.claim_outbound("ours", t(1), lease, 10).await.unwrap().len(), 5);

    let settled = [
        (ids[0], Settlement::Sent { provider_message_id: "wamid.theirs".into(), via_template: false }),
        (ids[1], Settlement::Sent { provider_message_id: "wamid.1".into(), via_template: true }),
        (
            ids[2],
            Settlement::Failed {
                outside_window: false,
                code: Some(131_026),
                message: "undeliverable".into(),
            },
        ),
        (ids[3], Settlement::Failed { outside_window: true, code: None, message: "window closed".into() }),
        (ids[4], Settlement::Retry { at: t(60), code: Some(130_429), message: "throughput".into() }),
        (ids[5], Settlement::Postpone { at: t(7) }),
    ];
    let mut tx = store.begin().await.unwrap();
    let held = tx.settle_outbound_all("ours", t(2), &settled).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(held, [false, true, true, true, true, true]);

    let mut rows = Vec::new();
    for customer in &customers {
        rows.push(outbox(&store, customer).await.remove(0));
    }
    let summary = |r: &OutboxMessage| {
        (
            r.state.clone(),
            r.attempts,
            r.provider_message_id.clone(),
            r.via_template,
            r.error_code,
            r.error_message.clone(),
            r.next_attempt_at,
        )
    };
    let pending = |attempts, code, message: Option<&str>, at| {
        ("pending".to_owned(), attempts, None, false, code, message.map(str::to_owned), at)
    };
    assert_eq!(summary(&rows[0]), pending(1, None, None, None), "another sender's lease is not ours to end");
    assert_eq!(summary(&rows[1]), ("sent".to_owned(), 1, Some("wamid.1".to_owned()), true, None, None, None));
    assert_eq!(
        summary(&rows[2]),
        ("failed".to_owned(), 1, None, false, Some(131_026), Some("undeliverable".to_owned()), None)
    );
    assert_eq!(
        summary(&rows[3]),
        ("outside_window".to_owned(), 1, None, false, None, Some("window closed".to_owned()), None)
    );
    assert_eq!(summary(&rows[4]), pending(1, Some(130_429), Some("throughput"), Some(t(60))));
    assert_eq!(summary(&rows[5]), pending(0, None, None, Some(t(7))), "a postponement is not an attempt");

    // The leases ours ended are free: the postponement is due again, the retry is not yet, and
    // the other sender's lease still holds.
    let due: Vec<i64> =
        store.claim_outbound("next", t(30), lease, 10).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(due, [ids[5]]);
}
