//! The console in headless Chromium: log in with a TOTP code, change a prompt in a draft, see
//! the compiler's error for a broken edit, fix it, try it in the preview, publish, see a new
//! conversation use the new text while one begun before finishes on the old, roll back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use teller::clock::ManualClock;
use teller::config::SqlBackend;

use crate::admin::make_admin;
use crate::browser::Driver;
use crate::harness::{KvKind, TestApp};

const OLD: &str = "Done ✅ I will speak English from now on.";
const NEW: &str = "All set ✅ English it is.";

/// Sends `body` as the customer through the simulator (the whole pipeline) and waits for a
/// reply to that message (not an earlier one) that contains `needle`.
pub(crate) async fn chat(app: &TestApp, phone: &str, body: Value, needle: &str) {
    let mut message = body;
    message["phone"] = json!(phone);
    let sent = app.client.post(app.url("/simulator/api/messages")).json(&message).send().await.unwrap();
    assert!(sent.status().is_success(), "{}", sent.text().await.unwrap());
    let id = sent.json::<Value>().await.unwrap()["id"].clone();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let all: Value = app
            .client
            .get(app.url(&format!("/simulator/api/messages?phone={phone}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let replies: Vec<&Value> =
            all["messages"].as_array().unwrap().iter().filter(|m| m["in_reply_to"] == id).collect();
        let text = serde_json::to_string(&replies).unwrap();
        if text.contains(needle) {
            return;
        }
        assert!(Instant::now() < deadline, "{phone} never got {needle:?} in reply to {id}: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Signs `admin` in through the login form; the header then names them.
pub(crate) async fn sign_in(driver: &Driver, app: &TestApp, admin: &crate::admin::Admin) {
    driver.go(&app.url("/admin")).await;
    driver.wait_in("#login-form h1", "Sign in").await;
    driver.type_text("#email", &admin.email).await;
    driver.type_text("#password", &admin.password).await;
    driver.type_text("#code", &admin.code(0)).await;
    driver.click("#login").await;
    driver.wait_in("#who", &admin.email).await;
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
    sign_in(&driver, &app, &admin).await;
    let card = driver.wait_in("#view .card", "Published: release 1").await;
    assert!(card.contains("by teller (from the flows folder)") && card.contains("(Africa/Lagos)"), "{card}");

    driver.type_text("#draft-title", "Warmer language confirmation").await;
    driver.click("#new-draft").await;
    driver.wait_in("#view h1", "Draft 1: Warmer language confirmation").await;
    driver.click("button[data-file='language.yaml']").await;
    driver.wait_in(".files button.current", "language.yaml").await;
    let edit = "const t = document.getElementById('editor'); t.value = t.value.replace(arguments[0], arguments[1]); \
                t.dispatchEvent(new Event('input')); return t.value.includes(arguments[1]);";

    // A broken edit: the compiler's error shows, at its line, and publishing is not possible.
    assert_eq!(driver.run(edit, json!(["next: done", "next: dnoe"])).await, json!(true));
    driver.click("#save").await;
    driver.wait_in("#notice", "Saved language.yaml.").await;
    let diagnostics = driver.wait_in("#diagnostics", "language.yaml:32:").await;
    assert!(diagnostics.contains("no step `dnoe` in this flow; did you mean `done`?"), "{diagnostics}");
    // One mistake, one error: the step it surely meant is not reported unreachable too.
    assert!(!diagnostics.contains("can never be reached"), "{diagnostics}");
    driver.wait_in("#status", "1 error: cannot publish").await;
    assert_eq!(driver.text_in("#gutter span.bad").await, "32", "the line is marked in the gutter");
    driver.click("#publish").await;
    driver.wait_in("#dialog-text", "Publish \"Warmer language confirmation\"?").await;
    driver.click("#dialog-ok").await;
    driver.wait_in("#notice", "The flows have errors").await;

    // Fixed, and the prompt changed.
    assert_eq!(driver.run(edit, json!(["next: dnoe", "next: done"])).await, json!(true));
    assert_eq!(driver.run(edit, json!([OLD, NEW])).await, json!(true));
    driver.click("#save").await;
    driver.wait_in("#status", "No errors").await;
    assert_eq!(driver.text_in("#diagnostics").await, "", "no diagnostics are left");

    // Tried in the preview pane before any customer sees it.
    driver.type_text("#preview-text", "language").await;
    driver.click("#preview-send").await;
    driver.wait_in("#preview-chat li:last-child", "Which language should I use?").await;
    driver.wait_in("#preview-session", "flow language").await;
    driver.click("#preview-chat button[data-id='en']").await;
    driver.wait_in("#preview-chat li:last-child", NEW).await;
    assert_eq!(app.state.conversations.current().version, release_one, "trying a draft publishes nothing");
    let (_, releases) = crate::admin::answer(app.client.get(app.url("/admin/api/releases"))).await;
    assert_eq!(releases["error"], "unauthorized", "the API needs a session");

    // The diff shows the changed line, removed and added, as text.
    driver.click("#diff").await;
    let diff = driver.wait_in("#output", "Changes against release 1").await;
    assert!(diff.contains("language.yaml (changed)"), "{diff}");
    assert!(diff.contains(&format!("-      en: \"{OLD}")), "{diff}");
    assert!(diff.contains(&format!("+      en: \"{NEW}")), "{diff}");
    assert!(!diff.contains("[object"), "{diff}");
    driver.click("#graph").await;
    driver.wait_in("#output h2", "Steps of language").await;
    driver.wait_in("#graph-view", "ask: choose").await;

    driver.click("#publish").await;
    driver.wait_in("#dialog-text", "Publish \"Warmer language confirmation\"?").await;
    driver.click("#dialog-ok").await;
    driver.wait_in("#notice", "Published as release 2.").await;
    // The overview names the release by its draft and its publisher.
    driver.go(&app.url("/admin#/flows")).await;
    let card = driver.wait_in("#view .card", "Published: release 2").await;
    assert!(card.contains("“Warmer language confirmation”") && card.contains(&admin.email), "{card}");
    driver.click("a[data-nav='history']").await;
    // History names the draft, its publisher by email and the time in the bank's zone.
    let row = driver.wait_in("#releases tr[data-release='2']", "“Warmer language confirmation”").await;
    assert!(row.contains(&admin.email) && !row.contains("admin:"), "{row}");
    assert!(row.contains("WAT (Africa/Lagos)"), "{row}");
    driver.wait_in("#releases tr[data-release='1']", "teller (from the flows folder)").await;
    // Its changes show the changed line, removed and added, as text.
    driver.click("#releases tr[data-release='2'] button.show-diff").await;
    let changes = driver.wait_in("#release-diff", "Release 2 against 1").await;
    assert!(changes.contains(&format!("-      en: \"{OLD}")), "{changes}");
    assert!(changes.contains(&format!("+      en: \"{NEW}")), "{changes}");
    assert!(!changes.contains("[object"), "{changes}");
    assert_ne!(app.state.conversations.current().version, release_one);

    // A new conversation has the new words; the one begun before finishes on the old.
    chat(&app, "2348030000102", json!({ "text": "language" }), "Which language should I use?").await;
    chat(&app, "2348030000102", tap_english(), NEW).await;
    chat(&app, "2348030000101", tap_english(), OLD).await;

    // Roll back to release 1 from the history.
    driver.wait_in("#releases tr[data-release='1']", "Roll back to this").await;
    driver.click("button.rollback[data-release='1']").await;
    driver.wait_in("#dialog-text", "Publish release 1's flows again, as release 3?").await;
    driver.click("#dialog-ok").await;
    driver.wait_in("#notice", "Rolled back: release 3 serves release 1's flows").await;
    driver.wait_in("#releases tr[data-release='3']", "Rollback to release 1").await;
    chat(&app, "2348030000103", json!({ "text": "language" }), "Which language should I use?").await;
    chat(&app, "2348030000103", tap_english(), OLD).await;

    // The audit log shows it all, by this admin.
    driver.go(&app.url("/admin#/audit")).await;
    let audit = driver.wait_in("#audit", "flow.rolled_back").await;
    for action in ["flow.published", "flow.draft_edited", "flow.draft_created", "admin.login"] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
    // Who, by email, and when, in the bank's zone whatever the browser's.
    let who = driver
        .run("return Array.from(document.querySelectorAll('#audit tr td:nth-child(2)')).map((td) => td.textContent);", json!([]))
        .await;
    let who: Vec<String> = serde_json::from_value(who).unwrap();
    assert!(who.contains(&admin.email) && who.iter().all(|w| !w.starts_with("admin:")), "{who:?}");
    assert!(audit.contains("(Africa/Lagos)"), "{audit}");

    // The loan book, with its ledger check and the products in force.
    driver.click("a[data-nav='loans']").await;
    driver.wait_in("#view h1", "Loan book on").await;
    driver.wait_in("#ledger-check", "✓ The ledger agrees").await;
    driver.wait_in("#loan-catalogue", "Starter loan (starter)").await;
    driver.click("#logout").await;
    driver.wait_in("#login-form h1", "Sign in").await;
    assert_eq!(driver.text_in("#who").await, "", "no one is named once signed out");
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
    sign_in(&driver, &app, &bisi).await;
    driver.wait_in("#view .card", "Published: release 1").await;
    driver.go(&app.url(&format!("/admin#/drafts/{id}"))).await;
    driver.wait_in("#approval", "This draft changes flows that move money (send_to_customer.yaml): a second publisher must approve it").await;
    driver.click("#approve").await;
    driver.wait_in("#dialog-text", "Approve \"Shorter receipt\" as it is now?").await;
    driver.click("#dialog-ok").await;
    driver.wait_in("#approval", &format!("approved by admin:{}. Someone else publishes it.", bisi.id)).await;
    driver.wait_in("#notice", "Approved. Another publisher can publish it now.").await;
    // The approver cannot publish what they approved.
    driver.click("#publish").await;
    driver.wait_in("#dialog-text", "Publish \"Shorter receipt\"?").await;
    driver.click("#dialog-ok").await;
    driver.wait_in("#notice", "You approved this draft yourself: another publisher must publish it").await;
    driver.quit().await;

    let (status, published) = author
        .post(&app, &format!("/admin/api/drafts/{id}/publish"), json!({ "revision": edited["revision"] }))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{published}");
    assert_eq!(published["release"]["number"], 2);
}

/// An operator looks up a customer whose PIN is blocked until someone lifts it (not locked for
/// a while): the console says so, with how many locks came in a row, and the operator lifts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_reads_a_blocked_pin_and_lifts_it_in_the_console() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let (phone, key) = ("2348030000055", "wa:2348030000055");
    // Wrong PINs on a clock of our own, a day apart, until the locks in a row block the PIN.
    let clock = Arc::new(ManualClock::new(chrono::Utc::now() - chrono::Duration::days(10)));
    let bank = crate::harness::bank(app.state.store.clone(), app.state.kv.clone(), clock.clone());
    crate::conversations::customer(&bank, phone, "Ngozi Okafor", "4821", None).await;
    for _ in 0..8 {
        if bank.customer(key).await.unwrap().unwrap().pin_blocked != 0 {
            break;
        }
        for _ in 0..3 {
            bank.verify_pin(key, "0000").await.unwrap();
        }
        clock.advance(chrono::Duration::days(1));
    }
    let blocked = bank.customer(key).await.unwrap().unwrap();
    assert_ne!(blocked.pin_blocked, 0, "the PIN was never blocked: {blocked:?}");

    let operator = make_admin(app.state.store.as_ref(), "ops@bank.example", "operator").await;
    let driver = Driver::start().await;
    sign_in(&driver, &app, &operator).await;
    driver.click("a[data-nav='customers']").await;
    driver.wait_in("#view h1", "Customers").await;
    driver.type_text("#customer-phone", "08030000055").await;
    driver.click("#customer-search").await;
    driver.wait_in("#customer h2", "Ngozi O.").await;
    let pin = driver.wait_in("#pin-state", "PIN blocked until an operator unlocks it").await;
    assert!(pin.contains(&format!("(lock {} in a row)", blocked.pin_locks)), "{pin}");
    driver.click("#unlock").await;
    driver.wait_in("#dialog-text", "Lift this customer's PIN lockout?").await;
    driver.click("#dialog-ok").await;
    driver.wait_in("#notice", "PIN unlocked.").await;
    driver.wait_in("#pin-state", "PIN not locked").await;
    assert_eq!(driver.count("#unlock").await, 0, "nothing left to lift");
    assert_eq!(bank.customer(key).await.unwrap().unwrap().pin_blocked, 0);
    driver.quit().await;
}

/// A customer refused a PIN reset after wrong answers calls care: the operator reads why and
/// until when, checks who they are and lets them try again. After the reset in the chat, the
/// operator reads when it happened, and until when transfers are held to the smaller limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_lets_a_customer_retry_a_pin_reset_then_reads_it_and_the_smaller_limits() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let (phone, key) = ("2348030000056", "wa:2348030000056");
    let bank = &app.state.bank;
    crate::conversations::customer(bank, phone, "Bisi Adewale", "4821", None).await;
    let id_number = crate::conversations::id_number_of(phone);
    for _ in 0..3 {
        bank.check_identity(key, "1990-05-18", &id_number).await.unwrap();
    }

    let operator = make_admin(app.state.store.as_ref(), "ops2@bank.example", "operator").await;
    let driver = Driver::start().await;
    sign_in(&driver, &app, &operator).await;
    driver.click("a[data-nav='customers']").await;
    driver.wait_in("#view h1", "Customers").await;
    driver.type_text("#customer-phone", "08030000056").await;
    driver.click("#customer-search").await;
    driver.wait_in("#customer h2", "Bisi A.").await;
    driver.wait_in("#pin-state", "PIN not locked").await;
    let refused =
        driver.wait_in("#reset-refused", "were wrong too many times: they may try again after").await;
    assert!(refused.contains("date of birth, BVN or NIN"), "{refused}");
    assert_eq!(driver.count("#pin-reset").await, 0, "no reset yet");
    driver.click("#unlock").await;
    driver.wait_in("#dialog-text", "Lift this customer's refusal, and let them reset a forgotten PIN").await;
    driver.click("#dialog-ok").await;
    driver.wait_in("#notice", "PIN unlocked.").await;
    // The PIN was not locked before either: the refusal's line going is what shows the change.
    driver.wait_gone("#reset-refused").await;
    driver.wait_in("#pin-state", "PIN not locked").await;
    assert_eq!(driver.count("#unlock").await, 0, "nothing left to lift");

    let checked = bank.check_identity(key, "1990-05-17", &id_number).await.unwrap();
    assert_eq!(checked, teller::bank::IdentityCheck::Confirmed);
    bank.choose_pin(key, "7392").await.unwrap().unwrap();
    assert_eq!(bank.confirm_pin(key, "7392").await.unwrap(), Some(true));
    assert!(matches!(bank.reset_pin(key).await.unwrap(), teller::bank::PinReset::Done { .. }));
    driver.click("#customer-search").await;
    let reset = driver.wait_in("#pin-reset", "The customer reset a forgotten PIN in the chat").await;
    assert!(reset.contains("transfers are held to the smaller limits until"), "{reset}");
    driver.quit().await;
}
