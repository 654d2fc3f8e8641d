//! The console in headless Chromium: log in with a TOTP code, change a prompt in a draft, see
//! the compiler's error for a broken edit, fix it, try it in the preview, publish, see a new
//! conversation use the new text while one begun before finishes on the old, roll back.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use teller::config::SqlBackend;

use crate::admin::make_admin;
use crate::browser::Driver;
use crate::harness::{KvKind, TestApp};

const OLD: &str = "Done ✅ I will speak English from now on.";
const NEW: &str = "All set ✅ English it is.";

/// Sends `body` as the customer through the simulator (the whole pipeline) and waits for a
/// reply that contains `needle`.
async fn chat(app: &TestApp, phone: &str, body: Value, needle: &str) {
    let mut message = body;
    message["phone"] = json!(phone);
    let sent = app.client.post(app.url("/simulator/api/messages")).json(&message).send().await.unwrap();
    assert!(sent.status().is_success(), "{}", sent.text().await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let replies: Value = app
            .client
            .get(app.url(&format!("/simulator/api/messages?phone={phone}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let text = replies.to_string();
        if text.contains(needle) {
            return;
        }
        assert!(Instant::now() < deadline, "{phone} never got {needle:?}: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn tap_english() -> Value {
    json!({ "reply": { "id": "en", "title": "English", "kind": "button" } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_edits_tries_publishes_and_rolls_back_a_flow_in_the_console() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let admin = make_admin(app.state.store.as_ref(), "publisher@bank.example", "publisher").await;
    for phone in ["2348030000101", "2348030000102", "2348030000103"] {
        crate::conversations::customer(&app.state.bank, phone, "Ada Obi", "4821", None).await;
    }
    let release_one = app.state.conversations.current().version.clone();
    // A conversation begins on release 1 and waits at the language question.
    chat(&app, "2348030000101", json!({ "text": "language" }), "Which language should I use?").await;

    let driver = Driver::start().await;
    driver.go(&app.url("/admin")).await;
    driver.type_text("#email", &admin.email).await;
    driver.type_text("#password", &admin.password).await;
    driver.type_text("#code", &admin.code(0)).await;
    driver.click("#login").await;
    driver.wait_for_text("Published: release 1").await;

    driver.type_text("#draft-title", "Warmer language confirmation").await;
    driver.click("#new-draft").await;
    driver.wait_for_text("Try this draft").await;
    driver.click("button[data-file='language.yaml']").await;
    let edit = "const t = document.getElementById('editor'); t.value = t.value.replace(arguments[0], arguments[1]); \
                t.dispatchEvent(new Event('input')); return t.value.includes(arguments[1]);";

    // A broken edit: the compiler's error shows, at its line, and publishing is not possible.
    assert_eq!(driver.run(edit, json!(["next: done", "next: dnoe"])).await, json!(true));
    driver.click("#save").await;
    driver.wait_for_text("language.yaml:20:").await;
    driver.wait_for_text("language.yaml:20:").await;
    driver.wait_for_text("no step `dnoe` in this flow").await;
    driver.wait_for_text("errors: cannot publish").await;
    assert!(driver.count("#gutter span.bad").await >= 1, "the line is marked in the gutter");
    driver.click("#publish").await;
    driver.click("#dialog-ok").await;
    driver.wait_for_text("The flows have errors").await;

    // Fixed, and the prompt changed.
    assert_eq!(driver.run(edit, json!(["next: dnoe", "next: done"])).await, json!(true));
    assert_eq!(driver.run(edit, json!([OLD, NEW])).await, json!(true));
    driver.click("#save").await;
    driver.wait_for_text("No errors").await;

    // Tried in the preview pane before any customer sees it.
    driver.type_text("#preview-text", "language").await;
    driver.click("#preview-send").await;
    driver.wait_for_text("Which language should I use?").await;
    driver.click("#preview-chat button[data-id='en']").await;
    driver.wait_for_text(NEW).await;
    assert_eq!(app.state.conversations.current().version, release_one, "trying a draft publishes nothing");
    let (_, releases) = crate::admin::answer(app.client.get(app.url("/admin/api/releases"))).await;
    assert_eq!(releases["error"], "unauthorized", "the API needs a session");

    driver.click("#diff").await;
    driver.wait_for_text("Changes against release 1").await;
    driver.click("#graph").await;
    driver.wait_for_text("ask: choose").await;

    driver.click("#publish").await;
    driver.wait_for_text("Publish \"Warmer language confirmation\"?").await;
    driver.click("#dialog-ok").await;
    driver.wait_for_text("Published as release 2").await;
    assert_ne!(app.state.conversations.current().version, release_one);

    // A new conversation has the new words; the one begun before finishes on the old.
    chat(&app, "2348030000102", json!({ "text": "language" }), "Which language should I use?").await;
    chat(&app, "2348030000102", tap_english(), NEW).await;
    chat(&app, "2348030000101", tap_english(), OLD).await;

    // Roll back to release 1 from the history.
    driver.wait_for_text("Roll back to this").await;
    driver.click("button.rollback[data-release='1']").await;
    driver.click("#dialog-ok").await;
    driver.wait_for_text("Rolled back: release 3 serves release 1's flows").await;
    chat(&app, "2348030000103", json!({ "text": "language" }), "Which language should I use?").await;
    chat(&app, "2348030000103", tap_english(), OLD).await;

    // The audit log shows it all, by this admin.
    driver.go(&app.url("/admin#/audit")).await;
    driver.wait_for_text("flow.rolled_back").await;
    driver.wait_for_text("flow.published").await;
    driver.wait_for_text("admin.login").await;

    // The loan book, with its ledger check and the products in force.
    driver.click("a[data-nav='loans']").await;
    driver.wait_for_text("Loan book on").await;
    driver.wait_for_text("✓ The ledger agrees").await;
    driver.wait_for_text("Starter loan (starter)").await;
    driver.click("#logout").await;
    driver.wait_for_text("Sign in").await;
    driver.quit().await;
}

/// Four eyes in the console: a publisher opens a colleague's draft that changes a money flow,
/// reads that it needs a second approval, approves it, and cannot publish what they approved;
/// the colleague then can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_publisher_approves_a_money_flow_change_in_the_console() {
    use crate::admin::{Session, bearer};
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let ade = make_admin(app.state.store.as_ref(), "ade@bank.example", "publisher").await;
    let bisi = make_admin(app.state.store.as_ref(), "bisi@bank.example", "publisher").await;
    let author: Session = bearer(&app, &ade, 0).await;
    let (_, made) = author.post(&app, "/admin/api/drafts", json!({ "title": "Shorter receipt" })).await;
    let id = made["id"].as_i64().unwrap();
    let (_, draft) = author.get(&app, &format!("/admin/api/drafts/{id}")).await;
    let text = draft["files"]["send_to_customer.yaml"].as_str().unwrap().replace("✅ Sent", "✅ Done: sent");
    let path = format!("/admin/api/drafts/{id}/files/send_to_customer.yaml");
    let (_, edited) = author.put(&app, &path, json!({ "revision": draft["revision"], "text": text })).await;

    let driver = Driver::start().await;
    driver.go(&app.url("/admin")).await;
    driver.type_text("#email", &bisi.email).await;
    driver.type_text("#password", &bisi.password).await;
    driver.type_text("#code", &bisi.code(0)).await;
    driver.click("#login").await;
    driver.wait_for_text("Published: release 1").await;
    driver.go(&app.url(&format!("/admin#/drafts/{id}"))).await;
    driver.wait_for_text("This draft changes flows that move money (send_to_customer.yaml): a second publisher must approve it").await;
    driver.click("#approve").await;
    driver.wait_for_text("Approve \"Shorter receipt\" as it is now?").await;
    driver.click("#dialog-ok").await;
    driver.wait_for_text("approved by admin:2. Someone else publishes it.").await;
    driver.wait_for_text("Approved. Another publisher can publish it now.").await;
    // The approver cannot publish what they approved.
    driver.click("#publish").await;
    driver.click("#dialog-ok").await;
    driver.wait_for_text("You approved this draft yourself: another publisher must publish it").await;
    driver.quit().await;

    let (status, published) = author
        .post(&app, &format!("/admin/api/drafts/{id}/publish"), json!({ "revision": edited["revision"] }))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{published}");
    assert_eq!(published["release"]["number"], 2);
}
