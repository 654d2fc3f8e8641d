//! The console's preview bank as an admin uses it to try a loan: a test customer opens an
//! account by chatting with a draft, gets money through the bank's credit path and an older
//! account, and is then offered a loan; refusals change nothing. Through the API on both
//! backends, and in headless Chromium, reading what the admin reads.

use reqwest::StatusCode;
use serde_json::{Value, json};
use teller::config::SqlBackend;

use crate::admin::{Session, bearer, make_admin};
use crate::browser::Driver;
use crate::harness::{KvKind, TestApp, assert_ledger_sound};

crate::harness::on_both_sql_backends!(a_test_customer_gets_money_and_an_older_account_and_can_then_borrow);

/// What the preview answered to `message`, its replies' text joined.
pub(crate) async fn say(s: &Session, app: &TestApp, draft: i64, message: Value) -> String {
    let (status, answer) = s.post(app, &format!("/admin/api/drafts/{draft}/preview"), message).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["replies"].to_string()
}

/// Opens the admin's test customer's account by chatting with draft `draft`.
pub(crate) async fn register(s: &Session, app: &TestApp, draft: i64) {
    let text = |t: &str| json!({ "text": t });
    assert!(say(s, app, draft, text("hello")).await.contains("You can open an account here"));
    let tapped = say(s, app, draft, json!({ "reply": { "id": "open", "title": "Open an account" } })).await;
    assert!(tapped.contains("What is your first name"), "{tapped}");
    for (answer, next) in [
        ("Ada", "And your surname?"),
        ("Obi", "What is your date of birth?"),
        ("17/05/1990", "What is your BVN or NIN?"),
        ("22212345678", "Choose a PIN of 4 to 6 digits"),
        ("4821", "Enter the same PIN again"),
        ("4821", "terms and privacy notice"),
    ] {
        let reply = say(s, app, draft, text(answer)).await;
        assert!(reply.contains(next), "{answer}: {reply}");
    }
    let opened = say(s, app, draft, json!({ "reply": { "id": "yes", "title": "Yes" } })).await;
    assert!(opened.contains("Your account is open"), "{opened}");
}

async fn a_test_customer_gets_money_and_an_older_account_and_can_then_borrow(backend: SqlBackend) {
    let kv = if backend == SqlBackend::Postgres { KvKind::Redis } else { KvKind::Memory };
    let app = TestApp::spawn(backend, kv).await;
    let admin = make_admin(app.state.store.as_ref(), "product@bank.example", "editor").await;
    let s = bearer(&app, &admin, 0).await;
    let (status, draft) = s.post(&app, "/admin/api/drafts", json!({ "title": "Try a loan" })).await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    let draft = draft["id"].as_i64().unwrap();

    // Before the test customer has an account: a clear refusal.
    for (path, body) in [
        ("/admin/api/preview/credit", json!({ "amount": "50000" })),
        ("/admin/api/preview/age", json!({ "days": 45 })),
    ] {
        let (status, refused) = s.post(&app, path, body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert!(refused["error"].as_str().unwrap().contains("no account yet"), "{refused}");
    }
    register(&s, &app, draft).await;
    let loan = say(&s, &app, draft, json!({ "text": "loan" })).await;
    assert!(loan.contains("You can borrow once your account is 30 days old"), "{loan}");

    // Amounts that are not amounts, and more than the tier may hold: refused, nothing added.
    for (amount, why) in [
        ("$50", "\"$50\" was not added: the amount is in another currency."),
        ("nan", "\"nan\" was not added: not an amount."),
        ("-5", "\"-5\" was not added: the amount must be more than zero."),
        ("₦400,000", "above their tier's maximum balance"),
    ] {
        let (status, refused) = s.post(&app, "/admin/api/preview/credit", json!({ "amount": amount })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{amount}: {refused}");
        assert!(refused["error"].as_str().unwrap().contains(why), "{amount}: {refused}");
    }
    let (status, refused) = s.post(&app, "/admin/api/preview/age", json!({ "days": 3651 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("at most 3650 days"), "{refused}");
    let (status, _) = s.post(&app, "/admin/api/preview/age", json!({ "days": -1 })).await;
    assert!(status.is_client_error(), "{status}");

    // Money in twice (each add is its own credit), and the account aged, twice (the same age).
    let mut phone = String::new();
    for balance in ["₦60,000.00", "₦120,000.00"] {
        let (status, funded) =
            s.post(&app, "/admin/api/preview/credit", json!({ "amount": "₦60,000" })).await;
        assert_eq!(status, StatusCode::OK, "{funded}");
        assert_eq!(
            (funded["done"].as_str(), funded["balance"].as_str()),
            (Some("Added ₦60,000.00."), Some(balance))
        );
        assert_eq!(funded["age_days"], 0, "{funded}");
        phone = funded["phone"].as_str().unwrap().to_owned();
    }
    for _ in 0..2 {
        let (status, aged) = s.post(&app, "/admin/api/preview/age", json!({ "days": 45 })).await;
        assert_eq!(status, StatusCode::OK, "{aged}");
        assert_eq!(aged["done"], "The account is now 45 days old.", "{aged}");
        assert_eq!((aged["age_days"].as_i64(), aged["balance"].as_str()), (Some(45), Some("₦120,000.00")));
    }

    // ₦120,000 over 90 days is ₦40,000 a month: a loan is offered.
    let loan = say(&s, &app, draft, json!({ "text": "loan" })).await;
    assert!(loan.contains("You can borrow from ₦1,000.00 up to ₦20,000.00"), "{loan}");
    assert!(loan.contains("How much would you like to borrow?"), "{loan}");

    // The preview's books balance, and the real bank was never touched.
    assert_ledger_sound(&app.state.previews.bank().expect("the preview bank was made")).await;
    assert_ledger_sound(&app.state.bank).await;
    let real = app.state.bank.customer(&format!("wa:{phone}")).await.unwrap();
    assert!(real.is_none(), "the test customer {phone} is not a customer of the real bank");
}

/// The admin's view of the same: each control shows what it did where the admin looks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_funds_and_ages_a_test_customer_in_the_console_and_is_offered_a_loan() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let admin = make_admin(app.state.store.as_ref(), "product@bank.example", "editor").await;
    let driver = Driver::start().await;
    driver.go(&app.url("/admin")).await;
    driver.wait_in("#login-form h1", "Sign in").await;
    driver.type_text("#email", &admin.email).await;
    driver.type_text("#password", &admin.password).await;
    driver.type_text("#code", &admin.code(0)).await;
    driver.click("#login").await;
    driver.wait_in("#who", &admin.email).await;
    driver.type_text("#draft-title", "Try a loan").await;
    driver.click("#new-draft").await;
    driver.wait_in("#view h1", "Draft 1: Try a loan").await;

    driver.type_text("#preview-amount", "50000").await;
    driver.click("#preview-fund").await;
    driver.wait_in("#preview-customer", "The test customer has no account yet").await;
    driver.run("document.getElementById('preview-amount').value = ''", json!([])).await;

    let last = "#preview-chat li:last-child";
    driver.type_text("#preview-text", "hello").await;
    driver.click("#preview-send").await;
    driver.wait_in(last, "You can open an account here").await;
    driver.click("#preview-chat button[data-id='open']").await;
    driver.wait_in(last, "What is your first name").await;
    for (answer, next) in [
        ("Ada", "And your surname?"),
        ("Obi", "What is your date of birth?"),
        ("17/05/1990", "What is your BVN or NIN?"),
        ("22212345678", "Choose a PIN of 4 to 6 digits"),
        ("4821", "Enter the same PIN again"),
        ("4821", "terms and privacy notice"),
    ] {
        driver.type_text("#preview-text", answer).await;
        driver.click("#preview-send").await;
        driver.wait_in(last, next).await;
    }
    driver.click("#preview-chat li:last-child button[data-id='yes']").await;
    driver.wait_in("#preview-chat", "Your account is open").await;

    driver.type_text("#preview-amount", "₦120,000").await;
    driver.click("#preview-fund").await;
    driver.wait_in("#preview-customer", "Added ₦120,000.00. Balance ₦120,000.00 · account 0 days old").await;
    driver.type_text("#preview-days", "45").await;
    driver.click("#preview-age").await;
    driver
        .wait_in(
            "#preview-customer",
            "The account is now 45 days old. Balance ₦120,000.00 · account 45 days old",
        )
        .await;

    driver.type_text("#preview-text", "loan").await;
    driver.click("#preview-send").await;
    driver.wait_in(last, "How much would you like to borrow?").await;
    let chat = driver.text_in("#preview-chat").await;
    assert!(chat.contains("You can borrow from ₦1,000.00 up to ₦20,000.00"), "{chat}");
    assert_ledger_sound(&app.state.previews.bank().unwrap()).await;
}
