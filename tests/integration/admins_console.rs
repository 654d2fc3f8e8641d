//! The Admins page in headless Chromium: an owner invites an admin, the invitee sets the
//! account up from the link (password, authenticator by its key, a code) and signs in to a
//! console that shows only what their role allows; disabled by the owner, their open console
//! session ends on its own, and they cannot sign in again.

use serde_json::json;
use teller::config::SqlBackend;

use crate::admin::{Admin, bearer, make_admin, try_login};
use crate::admin_console::sign_in;
use crate::browser::Driver;
use crate::harness::{KvKind, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_invites_an_editor_who_sets_up_and_is_disabled_in_the_console() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let store = app.state.store.clone();
    let owner = make_admin(store.as_ref(), "owner@bank.example", "owner").await;
    let driver = Driver::start().await;
    sign_in(&driver, &app, &owner).await;

    // The owner invites an editor: the page hands over a link, once, and lists them invited.
    driver.click("a[data-nav='admins']").await;
    driver.wait_in("#view h1", "Admins").await;
    driver.wait_in("#admins", "owner@bank.example").await;
    driver.type_text("#invite-email", "newbie@bank.example").await;
    driver.run("document.getElementById('invite-role').value = 'editor';", json!([])).await;
    driver.click("#invite-form button[type='submit']").await;
    driver.wait_in("#notice", "newbie@bank.example is invited.").await;
    let link = driver.wait_in("#setup-link", "Send this link to newbie@bank.example").await;
    assert!(link.contains("It works once"), "{link}");
    let row = driver.wait_in("#admins tr[data-email='newbie@bank.example']", "Invited: not set up yet").await;
    assert!(row.contains("never"), "{row}");
    let url = driver.text_in("#setup-url").await;
    assert!(url.contains("/admin/#/setup/"), "{url}");
    driver.click("#logout").await;
    driver.wait_in("#login-form h1", "Sign in").await;

    // The invitee opens the link: whose account, a password, the QR code and the key by hand.
    driver.go(&url).await;
    driver.wait_in("#setup-form h1", "Welcome: set up your account").await;
    driver.wait_in("#setup-email", "For newbie@bank.example").await;
    assert!(driver.count("#setup-qr rect").await > 100, "a QR code is drawn");
    let key = driver.wait_in("#setup-secret", " ").await.replace(' ', "");
    let newbie = Admin::new(0, "newbie@bank.example", "twelve chars or more", key);
    driver.type_text("#new-password", &newbie.password).await;
    driver.type_text("#setup-code", "000000").await;
    driver.click("#setup-done").await;
    driver.wait_in("#setup-error", "not the one your authenticator app shows now").await;
    driver.run("document.getElementById('setup-code').value = '';", json!([])).await;
    driver.type_text("#setup-code", &newbie.code(0)).await;
    driver.click("#setup-done").await;
    driver.wait_in("#notice", "Your account is ready").await;
    driver.wait_in("#login-form h1", "Sign in").await;

    // Signed in, an editor sees flows but neither Customers nor Admins.
    driver.type_text("#email", &newbie.email).await;
    driver.type_text("#password", &newbie.password).await;
    driver.type_text("#code", &newbie.code(1)).await;
    driver.click("#login").await;
    driver.wait_in("#who", "newbie@bank.example (editor)").await;
    let nav = driver.text_in("#nav").await;
    assert!(nav.contains("Flows") && !nav.contains("Customers") && !nav.contains("Admins"), "{nav}");
    // Typed in by hand, a page the role does not open says so instead of a form that fails.
    driver.run("location.hash = '#/customers';", json!([])).await;
    driver.wait_in("#not-allowed", "Your role (editor) does not open this page.").await;
    assert_eq!(driver.count("#customer-phone").await, 0, "no customer search form");
    driver.run("location.hash = '#/flows';", json!([])).await;
    driver.wait_in("#view", "Published: release 1").await;

    // The owner disables them: the open console goes back to sign-in on its own, saying why.
    let api = bearer(&app, &owner, 1).await;
    let id = {
        let mut tx = store.begin().await.unwrap();
        let admin = tx.admin().admin_by_email("newbie@bank.example").await.unwrap().unwrap();
        tx.rollback().await.unwrap();
        admin.id
    };
    let (status, body) = api.post(&app, &format!("/admin/api/admins/{id}/disable"), json!({})).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    driver.wait_in("#notice", "Your session has ended: sign in again.").await;
    driver.wait_in("#login-form h1", "Sign in").await;
    let response = try_login(&app, &newbie, &newbie.password, &newbie.code(2), "bearer").await;
    assert_eq!(response.status(), reqwest::StatusCode::UNAUTHORIZED);
    driver.quit().await;
}
