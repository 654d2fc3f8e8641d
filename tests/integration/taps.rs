//! Taps on old buttons, through the whole pipeline (signed webhooks, the dispatcher, the engine,
//! the outbox and a fake Graph API that gives each reply its own id): a tap counts only on the
//! question the customer is being asked now.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use teller::config::SqlBackend;
use teller::store::OutboxMessage;

use crate::harness::{self, FakeGraph, TestApp, TestDb, on_both_sql_backends};

const SECRET: &str = "taps-secret";
const TUNDE: &str = "2348031234521";

on_both_sql_backends!(a_tap_on_an_earlier_confirmation_does_not_confirm_the_one_pending_now);

struct Chat {
    app: TestApp,
    _graph: FakeGraph,
    sent: i64,
}

impl Chat {
    async fn start(backend: SqlBackend) -> Chat {
        let graph = FakeGraph::start().await;
        let db = TestDb::new(backend).await;
        db.store().await.close().await;
        let mut env = harness::base_env(&db);
        env.insert("WHATSAPP_APP_SECRET".into(), SECRET.into());
        env.insert("WHATSAPP_PAIR_BURST".into(), "45".into());
        env.extend(graph.env());
        let kv = match backend {
            SqlBackend::Postgres => harness::KvKind::Redis,
            SqlBackend::Sqlite => harness::KvKind::Memory,
        };
        let app = TestApp::spawn_with(harness::config(env, harness::kv_config(kv)), db, |r| r).await;
        Chat { app, _graph: graph, sent: 0 }
    }

    /// Posts `message` from Tunde; returns the replies to it once each was sent.
    async fn post(&mut self, mut message: Value) -> Vec<OutboxMessage> {
        self.sent += 1;
        let id = format!("wamid.tap.{}", self.sent);
        message["from"] = json!(TUNDE);
        message["id"] = json!(id);
        message["timestamp"] = json!((chrono::Utc::now().timestamp() - 60 + self.sent).to_string());
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": harness::FAKE_PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Tunde"}, "wa_id": TUNDE}],
            "messages": [message]}}]}]});
        let status = harness::post_signed(
            self.app.client.clone(),
            self.app.url("/webhook"),
            SECRET,
            body.to_string().into_bytes(),
        )
        .await;
        assert_eq!(status, 200);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let handled = self
                .app
                .state
                .store
                .inbox_for_sender(&format!("wa:{TUNDE}"))
                .await
                .unwrap()
                .iter()
                .any(|m| m.message_id == id && m.state == "done");
            let replies: Vec<OutboxMessage> = self
                .app
                .state
                .store
                .outbox_for_recipient(&format!("wa:{TUNDE}"))
                .await
                .unwrap()
                .into_iter()
                .filter(|m| m.in_reply_to.as_deref() == Some(id.as_str()))
                .collect();
            if handled && replies.iter().all(|r| r.state == "sent") {
                return replies;
            }
            assert!(Instant::now() < deadline, "no reply to {id}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn say(&mut self, text: &str) -> Vec<OutboxMessage> {
        self.post(json!({"type": "text", "text": {"body": text}})).await
    }

    /// Taps button `option` on the reply Meta knows as `on`.
    async fn tap(&mut self, option: &str, on: &str) -> Vec<OutboxMessage> {
        self.post(json!({"type": "interactive", "context": {"from": "15550001111", "id": on},
                          "interactive": {"type": "button_reply", "button_reply": {"id": option, "title": option}}}))
        .await
    }
}

/// What the customer reads in `replies`.
fn read(replies: &[OutboxMessage]) -> String {
    replies
        .iter()
        .map(|m| {
            let body = &m.body.0;
            body.pointer("/text/body")
                .or_else(|| body.pointer("/interactive/body/text"))
                .map_or_else(String::new, |t| t.as_str().unwrap_or_default().to_owned())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Meta's id of the reply that asks something (the last with buttons).
fn asking(replies: &[OutboxMessage]) -> String {
    let reply =
        replies.iter().rev().find(|m| m.body.0["type"] == "interactive").expect("a question with buttons");
    reply.provider_message_id.clone().expect("sent")
}

/// "Confirm" on a cancelled ₦1,000 to Bola approved a pending ₦45,000 to Chi. A tap names
/// the message it was on: on an earlier question it is refused, with a clear line, and changes
/// nothing; the PIN prompt says what it approves.
async fn a_tap_on_an_earlier_confirmation_does_not_confirm_the_one_pending_now(backend: SqlBackend) {
    let mut chat = Chat::start(backend).await;
    let bank = chat.app.state.bank.clone();
    crate::conversations::customer(&bank, TUNDE, "Tunde Bakare", "4821", Some("100,000")).await;
    crate::conversations::customer(&bank, "2348031234566", "Bola Ade", "1357", None).await;
    crate::conversations::customer(&bank, "2348031234577", "Chi Okafor", "1357", None).await;

    let menu = chat.say("send money").await;
    let who = chat.tap("customer", &asking(&menu)).await;
    assert!(read(&who).contains("What is their WhatsApp number?"), "{}", read(&who));
    chat.say("0803 123 4566").await;
    let to_bola = chat.say("1000").await;
    assert!(read(&to_bola).contains("Send ₦1,000.00 to Bola A."), "{}", read(&to_bola));
    let bola_confirmation = asking(&to_bola);
    let cancelled = chat.tap("cancel", &bola_confirmation).await;
    assert!(read(&cancelled).contains("Cancelled. No money was sent."), "{}", read(&cancelled));

    let menu = chat.say("send money").await;
    chat.tap("customer", &asking(&menu)).await;
    chat.say("0803 123 4577").await;
    let to_chi = chat.say("45000").await;
    assert!(read(&to_chi).contains("Send ₦45,000.00 to Chi O."), "{}", read(&to_chi));

    // Confirm, on Bola's old confirmation: refused, and Chi's transfer still waits for its own.
    let stale = chat.tap("confirm", &bola_confirmation).await;
    assert_eq!(stale.len(), 1);
    assert!(
        read(&stale).contains("That button is on an earlier message, so I did nothing with it"),
        "{}",
        read(&stale)
    );
    let session = chat.app.state.conversations.record(&format!("wa:{TUNDE}")).await.unwrap().unwrap().session;
    assert_eq!((session.flow.as_str(), session.step.as_str()), ("send_to_customer", "confirm"));
    assert_eq!(session.vars.get("recipient").map(String::as_str), Some("2348031234577"));
    // The same tap again (a double tap): refused again, still nothing.
    let again = chat.tap("confirm", &bola_confirmation).await;
    assert!(read(&again).contains("did nothing with it"));

    // Confirm on Chi's own confirmation: the PIN prompt, saying what it approves.
    let pin = chat.tap("confirm", &asking(&to_chi)).await;
    assert!(read(&pin).contains("Enter your PIN to send ₦45,000.00 to Chi O."), "{}", read(&pin));
    let (balance, _) = bank.balance(&format!("wa:{TUNDE}")).await.unwrap().unwrap();
    assert_eq!(balance.available, 10_000_000, "no money moved (₦100,000.00)");
    harness::assert_ledger_sound(&bank).await;
}
