//! Customer care end to end through the app, on both backends: a customer freezes their
//! account by free text (no PIN), asks for a person and is handed over; an agent finds the
//! ticket in the queue, claims it and answers through the outbox; the customer's replies reach
//! the ticket, "menu" takes them back to the bot, the close asks for a rating; an operator
//! unfreezes after a second check. Every role boundary is tried, and refusals change nothing.

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use teller::config::SqlBackend;
use teller::flows::engine::Event;

use crate::admin::{Session, bearer, make_admin, refused};
use crate::harness::{KvKind, TestApp, assert_ledger_sound};

crate::harness::on_both_sql_backends!(
    a_customer_has_at_most_five_open_tickets,
    a_waiting_customer_is_told_when_to_expect_a_person_and_late_tickets_count_once,
    a_frozen_customer_is_handed_to_an_agent_who_answers_closes_and_is_rated,
    only_agents_and_operators_handle_tickets_and_only_operators_unfreeze,
);

const PHONE: &str = "2348030000077";
const KEY: &str = "wa:2348030000077";

async fn app(backend: SqlBackend) -> TestApp {
    let kv = if backend == SqlBackend::Postgres { KvKind::Redis } else { KvKind::Memory };
    TestApp::spawn(backend, kv).await
}

/// What the bot answered `text` (message `id`), handled twice as a redelivery would be.
async fn say(app: &TestApp, id: &str, text: &str) -> String {
    let mut answers = Vec::new();
    for _ in 0..2 {
        let replies = app
            .state
            .conversations
            .converse(KEY, PHONE, id, Event::Text(text.to_owned()), Utc::now())
            .await
            .unwrap();
        answers
            .push(serde_json::to_string(&replies.iter().map(|r| r.to_body()).collect::<Vec<_>>()).unwrap());
    }
    assert_eq!(answers[0], answers[1], "{text}: handled twice, answered differently");
    answers.remove(0)
}

/// The newest message the bank queued for the customer.
async fn last_notice(app: &TestApp) -> String {
    let sent = app.state.store.outbox_for_recipient(KEY).await.unwrap();
    sent.last().map(|m| m.body.0.to_string()).unwrap_or_default()
}

async fn tracking_number(reply: &str) -> String {
    let start = reply.find("TCK-").unwrap_or_else(|| panic!("no tracking number in {reply}"));
    reply[start..start + 17].to_owned()
}

async fn a_frozen_customer_is_handed_to_an_agent_who_answers_closes_and_is_rated(backend: SqlBackend) {
    let app = app(backend).await;
    crate::conversations::customer(&app.state.bank, PHONE, "Ngozi Okafor", "4821", Some("20,000")).await;
    crate::conversations::customer(&app.state.bank, "2348030000078", "Tunde Bakare", "1357", None).await;

    // Frozen at once by free text, without a PIN; a transfer is refused before the PIN.
    let frozen = say(&app, "wamid.c1", "someone hacked my account").await;
    assert!(frozen.contains("Your account is frozen. No money can leave it"), "{frozen}");
    let reference = tracking_number(&frozen).await;
    let refused_send = say(&app, "wamid.c2", "send 1000 to 08030000078").await;
    assert!(refused_send.contains("Your account is frozen, so no money can leave it"), "{refused_send}");
    let handed = say(&app, "wamid.c3", "agent").await;
    assert!(handed.contains("I have passed this chat to our customer care team"), "{handed}");
    assert!(handed.contains(&reference), "the ticket the freeze opened takes the chat: {handed}");
    let first = say(&app, "wamid.c4", "I did not send any money, please help").await;
    assert!(first.contains("Your message is with our customer care team"), "{first}");
    assert_eq!(say(&app, "wamid.c5", "my phone is with me now").await, "[]", "told once a ticket");

    // The agent finds it in the queue, reads the conversation and the customer masked.
    let agent = make_admin(app.state.store.as_ref(), "care@bank.example", "agent").await;
    let s = bearer(&app, &agent, 0).await;
    let (status, queue) = s.get(&app, "/admin/api/tickets?status=open").await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let ticket = &queue["tickets"][0];
    assert_eq!(
        (ticket["reference"].as_str(), ticket["category"].as_str()),
        (Some(reference.as_str()), Some("fraud"))
    );
    assert_eq!(ticket["customer"], "Ngozi O.");
    let left = ticket["minutes_left"].as_i64().unwrap();
    assert!((14..=15).contains(&left), "a fraud ticket is due its first answer in 15 minutes: {ticket}");
    let id = ticket["id"].as_i64().unwrap();
    let (_, one) = s.get(&app, &format!("/admin/api/tickets/{id}")).await;
    let texts: Vec<&str> =
        one["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["I did not send any money, please help", "my phone is with me now"], "{one}");
    assert_eq!(one["customer"]["frozen"], true);
    assert!(!one.to_string().contains("Okafor") && !one.to_string().contains(PHONE), "masked: {one}");

    // Claimed and answered: the answer reaches the customer through the outbox.
    let (status, claimed) = s.post(&app, &format!("/admin/api/tickets/{id}/claim"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{claimed}");
    assert_eq!(claimed["ticket"]["agent_id"], agent.id);
    let (status, answered) = s
        .post(
            &app,
            &format!("/admin/api/tickets/{id}/messages"),
            json!({ "text": "We see it. Is the phone with you now?" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    let notice = last_notice(&app).await;
    assert!(
        notice.contains(&format!("Customer care ({reference}): We see it. Is the phone with you now?")),
        "{notice}"
    );
    assert_eq!(say(&app, "wamid.c6", "yes, it is with me").await, "[]");
    // "menu" goes back to the bot; the agent's answers still reach the customer.
    assert!(say(&app, "wamid.c7", "menu").await.contains("What would you like to do?"));
    let (_, one) = s.get(&app, &format!("/admin/api/tickets/{id}")).await;
    assert_eq!(one["messages"].as_array().unwrap().len(), 4, "{one}");
    assert_eq!(one["ticket"]["with_person"], false);

    // Closed: the customer is told and asked to rate; the rating is kept.
    let (status, closed) = s
        .post(
            &app,
            &format!("/admin/api/tickets/{id}/close"),
            json!({ "resolution": "The account is safe." }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert!(
        last_notice(&app)
            .await
            .contains(&format!("We have closed your ticket {reference}: The account is safe."))
    );
    assert!(say(&app, "wamid.c8", "4").await.contains("Thank you for your rating"));
    let (_, one) = s.get(&app, &format!("/admin/api/tickets/{id}")).await;
    assert_eq!(
        (one["ticket"]["status"].as_str(), one["ticket"]["rating"].as_i64()),
        (Some("closed"), Some(4))
    );
    // Closed is closed: a second close or answer is refused and changes nothing.
    let again =
        s.post(&app, &format!("/admin/api/tickets/{id}/close"), json!({ "resolution": "again" })).await;
    assert_eq!(again.0, StatusCode::CONFLICT, "{}", again.1);
    let late = s.post(&app, &format!("/admin/api/tickets/{id}/messages"), json!({ "text": "late" })).await;
    assert_eq!(late.0, StatusCode::CONFLICT, "{}", late.1);
    let (_, after) = s.get(&app, &format!("/admin/api/tickets/{id}")).await;
    assert_eq!(after["messages"], one["messages"]);
    assert_eq!(after["ticket"]["resolution"], "The account is safe.");

    // An operator unfreezes after a second check; then money moves again.
    let operator = make_admin(app.state.store.as_ref(), "ops@bank.example", "operator").await;
    let o = bearer(&app, &operator, 0).await;
    let customer = one["customer"]["id"].as_i64().unwrap();
    let path = format!("/admin/api/customers/{customer}/unfreeze");
    let wrong = o.post(&app, &path, json!({ "code": "000000" })).await;
    assert_eq!(wrong.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.1);
    assert!(
        app.state.bank.customer(KEY).await.unwrap().unwrap().frozen_at.is_some(),
        "a wrong code changes nothing"
    );
    let (status, unfrozen) = o.post(&app, &path, json!({ "code": operator.code(1) })).await;
    assert_eq!(status, StatusCode::OK, "{unfrozen}");
    assert!(app.state.bank.customer(KEY).await.unwrap().unwrap().frozen_at.is_none());
    let twice = o.post(&app, &path, json!({ "code": operator.code(-1) })).await;
    assert_eq!(twice.0, StatusCode::CONFLICT, "{}", twice.1);
    let quote = say(&app, "wamid.c9", "send 1000 to 08030000078").await;
    assert!(quote.contains("Tunde B."), "money flows again: {quote}");

    let audit = app.state.store.recent_audit(50).await.unwrap();
    for action in [
        "customer.frozen",
        "ticket.opened",
        "ticket.claimed",
        "ticket.answered",
        "ticket.closed",
        "ticket.rated",
        "ticket.viewed",
        "customer.unfrozen",
    ] {
        assert!(audit.iter().any(|e| e.event.action == action), "{action} is not in the audit trail");
    }
    assert_ledger_sound(&app.state.bank).await;
}

async fn only_agents_and_operators_handle_tickets_and_only_operators_unfreeze(backend: SqlBackend) {
    let app = app(backend).await;
    crate::conversations::customer(&app.state.bank, PHONE, "Ngozi Okafor", "4821", None).await;
    let frozen = say(&app, "wamid.r1", "block my account").await;
    assert!(frozen.contains("Your account is frozen"), "{frozen}");
    let store = app.state.store.as_ref();
    let mut sessions: Vec<(&str, Session)> = Vec::new();
    let mut ids = std::collections::BTreeMap::new();
    for role in ["viewer", "editor", "publisher", "operator", "agent"] {
        let admin = make_admin(store, &format!("{role}@bank.example"), role).await;
        ids.insert(role, admin.id);
        sessions.push((role, bearer(&app, &admin, 0).await));
    }
    let agent_id = ids["agent"];
    for (role, s) in &sessions {
        let (status, body) = s.get(&app, "/admin/api/tickets").await;
        if matches!(*role, "operator" | "agent") {
            assert_eq!(status, StatusCode::OK, "{role}: {body}");
            assert_eq!(body["tickets"].as_array().unwrap().len(), 1, "{role}: {body}");
        } else {
            refused((status, body), StatusCode::FORBIDDEN, "forbidden");
        }
    }
    let (_, agent) = sessions.iter().find(|(r, _)| *r == "agent").unwrap();
    // An agent cannot make, publish or see flows, nor look customers up, nor unfreeze.
    refused(
        agent.post(&app, "/admin/api/drafts", json!({ "title": "x" })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    refused(agent.get(&app, "/admin/api/releases").await, StatusCode::FORBIDDEN, "forbidden");
    refused(
        agent.get(&app, "/admin/api/customers?phone=08030000077").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let customer = app.state.bank.customer(KEY).await.unwrap().unwrap().id;
    let unfreeze = format!("/admin/api/customers/{customer}/unfreeze");
    refused(
        agent.post(&app, &unfreeze, json!({ "code": "123456" })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert!(app.state.bank.customer(KEY).await.unwrap().unwrap().frozen_at.is_some(), "still frozen");
    // Bad input: a clear error, nothing changed.
    let (status, bad) = agent.post(&app, "/admin/api/tickets/1/messages", json!({ "text": "" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let (status, _) = agent.get(&app, "/admin/api/tickets?status=everything").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = agent.get(&app, "/admin/api/tickets/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, one) = agent.get(&app, "/admin/api/tickets/1").await;
    assert_eq!(one["messages"], json!([]), "{one}");
    // A second agent cannot answer a ticket another holds, unless they take it over.
    let other = make_admin(store, "care2@bank.example", "agent").await;
    let other_id = other.id;
    let other = bearer(&app, &other, 0).await;
    agent.post(&app, "/admin/api/tickets/1/claim", json!({})).await;
    let held = other.post(&app, "/admin/api/tickets/1/messages", json!({ "text": "Hello" })).await;
    assert_eq!(held.0, StatusCode::CONFLICT, "{}", held.1);
    let (status, taken) = other.post(&app, "/admin/api/tickets/1/claim", json!({ "take_over": true })).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken["ticket"]["agent_id"], other_id);
    // An operator assigns it back to the first agent; not to a viewer.
    let (_, operator) = sessions.iter().find(|(r, _)| *r == "operator").unwrap();
    let viewer_id = ids["viewer"];
    let (status, bad) =
        operator.post(&app, "/admin/api/tickets/1/claim", json!({ "agent_id": viewer_id })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let (status, assigned) =
        operator.post(&app, "/admin/api/tickets/1/claim", json!({ "agent_id": agent_id })).await;
    assert_eq!(status, StatusCode::OK, "{assigned}");
    assert_eq!(assigned["ticket"]["agent_id"], agent_id);
    let audit = app.state.store.recent_audit(20).await.unwrap();
    assert!(audit.iter().any(|e| e.event.action == "ticket.assigned"), "assigning is audited");
    let _: &Value = &assigned;
}

/// 2026-12-04 (a Friday) at `h:m` in Lagos.
fn friday(h: u32, m: u32) -> chrono::DateTime<Utc> {
    use chrono::TimeZone as _;
    chrono_tz::Africa::Lagos.with_ymd_and_hms(2026, 12, 4, h, m, 0).unwrap().with_timezone(&Utc)
}

async fn a_waiting_customer_is_told_when_to_expect_a_person_and_late_tickets_count_once(backend: SqlBackend) {
    use std::sync::Arc;
    use teller::clock::Clock as _;
    let db = crate::harness::TestDb::new(backend).await;
    let store = db.store().await;
    let kv = crate::harness::kv(if backend == SqlBackend::Postgres { KvKind::Redis } else { KvKind::Memory });
    let clock = Arc::new(teller::clock::ManualClock::new(friday(16, 0)));
    let (host, bank) = crate::conversations::banking(kv, store.clone(), clock.clone()).await;
    crate::conversations::customer(&bank, PHONE, "Ngozi Okafor", "4821", None).await;
    crate::conversations::customer(&bank, "2348030000078", "Tunde Bakare", "1357", None).await;
    let say = async |phone: &str, id: &str, text: &str| {
        let key = format!("wa:{phone}");
        let replies =
            host.converse(&key, phone, id, Event::Text(text.to_owned()), clock.now()).await.unwrap();
        serde_json::to_string(&replies.iter().map(|r| r.to_body()).collect::<Vec<_>>()).unwrap()
    };
    let notices = async |key: &str| -> Vec<String> {
        store.outbox_for_recipient(key).await.unwrap().iter().map(|m| m.body.0.to_string()).collect()
    };
    // Friday 16:00, care open: a person asked for, and a fraud report (a 15-minute target).
    assert!(say(PHONE, "wamid.w1", "talk to a person").await.contains("I have passed this chat"));
    let before = notices(KEY).await.len();
    assert_eq!(bank.care_round(friday(16, 9)).await.unwrap().told, 0, "not before 10 minutes");
    let round = bank.care_round(friday(16, 11)).await.unwrap();
    assert_eq!(round.told, 1);
    // An `other` ticket's first answer is due within 4 hours: past 18:00, so Saturday at 09:00.
    let told = notices(KEY).await;
    assert_eq!(told.len(), before + 1);
    assert!(told.last().unwrap().contains("One will answer you here by Saturday 09:00"), "{told:?}");
    assert_eq!(bank.care_round(friday(16, 12)).await.unwrap().told, 0, "told once");

    clock.set(friday(16, 30));
    assert!(say("2348030000078", "wamid.w2", "block my account").await.contains("Your account is frozen"));
    let round = bank.care_round(friday(16, 44)).await.unwrap();
    assert_eq!((round.response_breaches, round.resolution_breaches), (0, 0), "{round:?}");
    let round = bank.care_round(friday(16, 46)).await.unwrap();
    assert_eq!(
        (round.response_breaches, round.breached_now),
        (1, 1),
        "the fraud ticket is 16 minutes unanswered"
    );
    let again = bank.care_round(friday(16, 47)).await.unwrap();
    assert_eq!((again.response_breaches, again.breached_now), (0, 1), "counted once, still late");

    // Friday 18:30, care closed: told when it opens.
    clock.set(friday(18, 30));
    assert!(say("2348030000078", "wamid.w3", "agent").await.contains("I have passed this chat"));
    bank.care_round(friday(18, 41)).await.unwrap();
    let told = notices("wa:2348030000078").await;
    assert!(
        told.last().unwrap().contains(
            "Our customer care team is away now. An agent will answer you here from Saturday 09:00."
        ),
        "{told:?}"
    );
    // 30 hours on: the fraud ticket (which the second request for a person reused) is past its
    // 24-hour resolution target, the other one past its 4-hour first answer, not its 72 hours.
    let round = bank.care_round(friday(18, 41) + chrono::Duration::hours(30)).await.unwrap();
    assert_eq!(
        (round.response_breaches, round.resolution_breaches, round.breached_now),
        (1, 1, 2),
        "{round:?}"
    );
}

/// `teller care check` fails while a ticket is past its target (a scheduled job's failure is
/// what alerts), as `TELLER_ROLE=care-check` does; `teller care summary` reports the day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn care_check_exits_1_while_a_ticket_is_late_and_the_summary_reports_the_day() {
    use std::sync::Arc;
    let db = crate::harness::TestDb::new(SqlBackend::Sqlite).await;
    let run = |args: &[&str], role: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_teller"));
        command.args(args).env("DATABASE_URL", &db.url).env_remove("REDIS_URL").env_remove("TELLER_ROLE");
        if let Some(role) = role {
            command.env("TELLER_ROLE", role);
        }
        let out = command.output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    {
        let store = db.store().await;
        store.migrate().await.unwrap();
        let (code, out) = run(&["care", "check"], None);
        assert_eq!(
            (code, out.lines().last()),
            (Some(0), Some("no open ticket is past its targets")),
            "{out}"
        );
        // A fraud report an hour ago, unanswered: 45 minutes past its 15-minute target.
        let clock = Arc::new(teller::clock::ManualClock::new(Utc::now() - chrono::Duration::hours(1)));
        let bank = crate::harness::bank(store.clone(), crate::harness::kv(KvKind::Memory), clock);
        bank.open().await.unwrap();
        crate::conversations::customer(&bank, PHONE, "Ngozi Okafor", "4821", None).await;
        bank.freeze(KEY, "report-1").await.unwrap().unwrap();
        store.close().await;
    }
    let (code, out) = run(&["care", "check"], None);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("(fraud): first response 4") && out.contains("minutes late"), "{out}");
    let (code, again) = run(&[], Some("care-check"));
    assert_eq!(code, Some(1), "{again}");
    let (code, summary) = run(&["care", "summary", "--hours", "24"], None);
    assert_eq!(code, Some(0), "{summary}");
    assert!(summary.contains("opened 1, closed 0, open now 1, past a target 1"), "{summary}");
    assert!(summary.contains("opened fraud") && summary.contains("no ratings"), "{summary}");
}

async fn a_customer_has_at_most_five_open_tickets(backend: SqlBackend) {
    use teller::bank::care::ComplaintRefusal;
    let app = app(backend).await;
    crate::conversations::customer(&app.state.bank, PHONE, "Ngozi Okafor", "4821", None).await;
    for n in 0..5 {
        let opened = app.state.bank.complain(KEY, &format!("c{n}"), "other", None).await.unwrap().unwrap();
        assert!(opened.reference.starts_with("TCK-"), "{opened:?}");
    }
    let refused = app.state.bank.complain(KEY, "c5", "other", None).await.unwrap();
    assert_eq!(refused, Err(ComplaintRefusal::TooMany));
    // Told in the chat, and nothing was opened.
    let reply = say(&app, "wamid.m1", "I want to make a complaint").await;
    assert!(reply.contains("What is your complaint about?"), "{reply}");
    let reply = app
        .state
        .conversations
        .converse(
            KEY,
            PHONE,
            "wamid.m2",
            Event::Choice { id: "other".into(), title: String::new() },
            Utc::now(),
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&reply.iter().map(|r| r.to_body()).collect::<Vec<_>>()).unwrap();
    assert!(text.contains("You already have 5 open complaints"), "{text}");
    let mut tx = app.state.store.begin().await.unwrap();
    let customer = tx.customers().customer_by_alias(KEY).await.unwrap().unwrap();
    assert_eq!(tx.care().customer_tickets(customer.id, 50).await.unwrap().len(), 5);
    tx.rollback().await.unwrap();
}
