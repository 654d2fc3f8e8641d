//! PINs and codes by form (WhatsApp Flows), end to end through the real `teller serve` binary
//! with `WHATSAPP_FLOWS_PRIVATE_KEY` set, against a fake Graph API: a customer registers and
//! sends money answering every PIN and code question in an encrypted form, never in the chat;
//! a wrong PIN shows the form again with the tries left; a replayed or foreign token changes
//! nothing; and afterwards the PIN is in no log line, no message sent, no webhook body and no
//! table.

use serde_json::{Value, json};
use teller::whatsapp::flow_crypto::Sealer;

use crate::harness::FakeGraph;
use crate::lifecycle::{Served, teller};
use crate::logscan::{APP_SECRET, Chat, Customer, PAYMENTS_SECRET, joined};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/whatsapp-flows/");

const CHIOMA: Customer =
    Customer { phone: "2348055551212", first: "Chioma", id_number: "22213572468", pin: "6083" };
const EMEKA: Customer =
    Customer { phone: "2348055553434", first: "Emeka", id_number: "22224681357", pin: "3916" };

pub(crate) fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}{name}")).unwrap()
}

/// Meta's client: seals a request for the business key, signs it, and opens the answer.
pub(crate) struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) secret: &'static str,
}

impl Client {
    /// POSTs `plain` sealed and signed; the status and the opened answer (or the raw body).
    pub(crate) async fn send(&self, plain: &Value) -> (u16, Value) {
        let (key, iv): ([u8; 16], [u8; 16]) =
            (std::array::from_fn(|_| fastrand::u8(..)), std::array::from_fn(|_| fastrand::u8(..)));
        let body = Sealer::request(&fixture("test-flows-public.pem"), key, iv, plain.to_string().as_bytes())
            .unwrap();
        self.raw(body, key, iv).await
    }

    /// POSTs `body` as it is, signed.
    pub(crate) async fn raw(&self, body: Vec<u8>, key: [u8; 16], iv: [u8; 16]) -> (u16, Value) {
        let signature = teller::signature::sign(self.secret.as_bytes(), &body);
        let response = self
            .http
            .post(&self.url)
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let is_text = response.headers().get("content-type").is_some_and(|v| v == "text/plain");
        let text = response.text().await.unwrap();
        if status == 200 {
            assert!(is_text, "answers are base64 text/plain");
            let opened =
                Sealer::open_answer(key, iv, &text).expect("the answer opens with the request's key");
            return (status, serde_json::from_slice(&opened).unwrap());
        }
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Submits every field of `data` to the form under `token`.
    pub(crate) async fn submit_all(&self, token: &str, screen: &str, data: &Value) -> (u16, Value) {
        self.send(&json!({ "version": "3.0", "action": "data_exchange", "screen": screen,
                           "data": data, "flow_token": token }))
            .await
    }

    /// Submits `field` = `value` to the form under `token`.
    pub(crate) async fn submit(&self, token: &str, screen: &str, field: &str, value: &str) -> (u16, Value) {
        self.send(&json!({ "version": "3.0", "action": "data_exchange", "screen": screen,
                           "data": { field: value }, "flow_token": token }))
            .await
    }
}

/// The form in the newest message to `to`: its token, screen and the prompt on its screen.
pub(crate) fn form(chat: &Chat<'_>, to: &str) -> (String, String, String) {
    let last = chat.sends_to(to).into_iter().rev().find(|s| s["interactive"]["type"] == "flow");
    let last = last.unwrap_or_else(|| panic!("no form sent: {:#?}", chat.sends_to(to)));
    let parameters = &last["interactive"]["action"]["parameters"];
    let payload = &parameters["flow_action_payload"];
    let screen = payload["screen"].as_str().unwrap().to_owned();
    if ["PIN_ENTRY", "CODE_ENTRY"].contains(&screen.as_str()) {
        // A form of one question shows the chat's; one of several, its own (see forms_reset).
        assert_eq!(payload["data"]["prompt"], last["interactive"]["body"]["text"]);
    }
    (
        parameters["flow_token"].as_str().unwrap().to_owned(),
        screen,
        payload["data"]["prompt"].as_str().unwrap().to_owned(),
    )
}

/// The completion message WhatsApp posts once a form closed.
pub(crate) fn completion(token: &str) -> Value {
    json!({ "type": "interactive", "interactive": { "type": "nfm_reply", "nfm_reply": {
        "name": "flow", "body": "Sent", "response_json": json!({ "flow_token": token }).to_string() } } })
}

/// Answers the form on screen with `value` (closing it), then sends its completion; the replies.
pub(crate) async fn answer(
    chat: &mut Chat<'_>,
    forms: &Client,
    who: &str,
    field: &str,
    value: &str,
) -> String {
    let (token, screen, _) = form(chat, who);
    let (status, closed) = forms.submit(&token, &screen, field, value).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["screen"], "SUCCESS", "{closed}");
    assert_eq!(closed["data"]["extension_message_response"]["params"], json!({ "flow_token": token }));
    joined(&chat.post(who, completion(&token)).await)
}

/// `teller serve` in `dir` (SQLite there), sending to `graph`, with the Flows key set: the
/// running server, a client, and Meta's client of its Flows endpoint.
pub(crate) fn serve_with_forms(
    graph: &FakeGraph,
    dir: &std::path::Path,
) -> (Served, reqwest::Client, Client) {
    let key = fixture("test-flows-private.pem");
    let mut env: Vec<(String, String)> = graph.env();
    env.extend(
        [
            ("WHATSAPP_APP_SECRET", APP_SECRET),
            ("PAYMENTS_WEBHOOK_SECRET", PAYMENTS_SECRET),
            ("WHATSAPP_FLOWS_PRIVATE_KEY", key.as_str()),
            ("RUST_LOG", "debug"),
            ("WHATSAPP_PAIR_BURST", "45"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let served = Served::start(teller(dir, &["serve"], &env));
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{}/webhook/flows", served.port);
    let forms = Client { http: http.clone(), url, secret: APP_SECRET };
    (served, http, forms)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_registers_and_sends_money_with_every_pin_and_code_in_a_form() {
    let graph = FakeGraph::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (served, http, forms) = serve_with_forms(&graph, dir.path());
    let base = format!("http://127.0.0.1:{}", served.port);
    let mut chat = Chat { client: http.clone(), url: format!("{base}/webhook"), graph: &graph, sent: 0 };

    // The health check and a ping.
    let (status, pong) = forms.send(&json!({ "version": "3.0", "action": "ping" })).await;
    assert_eq!((status, pong), (200, json!({ "data": { "status": "active" } })));

    // Emeka registers typing his PIN (still taken); Chioma registers by form.
    chat.register(&EMEKA).await;
    chat.say(CHIOMA.phone, "hi").await;
    let asked = chat.say(CHIOMA.phone, "open").await;
    assert!(asked.contains("\"flow_cta\":\"Open account\""), "registration is a form: {asked}");
    let (token, screen, _) = form(&chat, CHIOMA.phone);
    assert_eq!(screen, "REGISTRATION");
    let mut details = json!({"first_name": CHIOMA.first, "last_name": "Obi", "date_of_birth": "2015-05-17",
                             "id_number": EMEKA.id_number});
    // The chat's rules, field by field: too young, then an identity number already registered.
    let (_, refused) = forms.submit_all(&token, "REGISTRATION", &details).await;
    let error = refused["data"]["error_message"].as_str().unwrap();
    assert!(error.contains("you must be 18 or older"), "{refused}");
    details["date_of_birth"] = json!("1990-05-17");
    let (_, refused) = forms.submit_all(&token, "REGISTRATION", &details).await;
    let error = refused["data"]["error_message"].as_str().unwrap();
    assert!(error.contains("An account already uses that BVN or NIN"), "{refused}");
    details["id_number"] = json!(CHIOMA.id_number);
    let (status, closed) = forms.submit_all(&token, "REGISTRATION", &details).await;
    assert_eq!((status, &closed["screen"]), (200, &json!("SUCCESS")), "{closed}");
    let asked = joined(&chat.post(CHIOMA.phone, completion(&token)).await);
    assert!(asked.contains("\"flow_cta\":\"Enter PIN\""), "the new PIN is asked in a form: {asked}");
    assert!(!asked.contains("And your surname?"), "the form's own questions are not asked again: {asked}");
    let (_, screen, prompt) = form(&chat, CHIOMA.phone);
    assert_eq!(screen, "PIN_ENTRY");
    assert!(prompt.contains("Choose a PIN of 4 to 6 digits"), "{prompt}");
    let again = answer(&mut chat, &forms, CHIOMA.phone, "pin", CHIOMA.pin).await;
    assert!(again.contains("Enter the same PIN again to confirm it"), "{again}");
    let confirm = answer(&mut chat, &forms, CHIOMA.phone, "pin", CHIOMA.pin).await;
    assert!(confirm.contains("do you accept the bank's terms"), "{confirm}");
    let open = chat.tap(CHIOMA.phone, "yes").await;
    assert!(open.contains("Your account is open"), "{open}");

    // Money in, then a transfer to a new recipient: PIN, then a one-time code, both by form.
    let credit = json!({"type": "credit", "reference": "forms-credit-1", "wa_id": CHIOMA.phone,
                        "amount": "30000.00", "currency": "NGN"})
    .to_string();
    let signature = teller::signature::sign(PAYMENTS_SECRET.as_bytes(), credit.as_bytes());
    let response = http
        .post(format!("{base}/webhook/payments"))
        .header("x-teller-signature", signature)
        .body(credit)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    chat.say(CHIOMA.phone, "send money").await;
    chat.tap(CHIOMA.phone, "customer").await;
    chat.say(CHIOMA.phone, "0805 555 3434").await;
    assert!(chat.say(CHIOMA.phone, "5000").await.contains("Total: ₦5,010.00"));
    let asked = chat.tap(CHIOMA.phone, "confirm").await;
    assert!(asked.contains("Enter your PIN to send ₦5,000.00"), "{asked}");
    let (token, screen, _) = form(&chat, CHIOMA.phone);

    // A wrong PIN: the same form again, with the flow's words and the tries left.
    let (status, wrong) = forms.submit(&token, &screen, "pin", "1111").await;
    assert_eq!(status, 200, "{wrong}");
    assert_eq!(wrong["screen"], "PIN_ENTRY");
    assert_eq!(
        wrong["data"]["error_message"],
        "That PIN is not right. Tries left: 2. Forgot your PIN? Reply \"forgot pin\" to choose a new one.",
        "{wrong}"
    );
    // Another customer's completion with this token changes nothing.
    let foreign = joined(&chat.post(EMEKA.phone, completion(&token)).await);
    assert!(foreign.contains("That form is no longer open"), "{foreign}");
    // A completion before the form closed changes nothing either.
    let early = joined(&chat.post(CHIOMA.phone, completion(&token)).await);
    assert!(early.contains("That form is no longer open"), "{early}");

    let (status, closed) = forms.submit(&token, &screen, "pin", CHIOMA.pin).await;
    assert_eq!((status, &closed["screen"]), (200, &json!("SUCCESS")), "{closed}");
    // The same token again: spent.
    let (status, replayed) = forms.submit(&token, &screen, "pin", CHIOMA.pin).await;
    assert_eq!(status, 427, "{replayed}");
    assert!(replayed["error_msg"].as_str().unwrap().contains("no longer open"), "{replayed}");

    // The completion carries the conversation on: the code form comes next.
    let next = joined(&chat.post(CHIOMA.phone, completion(&token)).await);
    assert!(next.contains("I sent you a 6-digit code"), "{next}");
    let all: String = chat.sends_to(CHIOMA.phone).iter().map(Value::to_string).collect();
    let code = regex::Regex::new(r"(\d{6}) is your").unwrap().captures_iter(&all).last().expect("a code")[1]
        .to_owned();
    let (_, code_screen, _) = form(&chat, CHIOMA.phone);
    assert_eq!(code_screen, "CODE_ENTRY");
    let sent = answer(&mut chat, &forms, CHIOMA.phone, "code", &code).await;
    assert!(sent.contains("Sent ₦5,000.00"), "{sent}");
    // The completion again (a new message, the same token): nothing moves twice.
    let twice = joined(&chat.post(CHIOMA.phone, completion(&token)).await);
    assert!(twice.contains("That form is no longer open"), "{twice}");
    let balance = chat.say(CHIOMA.phone, "balance").await;
    assert!(balance.contains("₦24,990.00"), "one transfer, once: {balance}");

    let (_, logs) = served.terminate();
    // The PIN Chioma chose, and her one-time code, are nowhere at rest or in transit.
    let standalone =
        |value: &str| regex::Regex::new(&format!(r"(^|[^0-9A-Za-z.\-]){value}([^0-9A-Za-z]|$)")).unwrap();
    for (what, value) in [("PIN", CHIOMA.pin), ("code", code.as_str())] {
        let line = logs.lines().find(|l| standalone(value).is_match(l));
        assert!(line.is_none(), "the {what} was logged: {}", line.unwrap_or_default());
    }
    let sends: String = graph.sends().iter().map(Value::to_string).collect();
    assert!(!standalone(CHIOMA.pin).is_match(&sends), "the PIN was sent to WhatsApp");
    // Her identity number went by form: in no log line, no message and no webhook body kept.
    assert!(
        !logs.contains(CHIOMA.id_number) && !sends.contains(CHIOMA.id_number),
        "the identity number leaked"
    );
    let tables = every_table_as_text(&dir.path().join("teller.db")).await;
    assert!(tables.contains(CHIOMA.first), "the dump reads the tables: {}", tables.len());
    assert!(!standalone(CHIOMA.pin).is_match(&tables), "Chioma's PIN is in a table");
    assert!(tables.contains("nfm_reply"), "the completions were stored as they came");
    let inbox: String =
        tables.lines().filter(|l| l.starts_with("webhook") || l.starts_with("inbox")).collect();
    assert!(!inbox.contains(CHIOMA.id_number), "the identity number is in the inbox");
    // Nor anywhere else: the customers table keeps a keyed digest and a sealed copy.
    assert!(!tables.contains(CHIOMA.id_number), "the identity number is kept in clear");
    assert!(tables.contains("d1:test:"), "the customer's identity digest is there");
    let store = teller::store::connect(&crate::harness::db_config(
        &format!("sqlite://{}", dir.path().join("teller.db").display()),
        teller::config::SqlBackend::Sqlite,
    ))
    .await
    .unwrap();
    let kv = crate::harness::kv(crate::harness::KvKind::Memory);
    let bank = crate::harness::bank(store, kv, std::sync::Arc::new(teller::clock::SystemClock));
    crate::harness::assert_ledger_sound(&bank).await;
}

/// Every row of every table of the SQLite database at `path`, as text.
pub(crate) async fn every_table_as_text(path: &std::path::Path) -> String {
    use sqlx::{Column, Connection, Row};
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let mut text = String::new();
    for table in tables {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM \"{table}\"")))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for row in rows {
            for (i, column) in row.columns().iter().enumerate() {
                let value: Option<String> = row
                    .try_get::<Option<String>, _>(i)
                    .or_else(|_| row.try_get::<Option<i64>, _>(i).map(|v| v.map(|v| v.to_string())))
                    .or_else(|_| {
                        row.try_get::<Option<Vec<u8>>, _>(i)
                            .map(|v| v.map(|b| String::from_utf8_lossy(&b).into()))
                    })
                    .unwrap_or_default();
                text.push_str(&format!("{table}.{}={} ", column.name(), value.unwrap_or_default()));
            }
            text.push('\n');
        }
    }
    text
}
