//! A reply in flight when `serve` is killed with -9: Meta may have taken it although teller
//! never heard back. After the restart, the reply is looked for in what Meta has told teller
//! since (the status webhook that echoes its outbox id), waiting a bounded time for it, before
//! it is sent again: a customer who reads "✅ Sent ₦5,000.00" twice fears they paid twice.
//!
//! A fake Meta on loopback behaves like the real one: it takes each send, answers with an id,
//! and reports it in a signed status webhook, redelivered until teller answers 200.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use teller::config::SqlBackend;

use crate::harness::{FakeServer, TestDb, on_both_sql_backends};
use crate::lifecycle::{Served, teller};

const SECRET: &str = "crash-test-secret";

/// What the fake Meta does with sends: which customers' first send it takes but never answers
/// (the instance dies waiting), how late it reports a taken send, and where teller is now.
#[derive(Clone, Default)]
struct Meta {
    sends: Arc<Mutex<Vec<Value>>>,
    hang_first_to: Arc<Mutex<Vec<String>>>,
    status_delay: Arc<Mutex<Duration>>,
    teller: Arc<Mutex<String>>,
}

impl Meta {
    /// Reports send `callback` as taken under `wamid`, after the configured delay, again and
    /// again until teller answers 200 (it may be down meanwhile), as Meta redelivers.
    fn report(&self, to: String, wamid: String, callback: String) {
        let meta = self.clone();
        tokio::spawn(async move {
            let delay = *meta.status_delay.lock().unwrap();
            tokio::time::sleep(delay).await;
            let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111", "phone_number_id": crate::harness::FAKE_PHONE_NUMBER_ID},
                "statuses": [{"id": wamid, "status": "sent", "timestamp": chrono::Utc::now().timestamp().to_string(),
                              "recipient_id": to, "biz_opaque_callback_data": callback}]}}]}]})
            .to_string()
            .into_bytes();
            let client = reqwest::Client::new();
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                let url = format!("{}/webhook", meta.teller.lock().unwrap());
                if crate::harness::post_signed(client.clone(), url, SECRET, body.clone()).await == 200 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }

    async fn start(self) -> FakeServer {
        let router = axum::Router::new()
            .route(
                "/{version}/{number}/messages",
                post(|State(meta): State<Meta>, Json(body): Json<Value>| async move {
                    if body["status"] == "read" {
                        return Json(json!({"success": true}));
                    }
                    let to = body["to"].as_str().unwrap_or_default().to_owned();
                    let callback = body["biz_opaque_callback_data"].as_str().unwrap_or_default().to_owned();
                    let n = {
                        let mut sends = meta.sends.lock().unwrap();
                        sends.push(body.clone());
                        sends.len()
                    };
                    let wamid = format!("wamid.meta.{n}");
                    meta.report(to.clone(), wamid.clone(), callback);
                    let hang = {
                        let mut hang = meta.hang_first_to.lock().unwrap();
                        let found = hang.iter().position(|h| *h == to);
                        found.map(|i| hang.remove(i)).is_some()
                    };
                    if hang {
                        // Taken, and never answered: the instance is killed while it waits.
                        std::future::pending::<()>().await;
                    }
                    Json(json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                                "messages": [{"id": wamid}]}))
                }),
            )
            .with_state(self);
        FakeServer::start(router).await
    }

    /// Sends Meta received, by the outbox id they carried.
    fn by_callback(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for send in self.sends.lock().unwrap().iter() {
            *counts
                .entry(send["biz_opaque_callback_data"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
        counts
    }
}

on_both_sql_backends!(a_reply_in_flight_at_kill_9_is_not_sent_again_when_meta_took_it);

/// The reply to a customer is taken by Meta, then `serve` dies before hearing back. Meta's
/// status for it is delayed (teller was down when it first tried) past the moment the reply's
/// lease runs out. Before, the restarted teller found no status yet and sent the reply again;
/// now it waits, finds Meta's word, and records it sent: one send.
async fn a_reply_in_flight_at_kill_9_is_not_sent_again_when_meta_took_it(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let meta = Meta::default();
    *meta.status_delay.lock().unwrap() = Duration::from_secs(10);
    meta.hang_first_to.lock().unwrap().push("2348030000071".into());
    let graph = meta.clone().start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("WHATSAPP_APP_SECRET", SECRET),
        ("WHATSAPP_ACCESS_TOKEN", "meta-token"),
        ("WHATSAPP_PHONE_NUMBER_ID", crate::harness::FAKE_PHONE_NUMBER_ID),
        ("WHATSAPP_API_BASE_URL", graph.url.as_str()),
        ("WHATSAPP_SEND_TIMEOUT_SECS", "1"),
        ("OUTBOX_LEASE_SECS", "6"),
        ("OUTBOX_UNKNOWN_WAIT_SECS", "30"),
        ("WHATSAPP_PAIR_BURST", "45"),
    ];
    let served = Served::start(teller(dir.path(), &["serve"], &env));
    *meta.teller.lock().unwrap() = format!("http://127.0.0.1:{}", served.port);
    let now = chrono::Utc::now().timestamp();
    let body = crate::harness::text_notification_at("2348030000071", "wamid.crash.1", "menu", now);
    let url = format!("http://127.0.0.1:{}/webhook", served.port);
    assert_eq!(crate::harness::post_signed(reqwest::Client::new(), url, SECRET, body).await, 200);
    // The reply reaches Meta, which takes it and never answers.
    let deadline = Instant::now() + Duration::from_secs(15);
    while meta.sends.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the reply never reached Meta");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    served.kill();

    let restarted = Served::start(teller(dir.path(), &["serve"], &env));
    *meta.teller.lock().unwrap() = format!("http://127.0.0.1:{}", restarted.port);
    let deadline = Instant::now() + Duration::from_secs(40);
    let reply = loop {
        let outbox = store.outbox_for_recipient("wa:2348030000071").await.unwrap();
        if let Some(sent) = outbox.iter().find(|m| m.state == "sent") {
            break sent.clone();
        }
        assert!(Instant::now() < deadline, "the reply was never recorded: {outbox:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let sent = meta.by_callback();
    assert_eq!(sent.get(&reply.id.to_string()), Some(&1), "sent once, not again after the restart: {sent:?}");
    assert_eq!(reply.provider_message_id.as_deref(), Some("wamid.meta.1"), "recorded from Meta's status");
    assert_eq!(restarted.terminate().0.code(), Some(0));
}
