//! A customer behind a WhatsApp username (known by a business-scoped user id, BSUID, without a
//! phone number), through signed webhooks on both backends: they chat and register, but no
//! money moves until WhatsApp shares their number; a message carrying both ids links it, and
//! the PIN is asked again before the next money action.

use std::time::{Duration, Instant};

use serde_json::json;
use teller::config::SqlBackend;

use crate::harness::{TestApp, post_signed};

crate::harness::on_both_sql_backends!(
    a_username_customer_registers_but_moves_money_only_once_their_number_is_linked
);

const SECRET: &str = "test-app-secret";
const BSUID: &str = "NG.90817263544536271809";
const PHONE: &str = "2348031110042";

struct Chat {
    app: TestApp,
    sent: i64,
}

impl Chat {
    /// Sends `text` as a signed webhook, from the username only or with the number too, and
    /// waits for the replies to the key the bot answers under.
    async fn say(&mut self, text: &str, with_number: bool) -> String {
        self.sent += 1;
        let mut message = json!({"from_user_id": BSUID, "id": format!("wamid.user.{}", self.sent),
            "timestamp": (chrono::Utc::now().timestamp() - 100 + self.sent).to_string(),
            "type": "text", "text": {"body": text}});
        let mut contact = json!({"profile": {"name": "Zainab", "username": "@zainab"}, "user_id": BSUID});
        if with_number {
            message["from"] = json!(PHONE);
            contact["wa_id"] = json!(PHONE);
        }
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": "100"},
            "contacts": [contact], "messages": [message]}}]}]});
        let key = if with_number { format!("wa:{PHONE}") } else { format!("bsuid:{BSUID}") };
        let before = self.replies(&key).await.len();
        let status = post_signed(
            self.app.client.clone(),
            self.app.url("/webhook"),
            SECRET,
            body.to_string().into_bytes(),
        )
        .await;
        assert_eq!(status, 200);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let seen = self.replies(&key).await.len();
            if seen > before {
                // Settled: nothing more comes for a moment.
                tokio::time::sleep(Duration::from_millis(300)).await;
                let replies = self.replies(&key).await;
                if replies.len() == seen {
                    return replies[before..].join("\n");
                }
                continue;
            }
            assert!(Instant::now() < deadline, "no reply to {text:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn replies(&self, key: &str) -> Vec<String> {
        let sent = self.app.state.store.outbox_for_recipient(key).await.unwrap();
        sent.iter().map(|m| m.body.0.to_string()).collect::<Vec<String>>()
    }
}

async fn a_username_customer_registers_but_moves_money_only_once_their_number_is_linked(backend: SqlBackend) {
    let app = TestApp::spawn_signed(backend, SECRET, &[]).await;
    crate::conversations::customer(&app.state.bank, "2348031110043", "Musa Bello", "1357", None).await;
    let mut chat = Chat { app, sent: 0 };

    // Registered under the username alone.
    chat.say("hi", false).await;
    chat.say("open", false).await;
    for answer in ["Zainab", "Sani", "17/05/1990", "22233344455", "2580", "2580"] {
        chat.say(answer, false).await;
    }
    let open = chat.say("yes", false).await;
    assert!(open.contains("Your account is open"), "{open}");
    let bank = chat.app.state.bank.clone();
    let customer = bank.customer(&format!("bsuid:{BSUID}")).await.unwrap().unwrap();
    assert_eq!(customer.phone, "", "no number yet");
    let balance = chat.say("balance", false).await;
    assert!(balance.contains("Your available balance is ₦0.00"), "{balance}");

    // Money waits for the number; nothing starts, nothing moves.
    let refused = chat.say("send 1000 to 08031110043", false).await;
    assert!(refused.contains("your account must be linked to your WhatsApp phone number"), "{refused}");
    assert!(!refused.contains("How much") && !refused.contains("PIN"), "{refused}");

    // WhatsApp shares the number: the same customer, linked; the PIN is asked again first.
    let shared = chat.say("menu", true).await;
    assert!(shared.contains("What would you like to do?"), "the same customer, registered: {shared}");
    let linked = bank.customer(&format!("wa:{PHONE}")).await.unwrap().unwrap();
    assert_eq!((linked.id, linked.phone.as_str(), linked.reverify), (customer.id, PHONE, 1));
    // Under the username alone again: linked now, so money may start.
    let started = chat.say("send money", false).await;
    assert!(started.contains("Where should the money go?"), "{started}");
    let audit = chat.app.state.store.recent_audit(20).await.unwrap();
    assert!(audit.iter().any(|e| e.event.action == "customer.number_linked"), "{audit:?}");
}
