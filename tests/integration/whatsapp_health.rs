//! The business account's health from Meta's signed webhooks, on both backends: template status
//! and quality and the number's rating are kept (a late, older event changes nothing), shown to
//! admins, and raised as alerts once; a paused template holds the sends that need it (a reminder
//! outside the window) without asking Meta again, and they go once it is approved.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::json;
use teller::config::SqlBackend;
use teller::metrics::Metrics;
use teller::outbox::SendOutcome;
use teller::whatsapp::health;
use teller::whatsapp::notification::Notification;

use crate::admin::{bearer, make_admin};
use crate::harness::{Answer, FakeGraph, TestApp, TestDb};
use crate::outbox::{customer_wrote, outbox, queue, sender};

crate::harness::on_both_sql_backends!(
    template_and_number_events_are_kept_shown_and_alerted_once,
    a_paused_template_holds_a_reminder_until_it_is_approved_and_never_loops_on_metas_refusal,
    a_form_meta_will_not_send_goes_as_its_question_in_text,
);

const SECRET: &str = "test-app-secret";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/whatsapp/");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}{name}")).unwrap()
}

/// A template status event for `name` in `language` at Unix `time`.
fn status_event(name: &str, language: &str, event: &str, time: i64) -> Vec<u8> {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "210987654321098", "time": time, "changes": [{
        "field": "message_template_status_update",
        "value": {"event": event, "message_template_id": 804_417_730_052_213_i64, "message_template_name": name,
                  "message_template_language": language, "reason": null}}]}]})
    .to_string()
    .into_bytes()
}

async fn webhook(app: &TestApp, body: Vec<u8>) {
    let status = crate::harness::post_signed(app.client.clone(), app.url("/webhook"), SECRET, body).await;
    assert_eq!(status, 200);
}

fn alerts(metrics: &str, kind: &str) -> String {
    let line = format!("teller_whatsapp_alerts_total{{outcome=\"{kind}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&line)).unwrap_or("0").to_owned()
}

async fn template_and_number_events_are_kept_shown_and_alerted_once(backend: SqlBackend) {
    let app = TestApp::spawn_signed(backend, SECRET, &[]).await;
    // Signed as the fixtures' README gives them; each delivered twice, as Meta retries.
    for _ in 0..2 {
        webhook(&app, fixture("13_template_status_and_quality.json")).await;
        webhook(&app, fixture("14_phone_number_quality_update.json")).await;
    }
    // The Flows endpoint's health as Meta sees it.
    let flows = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "time": 1_795_003_700, "changes": [{
        "field": "flows", "value": {"event": "ENDPOINT_ERROR_RATE", "flow_id": "222", "threshold": 10,
                                    "message": "The endpoint's error rate passed 10%"}}]}]});
    webhook(&app, flows.to_string().into_bytes()).await;
    // An APPROVED older than the pause, delivered late: the pause stands.
    webhook(&app, status_event("teller_low_balance_alert", "en_US", "APPROVED", 1_795_000_000)).await;

    let viewer = make_admin(app.state.store.as_ref(), "viewer@bank.example", "viewer").await;
    let session = bearer(&app, &viewer, 0).await;
    let (status, health) = session.get(&app, "/admin/api/whatsapp").await;
    assert_eq!(status, StatusCode::OK, "{health}");
    let template = &health["templates"][0];
    assert_eq!(
        (&template["name"], &template["language"], &template["status"], &template["status_reason"]),
        (&json!("teller_low_balance_alert"), &json!("en_US"), &json!("PAUSED"), &json!("FIRST_PAUSE"))
    );
    assert_eq!((&template["quality"], &template["sending"]), (&json!("RED"), &json!("held until approved")));
    assert_eq!(template["template_id"], "804417730052213");
    let number = &health["numbers"][0];
    assert_eq!(
        (&number["display_phone_number"], &number["event"], &number["tier"]),
        (&json!("15550123456"), &json!("DOWNGRADE"), &json!("TIER_2K"))
    );
    // Each warning raised once, however often it was delivered.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for kind in
        ["template_paused", "template_quality_red", "number_flagged", "number_downgraded", "flow_health"]
    {
        assert_eq!(alerts(&metrics, kind), "1", "{kind}: {metrics}");
    }
    // Approved again, later: shown as sendable; no alert for good news.
    webhook(&app, status_event("teller_low_balance_alert", "en_US", "APPROVED", 1_795_010_000)).await;
    let (_, health) = session.get(&app, "/admin/api/whatsapp").await;
    assert_eq!(
        (&health["templates"][0]["status"], &health["templates"][0]["sending"]),
        (&json!("APPROVED"), &json!("sent"))
    );
    // Agents handle tickets only: the account's health is not theirs.
    let agent = make_admin(app.state.store.as_ref(), "agent@bank.example", "agent").await;
    let (status, refused) = bearer(&app, &agent, 0).await.get(&app, "/admin/api/whatsapp").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
}

async fn a_paused_template_holds_a_reminder_until_it_is_approved_and_never_loops_on_metas_refusal(
    backend: SqlBackend,
) {
    const ADA: &str = "2348000000031";
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    let alerts = Metrics::new().whatsapp_alerts;
    let apply = |body: Vec<u8>, now| {
        let store = store.clone();
        let alerts = alerts.clone();
        async move {
            let notification = Notification::parse(&body).unwrap();
            health::apply(store.as_ref(), &notification.account, &alerts, now).await.unwrap()
        }
    };
    let now = Utc::now();
    // The customer last wrote days ago: the reminder goes as the window template.
    customer_wrote(&store, ADA, "wamid.old", 0).await;
    queue(&store, ADA, "Your loan payment is due tomorrow").await;
    let sender = sender(&store, &graph, &[("WHATSAPP_WINDOW_TEMPLATE", "reopen_chat")]);
    apply(status_event("reopen_chat", "en", "PAUSED", now.timestamp() - 60), now).await;

    // Held: nothing reaches Meta, and waiting is not an attempt.
    assert_eq!(sender.run_once(now).await.unwrap(), [SendOutcome::Postponed]);
    assert_eq!(sender.run_once(now + Duration::minutes(5)).await.unwrap(), []);
    assert!(graph.sends().is_empty(), "{:?}", graph.sends());
    let row = &outbox(&store, ADA).await[0];
    assert_eq!((row.state.as_str(), row.attempts), ("pending", 0));
    // Approved: the held send is due at once and goes.
    let approved = apply(
        status_event("reopen_chat", "en", "APPROVED", now.timestamp() + 60),
        now + Duration::minutes(6),
    )
    .await;
    assert!(approved.resumed);
    assert_eq!(sender.run_once(now + Duration::minutes(6)).await.unwrap(), [SendOutcome::Sent]);
    assert_eq!(graph.sends()[0]["template"]["name"], "reopen_chat");

    // Meta refuses at send time (132015: paused) before its webhook came: recorded, then held
    // without asking Meta again, until a pause could have ended.
    graph.script([Answer::Error(400, 132_015)]);
    queue(&store, ADA, "Your loan payment is due today").await;
    let later = now + Duration::minutes(10);
    assert_eq!(sender.run_once(later).await.unwrap(), [SendOutcome::Postponed]);
    assert_eq!(sender.run_once(later + Duration::minutes(20)).await.unwrap(), [SendOutcome::Postponed]);
    assert_eq!(sender.run_once(later + Duration::hours(3)).await.unwrap(), [SendOutcome::Postponed]);
    assert_eq!(graph.sends().len(), 2, "one refused send, not a loop: {:?}", graph.sends());
    assert_eq!(sender.run_once(later + Duration::hours(7)).await.unwrap(), [SendOutcome::Sent]);
    let rows = outbox(&store, ADA).await;
    assert_eq!((rows[1].state.as_str(), rows[1].attempts), ("sent", 1), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_a_paused_template_and_the_numbers_limit() {
    let app = TestApp::spawn_signed(SqlBackend::Sqlite, SECRET, &[]).await;
    let viewer = make_admin(app.state.store.as_ref(), "viewer@bank.example", "viewer").await;
    let driver = crate::browser::Driver::start().await;
    crate::admin_console::sign_in(&driver, &app, &viewer).await;
    driver.click("a[data-nav='whatsapp']").await;
    driver.wait_in("#whatsapp-summary", "Every reported template can be sent.").await;
    driver.wait_in("#view", "Meta has not reported on the number yet.").await;

    webhook(&app, fixture("13_template_status_and_quality.json")).await;
    webhook(&app, fixture("14_phone_number_quality_update.json")).await;
    driver.go(&app.url("/admin#/flows")).await;
    driver.click("a[data-nav='whatsapp']").await;
    driver.wait_in("#whatsapp-summary", "1 template(s) cannot be sent now").await;
    let templates = driver.wait_in("#whatsapp-templates", "Paused by Meta (FIRST_PAUSE)").await;
    assert!(
        templates.contains("teller_low_balance_alert") && templates.contains("held until approved"),
        "{templates}"
    );
    assert!(templates.contains("Low"), "the quality, in words: {templates}");
    let numbers = driver.wait_in("#whatsapp-numbers", "TIER_2K").await;
    assert!(numbers.contains("15550123456") && numbers.contains("DOWNGRADE"), "{numbers}");
    driver.quit().await;
}

async fn a_form_meta_will_not_send_goes_as_its_question_in_text(backend: SqlBackend) {
    const ADA: &str = "2348000000032";
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let graph = FakeGraph::start().await;
    // A Flow blocked for its endpoint's health: Meta refuses the form for good.
    graph.script([Answer::Error(400, 139_001)]);
    let now = Utc::now();
    customer_wrote(&store, ADA, "wamid.in", (now.timestamp() - 1_795_000_000) - 60).await;
    let form = teller::whatsapp::form::Form::new(
        "Enter your PIN to send ₦5,000.00 to Ada O.",
        "Enter PIN",
        "teller_forms",
        "ft_1",
        "PIN_ENTRY",
        json!({"prompt": "Enter your PIN", "error_message": ""}),
    )
    .unwrap();
    let body = teller::whatsapp::outbound::Outbound::from(form).to_body();
    let mut tx = store.begin().await.unwrap();
    let key = format!("wa:{ADA}");
    let message = teller::store::NewOutboxMessage {
        recipient_key: &key,
        wa_id: Some(ADA),
        bsuid: None,
        in_reply_to: None,
        body: &body,
        window_from: None,
        created_at: now,
        scrub_after: None,
        question: None,
    };
    tx.enqueue_outbound(&message).await.unwrap();
    tx.commit().await.unwrap();

    let sender = sender(&store, &graph, &[]);
    assert_eq!(sender.run_once(now).await.unwrap(), [SendOutcome::Sent]);
    let sends = graph.sends();
    assert_eq!(sends.len(), 2, "{sends:?}");
    assert_eq!(sends[0]["interactive"]["type"], "flow");
    assert_eq!(sends[1]["type"], "text", "the question, as text: {sends:?}");
    assert_eq!(sends[1]["text"]["body"], "Enter your PIN to send ₦5,000.00 to Ada O.");
    assert_eq!(outbox(&store, ADA).await[0].state, "sent");
}
