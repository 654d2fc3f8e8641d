//! The WhatsApp webhook: the handshake, signatures, and the durable, deduplicated inbox.
//! Storage-touching tests run on both SQL backends.

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use teller::config::{Config, SqlBackend};
use teller::signature;
use teller::store::InboxCounts;
use tower::ServiceExt;

use crate::harness::{self, KvKind, TestApp, TestDb, on_both_sql_backends, text_notification};

const SECRET: &str = "test-app-secret";
const VERIFY_TOKEN: &str = "verify-me";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/whatsapp");

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

/// A webhook-ready app on `backend`: the app secret and verify token set.
async fn app(backend: SqlBackend) -> TestApp {
    app_with(backend, &[("WHATSAPP_APP_SECRET", SECRET), ("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)]).await
}

async fn app_with(backend: SqlBackend, vars: &[(&str, &str)]) -> TestApp {
    let db = TestDb::new(backend).await;
    db.store().await.close().await;
    let mut env = harness::base_env(&db);
    env.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    TestApp::spawn_with(harness::config(env, harness::kv_config(KvKind::Memory)), db, |r| r).await
}

async fn post(app: &TestApp, body: &[u8], signature: Option<&str>) -> u16 {
    let mut request = app.client.post(app.url("/webhook")).header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    request.body(body.to_vec()).send().await.unwrap().status().as_u16()
}

async fn post_signed(app: &TestApp, body: &[u8]) -> u16 {
    post(app, body, Some(&signature::sign(SECRET.as_bytes(), body))).await
}

async fn counts(app: &TestApp) -> InboxCounts {
    app.state.store.inbox_counts().await.unwrap()
}

fn status(message_id: &str, status: &str) -> Vec<u8> {
    let mut entry = json!({"id": message_id, "status": status, "timestamp": "1795000100", "recipient_id": "2348012345621"});
    if status == "failed" {
        entry["errors"] = json!([{"code": 131026, "title": "Message undeliverable"}]);
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "statuses": [entry]}}]}]})
    .to_string()
    .into_bytes()
}

on_both_sql_backends!(
    every_fixture_is_accepted_and_queued_once_per_message,
    redeliveries_in_any_order_are_stored_once,
    a_bad_or_missing_signature_is_401_and_stores_nothing,
    a_signed_body_that_cannot_be_understood_is_kept_for_inspection_and_answered_200,
    statuses_only_ever_move_forward,
    a_senders_messages_are_queued_in_arrival_order,
    webhooks_arriving_together_are_stored_together_each_once,
    a_message_in_hand_is_named_by_the_dispatcher_and_the_sender_as_the_intake_names_it,
);

async fn every_fixture_is_accepted_and_queued_once_per_message(backend: SqlBackend) {
    let app = app(backend).await;
    for (name, body) in fixtures() {
        assert_eq!(post_signed(&app, &body).await, 200, "{name}");
    }
    let counts = counts(&app).await;
    // 16 messages across the fixtures; statuses: one message sent→delivered→read, one failed;
    // two payloads of account events (templates, the number), kept as they came.
    assert_eq!(counts, InboxCounts { payloads: 14, payloads_with_problems: 0, messages: 16, statuses: 2 });

    let username = app.state.store.inbox_for_sender("bsuid:DE.90817263544536271809").await.unwrap();
    assert_eq!(username.len(), 1, "a username customer is queued under their BSUID");
    assert_eq!(username[0].kind, "contacts");
    let media = app.state.store.inbox_for_sender("wa:5511987654321").await.unwrap();
    let kinds: Vec<_> = media.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "text",
            "button_reply",
            "quick_reply",
            "image",
            "audio",
            "video",
            "document",
            "sticker",
            "unsupported"
        ]
    );

    let failed = app.state.store.delivery_status("wamid.HBgL8E3HluKgT+").await.unwrap();
    assert!(failed.is_none(), "ids are matched exactly, not by prefix");
}

async fn redeliveries_in_any_order_are_stored_once(backend: SqlBackend) {
    let app = app(backend).await;
    let batch = fixture("07_media_audio_video_document_sticker.json");
    let single = fixture("01_text_forwarded.json");
    // Three deliveries of each, interleaved and concurrent, as Meta's retries arrive.
    let mut sends = Vec::new();
    for body in [&batch, &single, &batch, &single, &single, &batch] {
        sends.push(tokio::spawn(harness::post_signed(
            app.client.clone(),
            app.url("/webhook"),
            SECRET,
            body.clone(),
        )));
    }
    for send in sends {
        assert_eq!(send.await.unwrap(), 200);
    }
    let counts = counts(&app).await;
    assert_eq!(counts.messages, 5, "4 media messages and 1 text, each once");
    assert_eq!(counts.payloads, 2, "one body each: a redelivery keeps no second copy of a message");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"teller_inbox_total{outcome="new"} 5"#), "{metrics}");
    assert!(metrics.contains(r#"teller_inbox_total{outcome="duplicate"} 10"#), "{metrics}");
}

async fn a_bad_or_missing_signature_is_401_and_stores_nothing(backend: SqlBackend) {
    let app = app(backend).await;
    let body = fixture("02_interactive_button_reply.json");
    let good = signature::sign(SECRET.as_bytes(), &body);
    let mut tampered = body.clone();
    tampered[body.len() / 2] ^= 0x20;
    assert_eq!(post(&app, &tampered, Some(&good)).await, 401, "a changed byte");
    assert_eq!(post(&app, &body, None).await, 401, "no header");
    assert_eq!(post(&app, &body, Some("sha256=")).await, 401, "empty signature");
    let foreign = signature::sign(b"someone-elses-secret", &body);
    assert_eq!(post(&app, &body, Some(&foreign)).await, 401, "another app's secret");
    assert_eq!(counts(&app).await, InboxCounts::default());

    // With no app secret configured nothing can verify, so nothing is accepted at all.
    let unconfigured = app_with(backend, &[]).await;
    assert_eq!(post(&unconfigured, &body, Some(&good)).await, 401);
    assert_eq!(counts(&unconfigured).await, InboxCounts::default());
    let metrics = unconfigured.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"teller_webhooks_total{outcome="unverified"} 1"#), "{metrics}");
}

async fn a_signed_body_that_cannot_be_understood_is_kept_for_inspection_and_answered_200(
    backend: SqlBackend,
) {
    let app = app(backend).await;
    for body in [
        &b"this is not json"[..],
        b"[1,2,3]",
        br#"{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"type":"text"}]}}]}]}"#,
    ] {
        assert_eq!(post_signed(&app, body).await, 200, "{}", String::from_utf8_lossy(body));
    }
    let counts = counts(&app).await;
    assert_eq!(counts.payloads, 3);
    assert_eq!(counts.payloads_with_problems, 3);
    assert_eq!(counts.messages, 0);
}

async fn statuses_only_ever_move_forward(backend: SqlBackend) {
    let app = app(backend).await;
    let stored = |id: &'static str| {
        let store = app.state.store.clone();
        async move { store.delivery_status(id).await.unwrap().map(|s| s.status) }
    };
    for step in ["sent", "read", "delivered", "sent"] {
        assert_eq!(post_signed(&app, &status("wamid.A", step)).await, 200);
    }
    assert_eq!(stored("wamid.A").await.as_deref(), Some("read"), "a late sent or delivered changes nothing");

    for step in ["sent", "failed", "delivered", "read"] {
        assert_eq!(post_signed(&app, &status("wamid.B", step)).await, 200);
    }
    let failed = app.state.store.delivery_status("wamid.B").await.unwrap().unwrap();
    assert_eq!(failed.status, "failed", "failed is final");
    assert_eq!(failed.error_code, Some(131026));
}

async fn a_senders_messages_are_queued_in_arrival_order(backend: SqlBackend) {
    let app = app(backend).await;
    for n in 0..5 {
        let body = text_notification("2348012345621", &format!("wamid.order{n}"), &format!("message {n}"), 0);
        assert_eq!(post_signed(&app, &body).await, 200);
    }
    let queued = app.state.store.inbox_for_sender("wa:2348012345621").await.unwrap();
    let ids: Vec<_> = queued.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids, ["wamid.order0", "wamid.order1", "wamid.order2", "wamid.order3", "wamid.order4"]);
    assert!(queued.windows(2).all(|w| w[0].seq < w[1].seq));
}

/// Webhooks that arrive together share a commit (group commit at the door): each is answered
/// with what it alone changed, only once it is stored, and a message delivered twice within one
/// group is still kept once. (They arrive in any order: `join_all` polls as it likes.)
async fn webhooks_arriving_together_are_stored_together_each_once(backend: SqlBackend) {
    let app = app(backend).await;
    let wake = Arc::new(teller::wake::Wake::default());
    let intake = teller::whatsapp::intake::Intake::start(app.state.store.clone(), 1, wake.clone());
    let webhook = |n: usize| {
        // Every fifth is a redelivery of the one before it.
        let id = if n % 5 == 4 { n - 1 } else { n };
        let body =
            text_notification(&format!("23480100{:05}", id % 40), &format!("wamid.group{id}"), "hi", 0);
        let notification = teller::whatsapp::notification::Notification::parse(&body).unwrap();
        (bytes::Bytes::from(body), notification)
    };
    let accepted = futures_util::future::join_all((0..200).map(|n| {
        let (body, notification) = webhook(n);
        intake.accept(body, notification, None, chrono::Utc::now())
    }))
    .await;
    let accepted: Vec<_> = accepted.into_iter().map(Result::unwrap).collect();
    let accepted_at = |n: usize| accepted[n];
    for (n, accepted) in accepted.iter().enumerate() {
        assert_eq!(accepted.new_messages + accepted.duplicates, 1, "webhook {n}: one message");
        match n % 5 {
            // A message and its redelivery: whichever was stored first is the new one.
            3 => assert_eq!(accepted.new_messages + accepted_at(n + 1).new_messages, 1, "webhook {n}"),
            4 => {}
            _ => assert_eq!(accepted.new_messages, 1, "webhook {n} answered with its own part"),
        }
    }
    let counts = counts(&app).await;
    assert_eq!(counts.messages, 160, "each message kept once");
    // The dispatcher is woken once a commit, not once a webhook, for every sender stored.
    let signals = wake.signals();
    assert!((4..=10).contains(&signals), "{signals} wake-ups for 200 webhooks in groups of up to 64");
    let sender = teller::wake::key("wa:2348010000003");
    assert!(wake.concerns(0, &[sender]), "each wake-up names the senders of its commit");
    assert!(!wake.concerns(0, &[teller::wake::key("wa:2348010000004")]), "and no one else");
    let one = app.state.store.inbox_for_sender("wa:2348010000003").await.unwrap();
    let mut ids: Vec<_> = one.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["wamid.group123", "wamid.group163", "wamid.group3", "wamid.group43", "wamid.group83"]);
}

#[tokio::test]
async fn two_instances_sharing_postgres_store_each_message_once() {
    let first = app(SqlBackend::Postgres).await;
    let env = [
        ("PORT", "0".to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
        ("DATABASE_URL", first.state.config.database.url.expose_secret().to_owned()),
        ("WHATSAPP_APP_SECRET", SECRET.to_owned()),
        ("WHATSAPP_SANDBOX", "true".to_owned()),
        ("SECRETS_KEY", harness::TEST_SECRETS_KEY.to_owned()),
    ];
    let config = Config::from_vars(env.map(|(k, v)| (k.to_owned(), v))).unwrap();
    let second = TestApp::spawn_sharing(config).await;

    // 20 customers × 5 messages, each delivered three times, shuffled over both instances.
    let mut deliveries = Vec::new();
    for customer in 0..20 {
        for n in 0..5 {
            let body = text_notification(
                &format!("23480100000{customer:02}"),
                &format!("wamid.c{customer}m{n}"),
                "menu",
                0,
            );
            for copy in 0..3 {
                deliveries.push((body.clone(), (customer + n + copy) % 2 == 0));
            }
        }
    }
    deliveries.sort_by_key(|(body, _)| signature::sign(b"shuffle", body));
    let sends: Vec<_> = deliveries
        .into_iter()
        .map(|(body, to_first)| {
            let url = if to_first { first.url("/webhook") } else { second.url("/webhook") };
            tokio::spawn(harness::post_signed(first.client.clone(), url, SECRET, body))
        })
        .collect();
    for send in sends {
        assert_eq!(send.await.unwrap(), 200);
    }
    assert_eq!(counts(&first).await.messages, 100);
    for customer in 0..20 {
        let queued =
            first.state.store.inbox_for_sender(&format!("wa:23480100000{customer:02}")).await.unwrap();
        assert_eq!(queued.len(), 5, "customer {customer}");
    }
}

#[tokio::test]
async fn the_handshake_echoes_the_challenge_only_for_our_token() {
    let app = app(SqlBackend::Sqlite).await;
    let get = |query: &str| app.client.get(app.url(&format!("/webhook?{query}"))).send();
    let ok = get("hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    for query in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1",
        "hub.mode=subscribe&hub.challenge=1",
        "hub.mode=subscribe&hub.verify_token=verify-me",
        "",
    ] {
        assert_eq!(get(query).await.unwrap().status(), 403, "{query}");
    }
    let unconfigured = app_with(SqlBackend::Sqlite, &[]).await;
    let response = unconfigured
        .client
        .get(unconfigured.url("/webhook?hub.mode=subscribe&hub.verify_token=&hub.challenge=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "no configured token matches anything, not even an empty one");
}

/// A wake-up's names for one message agree from end to end: once the dispatcher has claimed a
/// webhook's message and the sender its replies, a signal naming it as the intake does is no
/// signal on either queue. (Named any other way, each would wake a worker for work in hand.)
async fn a_message_in_hand_is_named_by_the_dispatcher_and_the_sender_as_the_intake_names_it(
    backend: SqlBackend,
) {
    let app = app(backend).await;
    let now = chrono::Utc::now().timestamp();
    let body = harness::text_notification_at("2348012345631", "wamid.inhand1", "hi", now);
    assert_eq!(post_signed(&app, &body).await, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let replies = app.state.store.outbox_for_recipient("wa:2348012345631").await.unwrap();
        if !replies.is_empty() && replies.iter().all(|m| m.state == "sent") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the greeting was not sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (inbox, outbox) = (&app.state.wake, &app.state.outbox_wake);
    let before = (inbox.signals(), outbox.signals());
    let in_hand = teller::wake::Name::of("wa:2348012345631", "wamid.inhand1");
    inbox.signal_for(&[in_hand]);
    outbox.signal_for(&[in_hand]);
    assert_eq!((inbox.signals(), outbox.signals()), before, "both claims told their wake-ups");
    inbox.signal_for(&[teller::wake::Name::of("wa:2348012345631", "wamid.inhand2")]);
    assert_eq!(inbox.signals(), before.0 + 1, "work no claim took is still a signal");
}

#[tokio::test]
async fn with_the_store_down_a_valid_webhook_is_answered_503_so_meta_retries() {
    let state = harness::state_with_unreachable_postgres(&[("WHATSAPP_APP_SECRET", SECRET)]).await;
    let body = fixture("01_text_forwarded.json");
    let request = axum::http::Request::post("/webhook")
        .header("x-hub-signature-256", signature::sign(SECRET.as_bytes(), &body))
        .body(axum::body::Body::from(body))
        .unwrap();
    let response = teller::http::router(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value =
        serde_json::from_slice(&axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap()).unwrap();
    assert_eq!(body["error"], "service unavailable");
}

#[tokio::test]
async fn while_postgres_is_down_webhooks_get_503_and_after_it_returns_nothing_is_lost() {
    let db = TestDb::new(SqlBackend::Postgres).await;
    db.store().await.close().await;
    let mut url = url::Url::parse(&db.url).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap()).parse().unwrap();
    let proxy = harness::TcpProxy::start(target).await;
    url.set_port(Some(proxy.port)).unwrap();
    let mut env = harness::base_env(&db);
    env.insert("DATABASE_URL".into(), url.to_string());
    env.insert("WHATSAPP_APP_SECRET".into(), SECRET.into());
    let app = TestApp::spawn_with(harness::config(env, harness::kv_config(KvKind::Memory)), db, |r| r).await;
    let now = chrono::Utc::now().timestamp();
    let message = |id: &str, n: i64| harness::text_notification_at("2348000000042", id, "menu", now + n);
    let post = |body: Vec<u8>| harness::post_signed(app.client.clone(), app.url("/webhook"), SECRET, body);

    assert_eq!(post(message("wamid.before", 0)).await, 200);
    proxy.stop();
    // Meta gets 503 for everything it sends meanwhile, and so will deliver it again.
    assert_eq!(post(message("wamid.during", 1)).await, 503);
    assert_eq!(post(message("wamid.before", 0)).await, 503, "a redelivery too");

    proxy.restart().await;
    // Meta's retries arrive: the one answered 503 is taken now, the other is a duplicate.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while post(message("wamid.during", 1)).await != 200 {
        assert!(std::time::Instant::now() < deadline, "the app did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(post(message("wamid.before", 0)).await, 200);

    // Both messages handled once, and both answered once, in order.
    let store = app.state.store.clone();
    loop {
        let outbox = store.outbox_for_recipient("wa:2348000000042").await.unwrap();
        if outbox.len() == 2 && outbox.iter().all(|m| m.state == "sent") {
            let answered: Vec<_> = outbox.iter().map(|m| m.in_reply_to.clone().unwrap()).collect();
            assert_eq!(answered, ["wamid.before", "wamid.during"]);
            break;
        }
        assert!(outbox.len() <= 2, "a message was answered twice");
        assert!(std::time::Instant::now() < deadline, "not every message was answered: {outbox:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let inbox = store.inbox_for_sender("wa:2348000000042").await.unwrap();
    assert_eq!(inbox.len(), 2);
    assert!(inbox.iter().all(|m| m.state == "done"));
}
