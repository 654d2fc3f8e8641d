//! The care desk in headless Chromium, with the customer on the simulator (the whole
//! pipeline): an agent finds the ticket, claims it and answers; the customer receives the
//! answer and writes back, which shows without a reload; the agent closes the ticket, the
//! customer rates the help and the bot answers them again.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use teller::config::SqlBackend;

use crate::admin::make_admin;
use crate::browser::Driver;
use crate::harness::{KvKind, TestApp};

const PHONE: &str = "2348030000111";

/// Sends `text` as the customer through the simulator.
async fn customer_says(app: &TestApp, text: &str) {
    let sent = app
        .client
        .post(app.url("/simulator/api/messages"))
        .json(&json!({ "phone": PHONE, "text": text }))
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success(), "{}", sent.text().await.unwrap());
}

/// Waits until a message sent to the customer contains `needle`; its text.
async fn customer_sees(app: &TestApp, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let all: Value = app
            .client
            .get(app.url(&format!("/simulator/api/messages?phone={PHONE}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let text = all["messages"].to_string();
        if let Some(found) =
            all["messages"].as_array().unwrap().iter().find(|m| m.to_string().contains(needle))
        {
            return found.to_string();
        }
        assert!(Instant::now() < deadline, "the customer never saw {needle:?}: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_claims_answers_and_closes_a_ticket_and_the_bot_resumes() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    crate::conversations::customer(&app.state.bank, PHONE, "Amaka Eze", "4821", Some("3,000")).await;
    let agent = make_admin(app.state.store.as_ref(), "care@bank.example", "agent").await;
    customer_says(&app, "talk to a person").await;
    customer_sees(&app, "I have passed this chat to our customer care team").await;
    customer_says(&app, "my salary never arrived").await;
    customer_sees(&app, "Your message is with our customer care team").await;

    let driver = Driver::start().await;
    driver.go(&app.url("/admin")).await;
    driver.wait_in("#login-form h1", "Sign in").await;
    driver.type_text("#email", &agent.email).await;
    driver.type_text("#password", &agent.password).await;
    driver.type_text("#code", &agent.code(0)).await;
    driver.click("#login").await;
    driver.wait_in("#who", "care@bank.example (agent)").await;
    // An agent's console opens on the care desk; flows are not theirs.
    let queue = driver.wait_in("#ticket-queue", "TCK-").await;
    assert!(queue.contains("Amaka E.") && queue.contains("nobody yet"), "{queue}");
    // An `other` ticket is due its first answer within 4 hours.
    assert!(queue.contains("3 h 59 min left") || queue.contains("4 h 0 min left"), "{queue}");
    let nav = driver.text_in("#nav").await;
    assert!(nav.contains("Tickets") && !nav.contains("Flows"), "{nav}");
    driver.click("#ticket-queue a").await;
    driver.wait_in("#ticket-chat", "my salary never arrived").await;
    driver.wait_in("#ticket-state", "Nobody holds it yet.").await;
    driver.click("#ticket-claim").await;
    driver.wait_in("#ticket-state", "You hold it.").await;

    let answer = "Sorry about that. Which company pays your salary?";
    driver.type_text("#ticket-reply", answer).await;
    driver.click("#ticket-send").await;
    driver.wait_in("#notice", "Sent to the customer.").await;
    driver.wait_in("#ticket-chat", answer).await;
    customer_sees(&app, "Customer care (TCK-").await;
    customer_sees(&app, answer).await;
    // The customer's answer appears on the open page without a reload.
    customer_says(&app, "Dangote, it came in now, thank you").await;
    driver.wait_in("#ticket-chat", "Dangote, it came in now, thank you").await;

    driver.type_text("#ticket-resolution", "The salary arrived.").await;
    driver.click("#ticket-close").await;
    driver.wait_in("#notice", "Closed. The customer was asked to rate the help.").await;
    driver.wait_in("#ticket-state", "Closed: The salary arrived.").await;
    customer_sees(&app, "How did we do? Reply with a number from 1 (poor) to 5 (very good).").await;
    customer_says(&app, "5").await;
    customer_sees(&app, "Thank you for your rating").await;
    driver.wait_in("#ticket-state", "rated 5/5").await;
    customer_says(&app, "balance").await;
    customer_sees(&app, "Your available balance is ₦3,000.00.").await;
}
