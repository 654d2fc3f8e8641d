//! The Operations page in headless Chromium: an operator resolves a small transfer held in
//! suspense at once and asks for a large one, which waits; an owner signs in and approves it;
//! the money is where the rail said, once, and the ledger is sound.

use chrono::{Duration, Utc};
use serde_json::json;
use teller::config::SqlBackend;

use crate::admin::make_admin;
use crate::admin_console::sign_in;
use crate::browser::Driver;
use crate::harness::{self, KvKind, TestApp, TestDb, assert_ledger_sound};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_resolves_suspense_in_the_console_and_an_owner_approves_the_large_one() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    db.store().await.close().await;
    let mut env = harness::base_env(&db);
    env.insert("OPERATOR_APPROVAL_ABOVE".into(), "20000".into());
    let app = TestApp::spawn_with(harness::config(env, harness::kv_config(KvKind::Memory)), db, |r| r).await;
    let store = app.state.store.clone();
    let phone = "2348031234588";
    crate::conversations::customer(&app.state.bank, phone, "Bola Ade", "4821", Some("100,000")).await;
    let wallet = {
        let mut tx = store.begin().await.unwrap();
        let customer = tx.customers().customer_by_alias(&format!("wa:{phone}")).await.unwrap().unwrap();
        let wallet = tx.bank().customer_account(customer.id, "wallet").await.unwrap().unwrap();
        tx.rollback().await.unwrap();
        wallet.id
    };
    let made = Utc::now() - Duration::days(4);
    let small = crate::worker::pending_transfer(&store, wallet, "0123456780", 1_000_000, made).await;
    let large = crate::worker::pending_transfer(&store, wallet, "0123456781", 3_000_000, made).await;
    for reference in [&small, &large] {
        assert!(app.state.bank.suspend(reference).await.unwrap());
    }
    let operator = make_admin(store.as_ref(), "ops@bank.example", "operator").await;
    let owner = make_admin(store.as_ref(), "boss@bank.example", "owner").await;
    let driver = Driver::start().await;
    sign_in(&driver, &app, &operator).await;
    driver.click("a[data-nav='operations']").await;
    driver.wait_in("#view h1", "Operations").await;
    driver.wait_in("#approval-rule", "Corrections above ₦20,000.00 wait for a second admin's approval").await;
    let row = |r: &str| format!("#suspense tr[data-reference='{r}']");
    driver.wait_in(&row(&small), "₦10,000.00 + ₦26.88 fee").await;

    // The small one, delivered: resolved at once.
    driver.type_text(&format!("{} .evidence", row(&small)), "NIP session 000015261205").await;
    driver.type_text(&format!("{} .reason", row(&small)), "GTBank confirmed").await;
    driver.click(&format!("{} .resolve", row(&small))).await;
    driver.wait_in("#dialog-text", &format!("Resolve {small} as sent?")).await;
    driver.click("#dialog-ok").await;
    driver.wait_in("#notice", &format!("Transfer {small} sent: posted from suspense to the rail.")).await;
    assert_eq!(driver.count(&row(&small)).await, 0, "no longer in suspense");

    // The large one, returned: it waits for someone else.
    driver
        .run(&format!("document.querySelector(\"{} .outcome\").value = 'returned';", row(&large)), json!([]))
        .await;
    driver.type_text(&format!("{} .evidence", row(&large)), "Returned: account closed, RVSL-88").await;
    driver.type_text(&format!("{} .reason", row(&large)), "Rail returned it").await;
    driver.click(&format!("{} .resolve", row(&large))).await;
    driver.wait_in("#dialog-text", "The money goes back to the customer.").await;
    driver.click("#dialog-ok").await;
    driver.wait_in("#notice", "waits for a second admin's approval").await;
    let waiting = driver.wait_in("#requests tr[data-request='2']", "another admin approves").await;
    assert!(waiting.contains("₦30,026.88") && waiting.contains("pending"), "{waiting}");
    driver.click("#logout").await;
    driver.wait_in("#login-form h1", "Sign in").await;

    // The owner approves it: the money goes back, once.
    sign_in(&driver, &app, &owner).await;
    driver.click("a[data-nav='operations']").await;
    driver.wait_in("#requests tr[data-request='2']", "Rail returned it").await;
    driver.click("#requests tr[data-request='2'] .approve").await;
    driver.wait_in("#dialog-text", "Approve request 2? It runs now.").await;
    driver.click("#dialog-ok").await;
    driver.wait_in("#notice", "Request 2: done.").await;
    driver.wait_in("#suspense", "No transfer is held in suspense.").await;
    let state = driver.wait_in("#requests tr[data-request='2'] .state", "done").await;
    assert_eq!(state, "done");
    let account = {
        let mut tx = store.begin().await.unwrap();
        let account = tx.bank().account(wallet).await.unwrap().unwrap();
        tx.rollback().await.unwrap();
        account
    };
    assert_eq!(account.posted, 10_000_000 - 1_000_000 - 2_688, "the small one left, the large one came back");
    assert_ledger_sound(&app.state.bank).await;
    driver.quit().await;
}
