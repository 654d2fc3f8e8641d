//! `POST /webhook/flows` in process, on both backends: Meta's protocol (the fixture ping byte
//! for byte, 432 before anything is read, 421 for what does not open, error notifications
//! acknowledged, 427 for a token that is not open), and a PIN form's ticket (wrong PINs count as
//! typed ones do, a refused request counts nothing, a spent, late or foreign token changes
//! nothing, the completion carries the conversation on); the registration form and the identity
//! check's held to the chat's rules, the latter only on a Flow recorded with its screen.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use teller::config::SqlBackend;
use teller::dispatch::Handler;
use teller::flows::engine::Event;
use teller::whatsapp::notification::Notification;

use crate::forms::Client;
use crate::harness::{KvKind, TestApp};

crate::harness::on_both_sql_backends!(
    the_endpoint_speaks_meta_s_protocol_and_refuses_what_does_not_verify,
    a_pin_form_counts_wrong_pins_once_and_a_spent_late_or_foreign_token_changes_nothing,
    the_registration_form_is_held_to_the_chat_s_rules_and_its_completion_asks_the_pin,
    the_identity_check_is_a_form_once_the_published_flow_is_recorded_with_its_screen,
);

const SECRET: &str = "test-app-secret";
const PHONE: &str = "2348030000191";
const KEY: &str = "wa:2348030000191";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/whatsapp-flows/");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}{name}")).unwrap()
}

async fn app(backend: SqlBackend) -> TestApp {
    let key = fixture("test-flows-private.pem");
    TestApp::spawn_signed(backend, SECRET, &[("WHATSAPP_FLOWS_PRIVATE_KEY", key.as_str())]).await
}

fn client(app: &TestApp) -> Client {
    Client { http: app.client.clone(), url: app.url("/webhook/flows"), secret: SECRET }
}

/// What the bot answered `text`, as sent bodies.
async fn say(app: &TestApp, id: &str, event: Event) -> Vec<Value> {
    let replies = app.state.conversations.converse(KEY, PHONE, id, event, Utc::now()).await.unwrap();
    replies.iter().map(|r| r.to_body()).collect()
}

fn token_of(replies: &[Value]) -> String {
    let form = replies.last().unwrap();
    assert_eq!(form["interactive"]["type"], "flow", "{replies:?}");
    form["interactive"]["action"]["parameters"]["flow_token"].as_str().unwrap().to_owned()
}

/// The completion of the form under `token`, as `from` sends it through the webhook.
async fn complete(app: &TestApp, from: &str, id: &str, token: &str) -> String {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "100"},
        "contacts": [{"profile": {"name": "Customer"}, "wa_id": from}],
        "messages": [{"from": from, "id": id, "timestamp": Utc::now().timestamp().to_string(),
            "type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent",
            "response_json": json!({ "flow_token": token }).to_string()}}}]}}]}]});
    let notification = Notification::parse(body.to_string().as_bytes()).unwrap();
    let handled = app.state.conversations.handle(&notification.messages[0], None).await.unwrap();
    handled.replies.iter().map(|r| r.to_body().to_string()).collect::<Vec<_>>().join("\n")
}

async fn post(app: &TestApp, body: Vec<u8>, signature: Option<String>) -> (u16, String) {
    let mut request = app.client.post(app.url("/webhook/flows")).body(body);
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn the_endpoint_speaks_meta_s_protocol_and_refuses_what_does_not_verify(backend: SqlBackend) {
    let app = app(backend).await;
    // The fixture ping, signed as the fixture says: the fixture's answer, byte for byte.
    let ping = fixture("request_ping.json").into_bytes();
    let signed = "sha256=e3117cde754fd1432866eb418c5af2693e20d8d4c65863732853126b2144956e".to_owned();
    assert_eq!(post(&app, ping.clone(), Some(signed)).await, (200, fixture("response_ping.b64")));
    // Unsigned, or signed with another secret: 432, before anything is opened.
    assert_eq!(post(&app, ping.clone(), None).await.0, 432);
    let forged = teller::signature::sign(b"not-the-app-secret", &ping);
    assert_eq!(post(&app, ping.clone(), Some(forged)).await.0, 432);
    // Signed but not openable: 421, so the client fetches the public key again.
    let mut wire: Value = serde_json::from_slice(&ping).unwrap();
    wire["encrypted_flow_data"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    for body in [serde_json::to_vec(&wire).unwrap(), b"{\"hello\":1}".to_vec(), b"not json".to_vec()] {
        let signature = teller::signature::sign(SECRET.as_bytes(), &body);
        assert_eq!(post(&app, body, Some(signature)).await.0, 421);
    }
    let forms = client(&app);
    // An error notification about an earlier answer is acknowledged.
    let (status, ack) = forms
        .send(&json!({"version": "3.0", "action": "data_exchange", "flow_token": "ft_x",
                      "data": {"error": "invalid-screen-transition", "error_message": "bad"}}))
        .await;
    assert_eq!((status, ack), (200, json!({"data": {"acknowledged": true}})));
    // A token teller never issued: 427 with a line for the customer.
    let (status, stale) =
        forms.submit("ft_0123456789abcdef0123456789abcdef", "PIN_ENTRY", "pin", "4821").await;
    assert_eq!(status, 427);
    assert_eq!(stale["error_msg"], "This form is no longer open. Please go back to the chat.");
    // Without the key, there is no endpoint.
    let plain = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let (status, body) = post(&plain, ping, None).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status, &body["error"]), (404, &json!("WhatsApp Flows are not configured here")));
}

async fn a_pin_form_counts_wrong_pins_once_and_a_spent_late_or_foreign_token_changes_nothing(
    backend: SqlBackend,
) {
    let app = app(backend).await;
    crate::conversations::customer(&app.state.bank, PHONE, "Ngozi Okafor", "4821", Some("1,000")).await;
    crate::conversations::customer(&app.state.bank, "2348030000192", "Tunde Bakare", "1357", None).await;
    let forms = client(&app);

    let asked = say(&app, "wamid.f1", Event::Text("change pin".into())).await;
    let token = token_of(&asked);
    let form = &asked.last().unwrap()["interactive"];
    assert_eq!(form["action"]["parameters"]["flow_cta"], "Enter PIN");
    assert_eq!(form["action"]["parameters"]["flow_action_payload"]["screen"], "PIN_ENTRY");
    let prompt = form["body"]["text"].as_str().unwrap();
    assert!(prompt.contains("current PIN"), "{prompt}");
    // Opening the form (INIT) shows its screen with the prompt, and counts nothing.
    let (status, first) = forms.send(&json!({"version": "3.0", "action": "INIT", "flow_token": token})).await;
    assert_eq!(status, 200);
    assert_eq!(first, json!({"screen": "PIN_ENTRY", "data": {"prompt": prompt, "error_message": ""}}));

    // A wrong PIN, counted once; the same submission unsigned is refused and counts nothing.
    let (_, wrong) = forms.submit(&token, "PIN_ENTRY", "pin", "9999").await;
    assert_eq!(
        wrong["data"]["error_message"],
        "That PIN is not right. Tries left: 2. Forgot your PIN? Reply \"forgot pin\" to choose a new one.",
        "{wrong}"
    );
    let unsigned = serde_json::to_vec(&json!({"encrypted_flow_data": "x"})).unwrap();
    assert_eq!(post(&app, unsigned, None).await.0, 432);
    let (_, shape) = forms.submit(&token, "PIN_ENTRY", "pin", "12ab").await;
    let refusal = shape["data"]["error_message"].as_str().unwrap();
    assert!(refusal.contains("4 to 6 digits"), "a malformed PIN is refused as typed: {shape}");
    let (_, wrong) = forms.submit(&token, "PIN_ENTRY", "pin", "8888").await;
    assert_eq!(
        wrong["data"]["error_message"],
        "That PIN is not right. Tries left: 1. Forgot your PIN? Reply \"forgot pin\" to choose a new one.",
        "{wrong}"
    );

    // Completed before it closed, or by another customer: refused, nothing moves.
    assert!(complete(&app, PHONE, "wamid.f2", &token).await.contains("That form is no longer open"));
    let (_, right) = forms.submit(&token, "PIN_ENTRY", "pin", "4821").await;
    assert_eq!(right["screen"], "SUCCESS", "{right}");
    let foreign = complete(&app, "2348030000192", "wamid.f3", &token).await;
    assert!(foreign.contains("That form is no longer open"), "{foreign}");
    // Spent at the endpoint: 427.
    assert_eq!(forms.submit(&token, "PIN_ENTRY", "pin", "4821").await.0, 427);
    // The message that asked is handled again (a lost lease): the same form, not reopened.
    assert_eq!(token_of(&say(&app, "wamid.f1", Event::Text("change pin".into())).await), token);
    assert_eq!(forms.submit(&token, "PIN_ENTRY", "pin", "4821").await.0, 427, "still spent");

    // The completion carries the conversation on: the new PIN is asked, in a new form; the same
    // completion handled again answers the same; a second completion is refused.
    let next = complete(&app, PHONE, "wamid.f4", &token).await;
    assert!(next.contains("Choose your new PIN"), "{next}");
    assert!(next.contains("\"type\":\"flow\""), "{next}");
    assert_eq!(complete(&app, PHONE, "wamid.f4", &token).await, next, "handled again, the same answer");
    let twice = complete(&app, PHONE, "wamid.f5", &token).await;
    assert!(twice.contains("That form is no longer open"), "{twice}");

    // A form answered after its question's time: stale, and nothing counted.
    let record = app.state.conversations.record(KEY).await.unwrap().unwrap();
    let new_token =
        serde_json::from_str::<Value>(&next).unwrap()["interactive"]["action"]["parameters"]["flow_token"]
            .as_str()
            .unwrap()
            .to_owned();
    let late = Utc::now() + Duration::hours(2);
    let answer = app
        .state
        .conversations
        .form_exchange(&new_token, "data_exchange", &json!({"pin": "5937"}), late)
        .await
        .unwrap();
    assert_eq!(answer, teller::conversation::FormAnswer::Stale);
    let after = app.state.conversations.record(KEY).await.unwrap().unwrap();
    assert_eq!((after.session.step, after.session.actions), (record.session.step, record.session.actions));
}

async fn the_registration_form_is_held_to_the_chat_s_rules_and_its_completion_asks_the_pin(
    backend: SqlBackend,
) {
    let app = app(backend).await;
    let forms = client(&app);
    let asked = say(&app, "wamid.r1", Event::Text("open account".into())).await;
    let token = token_of(&asked);
    let form = &asked.last().unwrap()["interactive"]["action"]["parameters"];
    assert_eq!(
        (&form["flow_cta"], &form["flow_action_payload"]["screen"]),
        (&json!("Open account"), &json!("REGISTRATION"))
    );
    let mut details = json!({"first_name": "Zainab", "last_name": "Sani", "date_of_birth": "1990-05-17", "id_number": "2221"});
    let (_, refused) = forms.submit_all(&token, "REGISTRATION", &details).await;
    assert_eq!(
        refused["data"]["error_message"],
        "A BVN or NIN has 11 digits, e.g. 22212345678. Please try again."
    );
    details["first_name"] = json!("");
    details["id_number"] = json!("22212345678");
    let (_, refused) = forms.submit_all(&token, "REGISTRATION", &details).await;
    assert!(
        refused["data"]["error_message"].as_str().unwrap().len() > 10,
        "an empty name is refused: {refused}"
    );
    details["first_name"] = json!("Zainab");
    let (_, closed) = forms.submit_all(&token, "REGISTRATION", &details).await;
    assert_eq!(closed["screen"], "SUCCESS", "{closed}");
    let next = complete(&app, PHONE, "wamid.r2", &token).await;
    assert!(next.contains("Choose a PIN of 4 to 6 digits") && next.contains("\"type\":\"flow\""), "{next}");
    let session = app.state.conversations.record(KEY).await.unwrap().unwrap().session;
    assert_eq!((session.flow.as_str(), session.step.as_str()), ("registration", "pin"));
    assert_eq!(session.vars["first_name"], "Zainab");
    assert_eq!(session.vars["date_of_birth"], "1990-05-17");
    // Spent: the same completion again from a new message changes nothing.
    assert!(complete(&app, PHONE, "wamid.r3", &token).await.contains("That form is no longer open"));
}

/// Records that `teller_forms` was published holding `screens`; what the store then reads.
async fn record(app: &TestApp, flow_id: &str, screens: &[&str]) -> Option<Vec<String>> {
    let screens: Vec<String> = screens.iter().map(|s| (*s).to_owned()).collect();
    let mut tx = app.state.store.begin().await.unwrap();
    tx.whatsapp().set_flow_screens("teller_forms", flow_id, &screens, Utc::now()).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = app.state.store.begin().await.unwrap();
    let read = tx.whatsapp().flow_screens("teller_forms").await.unwrap();
    tx.rollback().await.unwrap();
    read
}

/// A forgotten PIN's date of birth and identity number: typed while the published Flow is not
/// known to hold the form's screen, or is recorded without it; a form once it is recorded with
/// it, held to the chat's rules (a wrong answer counts, the form shows the tries left), its
/// completion carrying the conversation on to the new PIN.
async fn the_identity_check_is_a_form_once_the_published_flow_is_recorded_with_its_screen(
    backend: SqlBackend,
) {
    let app = app(backend).await;
    let forms = client(&app);
    crate::conversations::customer(&app.state.bank, PHONE, "Ngozi Okafor", "4821", None).await;
    let typed = |replies: &[Value]| replies.last().is_some_and(|r| r["type"] == "text");

    let asked = say(&app, "wamid.i1", Event::Text("forgot pin".into())).await;
    assert!(
        typed(&asked) && asked.last().unwrap().to_string().contains("First, your date of birth?"),
        "{asked:?}"
    );
    say(&app, "wamid.i2", Event::Text("cancel".into())).await;
    let first = ["PIN_ENTRY", "CODE_ENTRY", "REGISTRATION"];
    assert_eq!(record(&app, "111", &first).await.unwrap(), first, "recorded as published");
    let asked = say(&app, "wamid.i3", Event::Text("forgot pin".into())).await;
    assert!(typed(&asked), "a Flow published without the screen: typed: {asked:?}");
    say(&app, "wamid.i4", Event::Text("cancel".into())).await;

    let every = ["PIN_ENTRY", "CODE_ENTRY", "REGISTRATION", "IDENTITY_CHECK"];
    assert_eq!(record(&app, "222", &every).await.unwrap(), every, "a newer record replaces the older");
    let asked = say(&app, "wamid.i5", Event::Text("forgot pin".into())).await;
    let token = token_of(&asked);
    let form = &asked.last().unwrap()["interactive"]["action"]["parameters"];
    assert_eq!(
        (&form["flow_cta"], &form["flow_action_payload"]["screen"]),
        (&json!("Confirm details"), &json!("IDENTITY_CHECK"))
    );
    let id_number = crate::conversations::id_number_of(PHONE);
    let (_, refused) = forms
        .submit_all(&token, "IDENTITY_CHECK", &json!({"date_of_birth": "1990-05-17", "id_number": "2221"}))
        .await;
    assert_eq!(
        refused["data"]["error_message"],
        "A BVN or NIN has 11 digits, e.g. 22212345678. Please try again."
    );
    let (_, refused) = forms
        .submit_all(&token, "IDENTITY_CHECK", &json!({"date_of_birth": "1990-05-18", "id_number": id_number}))
        .await;
    assert_eq!(
        refused["data"]["error_message"],
        "Those details do not match the ones you registered with. Tries left today: 2."
    );
    let (_, closed) = forms
        .submit_all(&token, "IDENTITY_CHECK", &json!({"date_of_birth": "1990-05-17", "id_number": id_number}))
        .await;
    assert_eq!(closed["screen"], "SUCCESS", "{closed}");
    let next = complete(&app, PHONE, "wamid.i6", &token).await;
    assert!(next.contains("Thank you, that's you") && next.contains("Now pick a new PIN"), "{next}");
    let session = app.state.conversations.record(KEY).await.unwrap().unwrap().session;
    assert_eq!((session.flow.as_str(), session.step.as_str()), ("pin_reset", "new_pin"));
    assert!(!next.contains(&id_number), "the identity number is not said back");
    assert!(complete(&app, PHONE, "wamid.i7", &token).await.contains("That form is no longer open"));

    // At registration a date of birth is the customer's own, not a check of it: typed.
    let (stranger, key) = ("2348030000193", "wa:2348030000193");
    let mut asked = Vec::new();
    for (id, text) in [("wamid.s1", "open account"), ("wamid.s2", "Zainab"), ("wamid.s3", "Sani")] {
        let replies =
            app.state.conversations.converse(key, stranger, id, Event::Text(text.into()), Utc::now());
        asked = replies.await.unwrap().iter().map(|r| r.to_body()).collect::<Vec<Value>>();
    }
    let last = asked.last().unwrap();
    assert!(
        last["type"] == "text"
            && last.to_string().contains("What is your date of birth? Reply like 25/12/1990."),
        "typed at registration: {asked:?}"
    );
}
