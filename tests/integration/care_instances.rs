//! Handover across two `serve` instances sharing PostgreSQL and Redis: the customer writes to
//! one instance while an agent answers through the other. Each customer message reaches the
//! ticket once, in the order it was sent; each answer reaches the customer once, in the order
//! the agent sent them.

use std::time::{Duration, Instant};

use chrono::Utc;
use secrecy::ExposeSecret;
use serde_json::json;
use teller::config::{Config, SqlBackend};
use teller::signature;

use crate::admin::{bearer, make_admin};
use crate::harness::{self, FakeGraph, KvKind, TestApp, TestDb, text_notification_at};

const SECRET: &str = "care-app-secret";
const PHONE: &str = "2348030000123";

async fn instance(graph: &FakeGraph, shared: Option<&TestApp>) -> TestApp {
    let mut env = graph.env();
    env.push(("WHATSAPP_SEND_RATE".to_owned(), "10000".to_owned()));
    env.push(("WHATSAPP_APP_SECRET".to_owned(), SECRET.to_owned()));
    match shared {
        None => {
            let db = TestDb::new(SqlBackend::Postgres).await;
            db.store().await.close().await;
            let mut base = harness::base_env(&db);
            base.extend(env);
            TestApp::spawn_with(harness::config(base, harness::kv_config(KvKind::Redis)), db, |r| r).await
        }
        Some(first) => {
            env.push(("PORT".to_owned(), "0".to_owned()));
            env.push(("DATABASE_URL".to_owned(), first.state.config.database.url.expose_secret().to_owned()));
            env.push(("SECRETS_KEY".to_owned(), harness::TEST_SECRETS_KEY.to_owned()));
            let mut config = Config::from_vars(env).unwrap();
            config.kv = first.state.config.kv.clone();
            TestApp::spawn_sharing(config).await
        }
    }
}

/// Delivers the customer's message `n` (`text`) to `app`, twice, as Meta may.
async fn deliver(app: &TestApp, n: i64, text: &str) {
    let body = text_notification_at(PHONE, &format!("wamid.h{n}"), text, Utc::now().timestamp() + n);
    let signature = signature::sign(SECRET.as_bytes(), &body);
    for _ in 0..2 {
        let response = app
            .client
            .post(app.url("/webhook"))
            .header("x-hub-signature-256", &signature)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_on_one_instance_and_a_customer_on_the_other_keep_order_and_send_once() {
    let graph = FakeGraph::start().await;
    let first = instance(&graph, None).await;
    let second = instance(&graph, Some(&first)).await;
    crate::conversations::customer(&first.state.bank, PHONE, "Bisi Ade", "4821", None).await;
    deliver(&second, 0, "talk to a person").await;
    let store = first.state.store.clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    let ticket = loop {
        let mut tx = store.begin().await.unwrap();
        let customer = tx.customers().customer_by_alias(&format!("wa:{PHONE}")).await.unwrap().unwrap();
        let found = tx.care().with_person(customer.id).await.unwrap();
        tx.rollback().await.unwrap();
        if let Some(ticket) = found {
            break ticket;
        }
        assert!(Instant::now() < deadline, "the handover never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // The customer writes ten messages to the second instance while an agent answers five
    // times through the first.
    let agent = make_admin(store.as_ref(), "care@bank.example", "agent").await;
    let session = bearer(&first, &agent, 0).await;
    let customer = async {
        for n in 1..=10 {
            deliver(&second, n, &format!("customer line {n}")).await;
        }
    };
    let answers = async {
        for n in 1..=5 {
            let (status, body) = session
                .post(
                    &first,
                    &format!("/admin/api/tickets/{}/messages", ticket.id),
                    json!({ "text": format!("agent line {n}") }),
                )
                .await;
            assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        }
    };
    tokio::join!(customer, answers);

    // Every customer line reaches the ticket once, in order.
    let deadline = Instant::now() + Duration::from_secs(30);
    let lines = loop {
        let mut tx = store.begin().await.unwrap();
        let messages = tx.care().messages(ticket.id, 100).await.unwrap();
        tx.rollback().await.unwrap();
        let lines: Vec<String> =
            messages.iter().filter(|m| m.author == "customer").map(|m| m.body.clone()).collect();
        if lines.len() >= 10 {
            break lines;
        }
        assert!(Instant::now() < deadline, "{} of 10 customer lines reached the ticket", lines.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let expected: Vec<String> = (1..=10).map(|n| format!("customer line {n}")).collect();
    assert_eq!(lines, expected, "each line once, in order");

    // Every answer reaches the customer once, in the order the agent sent them, after the
    // handover's own reply.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent: Vec<String> = graph
            .sends()
            .iter()
            .filter(|s| s["to"] == PHONE)
            .map(|s| s["text"]["body"].as_str().unwrap_or_default().to_owned())
            .collect();
        let answers: Vec<&String> = sent.iter().filter(|t| t.contains("agent line")).collect();
        if answers.len() >= 5 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let again = graph
                .sends()
                .iter()
                .filter(|s| s["to"] == PHONE && s.to_string().contains("agent line"))
                .count();
            assert_eq!(again, 5, "no answer was sent twice");
            for (n, text) in answers.iter().enumerate() {
                assert!(text.contains(&format!("agent line {}", n + 1)), "answers in order: {answers:?}");
            }
            assert!(sent[0].contains("I have passed this chat"), "{sent:?}");
            break;
        }
        assert!(Instant::now() < deadline, "{} of 5 answers sent: {sent:?}", answers.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
