//! Every log line of full conversations, at `RUST_LOG=debug`, scanned for what must never be
//! logged: PINs, one-time codes, identity numbers, tokens and secrets, and unmasked phone
//! numbers. Runs the real `teller serve` binary against a fake Graph API.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::FakeGraph;
use crate::lifecycle::{Served, teller};

pub(crate) const APP_SECRET: &str = "app-secret-never-logged";
const ACCESS_TOKEN: &str = "EAAG-access-token-never-logged";
const VERIFY_TOKEN: &str = "verify-token-never-logged";
pub(crate) const PAYMENTS_SECRET: &str = "payments-secret-never-logged";
const OTP_KEY: &str = "otp-key-never-logged-0123456789";

pub(crate) struct Customer {
    pub(crate) phone: &'static str,
    pub(crate) first: &'static str,
    pub(crate) id_number: &'static str,
    pub(crate) pin: &'static str,
}

const ADA: Customer =
    Customer { phone: "2348055550777", first: "Ada", id_number: "22212345678", pin: "7395" };
const BOLA: Customer =
    Customer { phone: "2348055550888", first: "Bola", id_number: "22287654321", pin: "5937" };

/// A customer's chat over signed webhooks, answered through a fake Graph API.
pub(crate) struct Chat<'a> {
    pub(crate) client: reqwest::Client,
    pub(crate) url: String,
    pub(crate) graph: &'a FakeGraph,
    pub(crate) sent: i64,
}

impl Chat<'_> {
    pub(crate) async fn post(&mut self, from: &str, message: Value) -> Vec<Value> {
        self.sent += 1;
        let before = self.sends_to(from).len();
        let mut message = message;
        message["from"] = json!(from);
        message["id"] = json!(format!("wamid.scan.{}", self.sent));
        message["timestamp"] = json!((chrono::Utc::now().timestamp() - 600 + self.sent).to_string());
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": crate::harness::FAKE_PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Customer"}, "wa_id": from}],
            "messages": [message]}}]}]})
        .to_string()
        .into_bytes();
        let status =
            crate::harness::post_signed(self.client.clone(), self.url.clone(), APP_SECRET, body).await;
        assert_eq!(status, 200);
        // Answered once the replies stop coming for a moment.
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = before;
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = self.sends_to(from).len();
            if now > before && now == seen {
                return self.sends_to(from)[before..].to_vec();
            }
            seen = now;
            assert!(Instant::now() < deadline, "no reply to {message}");
        }
    }

    pub(crate) fn sends_to(&self, to: &str) -> Vec<Value> {
        self.graph.sends().into_iter().filter(|s| s["to"] == to).collect()
    }

    pub(crate) async fn say(&mut self, from: &str, text: &str) -> String {
        joined(&self.post(from, json!({"type": "text", "text": {"body": text}})).await)
    }

    /// Taps the option whose id is `option` in the last interactive message sent to `from`.
    pub(crate) async fn tap(&mut self, from: &str, option: &str) -> String {
        let last = self
            .sends_to(from)
            .into_iter()
            .rev()
            .find(|s| s["type"] == "interactive")
            .expect("options shown");
        let ids: Vec<String> = last["interactive"]["action"]["buttons"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| b["reply"]["id"].clone())
            .chain(
                last["interactive"]["action"]["sections"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|s| s["rows"].as_array().cloned().unwrap_or_default())
                    .map(|r| r["id"].clone()),
            )
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect();
        let id = ids
            .iter()
            .find(|id| *id == option || id.ends_with(&format!(":{option}")))
            .unwrap_or_else(|| panic!("no option {option} in {ids:?}"))
            .clone();
        let message = json!({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": id, "title": option}}});
        joined(&self.post(from, message).await)
    }

    pub(crate) async fn register(&mut self, who: &Customer) {
        self.say(who.phone, "hi").await;
        self.say(who.phone, "open").await;
        self.say(who.phone, who.first).await;
        self.say(who.phone, "Obi").await;
        self.say(who.phone, "17/05/1990").await;
        self.say(who.phone, who.id_number).await;
        self.say(who.phone, who.pin).await;
        self.say(who.phone, who.pin).await;
        let done = self.tap(who.phone, "yes").await;
        assert!(done.contains("Your account is open"), "{done}");
    }
}

/// The replies as one text to search.
pub(crate) fn joined(replies: &[Value]) -> String {
    replies.iter().map(Value::to_string).collect::<Vec<_>>().join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn full_conversations_log_no_pin_code_secret_or_unmasked_phone() {
    let graph = FakeGraph::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env: Vec<(String, String)> = graph.env();
    env.retain(|(k, _)| k != "WHATSAPP_ACCESS_TOKEN");
    env.extend(
        [
            ("WHATSAPP_ACCESS_TOKEN", ACCESS_TOKEN),
            ("WHATSAPP_APP_SECRET", APP_SECRET),
            ("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN),
            ("PAYMENTS_WEBHOOK_SECRET", PAYMENTS_SECRET),
            ("OTP_KEY", OTP_KEY),
            ("RUST_LOG", "debug"),
            // Meta's pair rate would space the replies 6 s apart after the burst.
            ("WHATSAPP_PAIR_BURST", "45"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let served = Served::start(teller(dir.path(), &["serve"], &env));
    let base = format!("http://127.0.0.1:{}", served.port);
    let client = reqwest::Client::new();
    let mut chat = Chat { client: client.clone(), url: format!("{base}/webhook"), graph: &graph, sent: 0 };

    chat.register(&ADA).await;
    chat.register(&BOLA).await;
    // Money in, through a signed provider callback.
    let credit = json!({"type": "credit", "reference": "scan-credit-1", "wa_id": ADA.phone, "amount": "30000.00", "currency": "NGN"})
        .to_string();
    let signature = teller::signature::sign(PAYMENTS_SECRET.as_bytes(), credit.as_bytes());
    let response = client
        .post(format!("{base}/webhook/payments"))
        .header("x-teller-signature", signature)
        .body(credit)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A transfer to a new recipient: PIN, then a one-time code.
    assert!(chat.say(ADA.phone, "send money").await.contains("Where should the money go?"));
    assert!(chat.tap(ADA.phone, "customer").await.contains("What is their WhatsApp number?"));
    assert!(chat.say(ADA.phone, "0805 555 0888").await.contains("How much do you want to send to"));
    assert!(chat.say(ADA.phone, "5000").await.contains("Total: ₦5,010.00"));
    assert!(chat.tap(ADA.phone, "confirm").await.contains("Enter your PIN to send ₦5,000.00"));
    let asked = chat.say(ADA.phone, ADA.pin).await;
    let code =
        regex::Regex::new(r"\b(\d{6})\b is your code").unwrap().captures(&asked).map(|c| c[1].to_owned());
    let code = code.unwrap_or_else(|| {
        let all: String = chat.sends_to(ADA.phone).iter().map(Value::to_string).collect();
        regex::Regex::new(r"(\d{6})").unwrap().captures_iter(&all).last().expect("a code was sent")[1]
            .to_owned()
    });
    let sent = chat.say(ADA.phone, &code).await;
    assert!(sent.contains("Sent ₦5,000.00"), "{sent}");
    // A wrong PIN, a PIN typed as free text, and a balance.
    let slip = chat.say(BOLA.phone, &format!("my pin is {}", BOLA.pin)).await;
    assert!(!slip.contains(BOLA.pin), "the PIN is not repeated back: {slip}");
    let balance = chat.say(ADA.phone, "balance").await;
    assert!(balance.contains("Your available balance is"), "{balance}");
    // The admin and webhook handshakes with secrets in the URL.
    let handshake = client
        .get(format!("{base}/webhook?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(handshake.status(), 200);
    assert_eq!(handshake.text().await.unwrap(), "1", "the challenge is echoed");

    let (_, logs) = served.terminate();
    assert!(logs.lines().count() > 50, "debug logging was on: {} lines", logs.lines().count());
    let mut forbidden: Vec<(&str, String)> = vec![
        ("app secret", APP_SECRET.into()),
        ("access token", ACCESS_TOKEN.into()),
        ("verify token", VERIFY_TOKEN.into()),
        ("payments secret", PAYMENTS_SECRET.into()),
        ("OTP key", OTP_KEY.into()),
    ];
    for who in [&ADA, &BOLA] {
        forbidden.push(("a phone number", who.phone.into()));
        forbidden.push(("a local phone number", format!("0{}", &who.phone[3..])));
        forbidden.push(("an identity number", who.id_number.into()));
    }
    for (what, value) in &forbidden {
        let line = logs.lines().find(|l| l.contains(value.as_str()));
        assert!(line.is_none(), "{what} was logged: {}", line.unwrap_or_default());
    }
    // PINs and codes are short: only as a number of their own, not inside ids or durations.
    for (what, value) in [("a PIN", ADA.pin), ("a PIN", BOLA.pin), ("a one-time code", code.as_str())] {
        let standalone = regex::Regex::new(&format!(r"(^|[^0-9A-Za-z.\-]){value}([^0-9A-Za-z]|$)")).unwrap();
        let line = logs.lines().find(|l| standalone.is_match(l));
        assert!(line.is_none(), "{what} was logged: {}", line.unwrap_or_default());
    }
    // No run of 10 or more digits that is a phone number in any form.
    let long = regex::Regex::new(r"\d{10,}").unwrap();
    for line in logs.lines() {
        for run in long.find_iter(line) {
            assert!(
                !run.as_str().contains("55507") && !run.as_str().contains("55508"),
                "a phone number was logged: {line}"
            );
        }
    }
}
