//! A forgotten PIN's identity check (date of birth and BVN or NIN) in a form, end to end through
//! the real `teller serve` binary with `WHATSAPP_FLOWS_PRIVATE_KEY` set: typed in the chat while
//! the published Flow is not recorded with the form's screen (Meta does not let a published Flow
//! change); in the form once it is. Wrong details show the form again with the tries left; the
//! third closes it and the chat says why; the right ones go on to the new PIN, by form too; and
//! the identity number is in no log line, no message sent, no webhook body and no table.

use serde_json::{Value, json};

use crate::forms::{Client, answer, completion, every_table_as_text, form, serve_with_forms};
use crate::harness::FakeGraph;
use crate::logscan::{Chat, Customer, joined};

const ADA: Customer =
    Customer { phone: "2348055557878", first: "Ada", id_number: "22297531864", pin: "5307" };
const TUNDE: Customer =
    Customer { phone: "2348055559090", first: "Tunde", id_number: "22286420975", pin: "6148" };

/// Registers `who` by form (name, surname, date of birth 17/05/1990, identity number), their PIN
/// by form too, so their identity number never enters the chat.
async fn register_by_form(chat: &mut Chat<'_>, forms: &Client, who: &Customer) {
    chat.say(who.phone, "hi").await;
    chat.say(who.phone, "open").await;
    let (token, screen, _) = form(chat, who.phone);
    assert_eq!(screen, "REGISTRATION");
    let details = json!({"first_name": who.first, "last_name": "Okafor", "date_of_birth": "1990-05-17",
                         "id_number": who.id_number});
    let (status, closed) = forms.submit_all(&token, &screen, &details).await;
    assert_eq!((status, &closed["screen"]), (200, &json!("SUCCESS")), "{closed}");
    let asked = joined(&chat.post(who.phone, completion(&token)).await);
    assert!(asked.contains("Choose a PIN of 4 to 6 digits"), "{asked}");
    let again = answer(chat, forms, who.phone, "pin", who.pin).await;
    assert!(again.contains("Enter the same PIN again to confirm it"), "{again}");
    answer(chat, forms, who.phone, "pin", who.pin).await;
    let open = chat.tap(who.phone, "yes").await;
    assert!(open.contains("Your account is open"), "{open}");
}

/// Records, as `teller whatsapp flows push` does when it publishes a Flow, that `teller_forms`
/// holds every screen of the repository's Flow JSON.
async fn record_every_screen(db: &std::path::Path) {
    use sqlx::Connection;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/whatsapp/teller_forms.json");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let screens = teller::whatsapp::manage::flow_screens(&json).unwrap();
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    sqlx::query("INSERT INTO whatsapp_flows (name, flow_id, screens, recorded_at) VALUES ('teller_forms', '222', $1, '2026-12-06T10:00:00Z')")
        .bind(screens.join(" "))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forgotten_pin_is_reset_with_the_date_of_birth_and_identity_number_in_a_form() {
    let graph = FakeGraph::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (served, http, forms) = serve_with_forms(&graph, dir.path());
    let url = format!("http://127.0.0.1:{}/webhook", served.port);
    let mut chat = Chat { client: http, url, graph: &graph, sent: 0 };
    register_by_form(&mut chat, &forms, &ADA).await;
    register_by_form(&mut chat, &forms, &TUNDE).await;

    // The published Flow is not recorded with the screen: the date of birth is typed, as before.
    let asked = chat.say(ADA.phone, "forgot pin").await;
    assert!(asked.contains("First, your date of birth?"), "{asked}");
    assert!(!asked.contains("\"type\":\"flow\""), "no form on a screen the Flow may lack: {asked}");
    let stopped = chat.say(ADA.phone, "cancel").await;
    assert!(stopped.contains("I have stopped"), "{stopped}");

    // Recorded with it (a Flow published since): the identity check is a form.
    record_every_screen(&dir.path().join("teller.db")).await;
    let asked = chat.say(ADA.phone, "forgot pin").await;
    assert!(asked.contains("\"flow_cta\":\"Confirm details\""), "the identity check is a form: {asked}");
    // The message keeps the chat's question: its text is what goes if Meta will not send the form.
    assert!(asked.contains("First, your date of birth? Reply like 25/12/1990."), "{asked}");
    let (token, screen, prompt) = form(&chat, ADA.phone);
    assert_eq!(screen, "IDENTITY_CHECK");
    assert!(prompt.starts_with("No problem: you can choose a new PIN here"), "the flow's words: {prompt}");
    assert!(
        prompt.ends_with(
            "\n\nEnter your date of birth and the BVN or NIN you opened your account with. Don't have the \
             number to hand? Dial *565*0# for your BVN or *346# for your NIN, from the phone it is registered to."
        ),
        "the form's own question on its screen, with how to see a number not to hand, not the chat's for \
         the date alone: {prompt}"
    );

    // A date that is no date: the form again with the chat's words; no try is spent on it.
    let (_, refused) = forms
        .submit_all(&token, &screen, &json!({"date_of_birth": "soon", "id_number": ADA.id_number}))
        .await;
    assert_eq!(refused["screen"], "IDENTITY_CHECK", "{refused}");
    assert!(refused["data"]["error_message"].as_str().unwrap().contains("25/12/1990"), "{refused}");
    // Wrong details: the form again with the tries left.
    let wrong = json!({"date_of_birth": "1991-05-17", "id_number": ADA.id_number});
    let (_, refused) = forms.submit_all(&token, &screen, &wrong).await;
    assert_eq!(
        refused["data"]["error_message"],
        "Those details do not match the ones you registered with. Tries left today: 2.",
        "{refused}"
    );
    // The right ones close it; the completion goes on to the new PIN, by form.
    let right = json!({"date_of_birth": "1990-05-17", "id_number": ADA.id_number});
    let (status, closed) = forms.submit_all(&token, &screen, &right).await;
    assert_eq!((status, &closed["screen"]), (200, &json!("SUCCESS")), "{closed}");
    let (status, replayed) = forms.submit_all(&token, &screen, &right).await;
    assert_eq!(status, 427, "a closed form's token is spent: {replayed}");
    let next = joined(&chat.post(ADA.phone, completion(&token)).await);
    assert!(next.contains("Thank you, that's you"), "{next}");
    assert!(!next.contains("And the BVN or NIN you opened your account with?"), "asked in the form: {next}");
    let (_, screen, prompt) = form(&chat, ADA.phone);
    assert_eq!(screen, "PIN_ENTRY");
    assert!(prompt.contains("Now pick a new PIN"), "{prompt}");
    let again = answer(&mut chat, &forms, ADA.phone, "pin", "8264").await;
    assert!(again.contains("Enter the new PIN again to confirm it"), "{again}");
    let done = answer(&mut chat, &forms, ADA.phone, "pin", "8264").await;
    assert!(done.contains("Your new PIN is set"), "{done}");
    let twice = joined(&chat.post(ADA.phone, completion(&token)).await);
    assert!(twice.contains("That form is no longer open"), "{twice}");

    // Three wrong answers: the form closes, and the chat says why and how to reach a person.
    chat.say(TUNDE.phone, "forgot pin").await;
    let (token, screen, _) = form(&chat, TUNDE.phone);
    let wrong = json!({"date_of_birth": "1990-05-17", "id_number": "22200000001"});
    for left in ["2", "1"] {
        let (_, refused) = forms.submit_all(&token, &screen, &wrong).await;
        let error = refused["data"]["error_message"].as_str().unwrap();
        assert!(error.ends_with(&format!("Tries left today: {left}.")), "{refused}");
    }
    let (status, closed) = forms.submit_all(&token, &screen, &wrong).await;
    assert_eq!((status, &closed["screen"]), (200, &json!("SUCCESS")), "{closed}");
    let why = joined(&chat.post(TUNDE.phone, completion(&token)).await);
    assert!(why.contains("did not match too many times"), "{why}");
    assert!(!why.contains("\"type\":\"flow\""), "the flow ended: no form follows: {why}");
    let balance = chat.say(TUNDE.phone, "balance").await;
    assert!(balance.contains("₦0.00"), "the conversation goes on: {balance}");

    let (_, logs) = served.terminate();
    // The identity numbers went by form only: in no log line, message sent, webhook body or table.
    let sends: String = graph.sends().iter().map(Value::to_string).collect();
    let tables = every_table_as_text(&dir.path().join("teller.db")).await;
    assert!(tables.contains(ADA.first) && tables.contains("nfm_reply"), "the dump reads the tables");
    for who in [&ADA, &TUNDE] {
        assert!(!logs.contains(who.id_number), "{}'s identity number was logged", who.first);
        assert!(!sends.contains(who.id_number), "{}'s identity number was sent", who.first);
        assert!(!tables.contains(who.id_number), "{}'s identity number is kept in clear", who.first);
    }
    assert!(!tables.contains("22200000001"), "a wrong identity number is kept");
}
