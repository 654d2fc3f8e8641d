//! Operator tools on both backends: a transfer held in suspense resolved as sent or returned
//! with the rail's evidence, a late fee waived, a loan restructured and written off; above
//! OPERATOR_APPROVAL_ABOVE (₦20,000 here) a second admin approves or rejects, never the one who
//! asked; every other role is refused and every refusal changes nothing; each money request
//! is repeated once and the ledger stays sound.

use std::sync::Arc;

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use teller::clock::ManualClock;
use teller::config::SqlBackend;
use teller::store::SqlStore;

use crate::admin::{Session, bearer, make_admin, refused};
use crate::harness::{self, KvKind, TestApp, TestDb, assert_ledger_sound};

crate::harness::on_both_sql_backends!(
    only_operators_and_owners_correct_money_and_a_refusal_changes_nothing,
    a_transfer_in_suspense_is_resolved_once_and_a_large_one_waits_for_a_second_admin,
    a_late_fee_is_waived_and_a_loan_restructured_then_written_off_once,
);

const PHONE: &str = "2348031234577";
const KEY: &str = "wa:2348031234577";

async fn app(backend: SqlBackend) -> TestApp {
    let kv = if backend == SqlBackend::Postgres { KvKind::Redis } else { KvKind::Memory };
    let db = TestDb::new(backend).await;
    db.store().await.close().await;
    let mut env = harness::base_env(&db);
    env.insert("OPERATOR_APPROVAL_ABOVE".into(), "20,000".into());
    TestApp::spawn_with(harness::config(env, harness::kv_config(kv)), db, |r| r).await
}

async fn wallet(store: &Arc<dyn SqlStore>) -> teller::store::AccountRow {
    let mut tx = store.begin().await.unwrap();
    let customer = tx.customers().customer_by_alias(KEY).await.unwrap().unwrap();
    let wallet = tx.bank().customer_account(customer.id, "wallet").await.unwrap().unwrap();
    tx.rollback().await.unwrap();
    wallet
}

async fn system(store: &Arc<dyn SqlStore>, kind: &str) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let balance = tx.bank().system_balance(kind, "NGN").await.unwrap();
    tx.rollback().await.unwrap();
    balance
}

/// A customer with ₦100,000 and `n` transfers out (₦10,000, ₦30,000, ₦25,000…) whose funds
/// were moved to suspense; their references.
async fn suspended(app: &TestApp, amounts: &[i64]) -> Vec<String> {
    crate::conversations::customer(&app.state.bank, PHONE, "Bola Ade", "4821", Some("100,000")).await;
    let wallet = wallet(&app.state.store).await.id;
    let mut references = Vec::new();
    for (i, amount) in amounts.iter().enumerate() {
        let made = Utc::now() - Duration::days(4);
        let reference = crate::worker::pending_transfer(
            &app.state.store,
            wallet,
            &format!("012345678{i}"),
            *amount,
            made,
        )
        .await;
        assert!(app.state.bank.suspend(&reference).await.unwrap());
        references.push(reference);
    }
    references
}

/// A ₦10,000 loan taken 90 days ago over one month, unpaid and overdue with its late fee; its
/// reference.
async fn overdue_loan(app: &TestApp) -> String {
    let now = Utc::now();
    let clock = Arc::new(ManualClock::new(now - Duration::days(210)));
    let bank = harness::bank(app.state.store.clone(), app.state.kv.clone(), clock.clone());
    crate::conversations::customer(&bank, PHONE, "Tunde Bakare", "4821", None).await;
    for days in [180, 150, 120] {
        clock.set(now - Duration::days(days));
        bank.credit(&format!("salary-{days}"), PHONE, 4_000_000, "NGN", "Employer").await.unwrap();
    }
    clock.set(now - Duration::days(90));
    let offer = bank.loan_offer(KEY, 1_000_000, "1", "offer-1").await.unwrap().unwrap();
    assert_eq!(bank.verify_pin(KEY, "4821").await.unwrap(), teller::bank::PinCheck::Verified);
    let loan = bank.loan_accept(KEY, &offer.reference).await.unwrap().unwrap();
    clock.set(now);
    let today = bank.today();
    let due = bank.unpaid_due_by(today, (0, 0), 10).await.unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert!(bank.mark_overdue(&due[0], today).await.unwrap(), "overdue with its late fee");
    loan.reference
}

async fn loan(
    store: &Arc<dyn SqlStore>,
    reference: &str,
) -> (teller::store::loans::LoanRow, Vec<teller::store::loans::InstallmentRow>) {
    let mut tx = store.begin().await.unwrap();
    let loan = tx.loans().loan_by_reference(reference).await.unwrap().unwrap();
    let installments = tx.loans().installments(loan.id).await.unwrap();
    tx.rollback().await.unwrap();
    (loan, installments)
}

async fn operators(app: &TestApp) -> (Session, Session) {
    let store = app.state.store.as_ref();
    let first = bearer(app, &make_admin(store, "ops1@bank.example", "operator").await, 0).await;
    let second = bearer(app, &make_admin(store, "ops2@bank.example", "owner").await, 0).await;
    (first, second)
}

async fn only_operators_and_owners_correct_money_and_a_refusal_changes_nothing(backend: SqlBackend) {
    let app = app(backend).await;
    let store = app.state.store.clone();
    let references = suspended(&app, &[1_000_000]).await;
    let before =
        (wallet(&store).await, system(&store, "suspense").await, app.state.bank.totals().await.unwrap());
    let (operator, _) = operators(&app).await;
    let (_, overview) = operator.get(&app, "/admin/api/operations").await;
    assert_eq!(overview["suspense"][0]["reference"], json!(references[0]), "{overview}");
    assert_eq!(overview["approval_above_shown"], "₦20,000.00", "{overview}");
    let resolve = format!("/admin/api/transfers/{}/resolve", references[0]);
    let body =
        json!({ "outcome": "sent", "evidence": "NIP session 000015261205", "reason": "GTBank confirmed" });
    for role in ["viewer", "editor", "publisher", "agent"] {
        let admin = make_admin(store.as_ref(), &format!("{role}@bank.example"), role).await;
        let session = bearer(&app, &admin, 0).await;
        refused(session.get(&app, "/admin/api/operations").await, StatusCode::FORBIDDEN, "forbidden");
        refused(session.post(&app, &resolve, body.clone()).await, StatusCode::FORBIDDEN, "forbidden");
        for path in ["waive-late-fee", "restructure", "write-off"] {
            let (status, _) = session.post(&app, &format!("/admin/api/loans/L1/{path}"), json!({})).await;
            assert!(
                matches!(status, StatusCode::FORBIDDEN | StatusCode::UNPROCESSABLE_ENTITY),
                "{role} {path}: {status}"
            );
        }
        refused(
            session.post(&app, "/admin/api/operations/1/approve", json!({})).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    }
    // Bad input from an operator: refused with the reason.
    let (status, answer) =
        operator.post(&app, &resolve, json!({ "outcome": "lost", "evidence": "x", "reason": "y" })).await;
    assert_eq!(
        (status, &answer["error"]),
        (StatusCode::BAD_REQUEST, &json!("outcome is sent or returned")),
        "{answer}"
    );
    let (status, answer) =
        operator.post(&app, &resolve, json!({ "outcome": "sent", "evidence": " ", "reason": "y" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("give the rail's evidence"), "{answer}");
    let (status, answer) =
        operator.post(&app, &resolve, json!({ "outcome": "sent", "evidence": "x", "reason": "" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let unknown = json!({ "outcome": "sent", "evidence": "x", "reason": "y" });
    refused(
        operator.post(&app, "/admin/api/transfers/NOPE/resolve", unknown).await,
        StatusCode::NOT_FOUND,
        "not found",
    );
    let after =
        (wallet(&store).await, system(&store, "suspense").await, app.state.bank.totals().await.unwrap());
    assert_eq!(after, before, "no refusal moved money");
    assert_eq!(
        teller::admin::operations::list(store.as_ref(), 10).await.unwrap(),
        vec![],
        "nor recorded a request"
    );
    assert_ledger_sound(&app.state.bank).await;
}

async fn a_transfer_in_suspense_is_resolved_once_and_a_large_one_waits_for_a_second_admin(
    backend: SqlBackend,
) {
    let app = app(backend).await;
    let store = app.state.store.clone();
    let refs = suspended(&app, &[1_000_000, 3_000_000, 2_500_000]).await;
    let (first, second) = operators(&app).await;
    let held = wallet(&store).await;
    let settled_before = system(&store, "settlement").await;

    // ₦10,000 delivered: from suspense to the rail, at once, once.
    let sent = json!({ "outcome": "sent", "evidence": "NIP session 000015261205", "reason": "GTBank confirmed by phone" });
    let path = |r: &str| format!("/admin/api/transfers/{r}/resolve");
    let (status, done) = first.post(&app, &path(&refs[0]), sent.clone()).await;
    assert_eq!((status, &done["status"]), (StatusCode::OK, &json!("done")), "{done}");
    assert!(done["request"]["outcome"].as_str().unwrap().contains("sent: posted from suspense"), "{done}");
    let (status, again) = first.post(&app, &path(&refs[0]), sent.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(again["error"].as_str().unwrap().contains("not held in suspense"), "{again}");
    assert_eq!(system(&store, "settlement").await, settled_before + 1_000_000, "sent once");
    assert_eq!(wallet(&store).await, held, "the customer's wallet is as it was");

    // ₦30,000 returned: above ₦20,000, it waits; the one who asked cannot approve it.
    let returned = json!({ "outcome": "returned", "evidence": "Returned: account closed, ref RVSL-88", "reason": "Rail returned it" });
    let (status, waiting) = first.post(&app, &path(&refs[1]), returned.clone()).await;
    assert_eq!((status, &waiting["status"]), (StatusCode::ACCEPTED, &json!("waiting")), "{waiting}");
    let id = waiting["request"]["id"].as_i64().unwrap();
    assert_eq!(wallet(&store).await, held, "nothing moved while it waits");
    let (status, twice) = first.post(&app, &path(&refs[1]), returned.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{twice}");
    assert!(twice["error"].as_str().unwrap().contains("already waiting for a second admin"), "{twice}");
    let approve = format!("/admin/api/operations/{id}/approve");
    let (status, own) = first.post(&app, &approve, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{own}");
    assert!(own["error"].as_str().unwrap().contains("a second admin must approve it"), "{own}");
    let (status, approved) = second.post(&app, &approve, json!({})).await;
    assert_eq!((status, &approved["request"]["state"]), (StatusCode::OK, &json!("done")), "{approved}");
    assert_eq!(approved["request"]["decided_by"], json!(format!("admin:{}", 2)), "{approved}");
    let refunded = wallet(&store).await;
    assert_eq!(refunded.posted, held.posted + 3_000_000 + 2_688, "the amount and its fee are back");
    let (status, _) = second.post(&app, &approve, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "approved once");

    // ₦25,000: asked, then rejected by the second admin; it stays in suspense.
    let (_, waiting) = first.post(&app, &path(&refs[2]), sent).await;
    let id = waiting["request"]["id"].as_i64().unwrap();
    let reject = format!("/admin/api/operations/{id}/reject");
    let (status, rejected) = second.post(&app, &reject, json!({ "reason": "No statement line yet" })).await;
    assert_eq!((status, &rejected["request"]["state"]), (StatusCode::OK, &json!("rejected")), "{rejected}");
    let (_, overview) = second.get(&app, "/admin/api/operations").await;
    let left: Vec<&Value> =
        overview["suspense"].as_array().unwrap().iter().map(|t| &t["reference"]).collect();
    assert_eq!(left, vec![&json!(refs[2])], "{overview}");
    assert_eq!(wallet(&store).await, refunded);
    let mut tx = store.begin().await.unwrap();
    let audit = tx.admin().audit_page(None, 100).await.unwrap();
    tx.rollback().await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.event.action.as_str()).collect();
    for action in ["transfer.resolved", "operation.requested", "operation.approved", "operation.rejected"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
    assert_ledger_sound(&app.state.bank).await;
}

async fn a_late_fee_is_waived_and_a_loan_restructured_then_written_off_once(backend: SqlBackend) {
    let app = app(backend).await;
    let store = app.state.store.clone();
    let reference = overdue_loan(&app).await;
    let (operator, _) = operators(&app).await;
    let (before, dues) = loan(&store, &reference).await;
    assert!(before.late_fees > 0 && dues[0].late_fee == before.late_fees, "{before:?} {dues:?}");

    let waive = format!("/admin/api/loans/{reference}/waive-late-fee");
    let body = json!({ "installment": 1, "reason": "Salary came late; first time" });
    let (status, done) = operator.post(&app, &waive, body.clone()).await;
    assert_eq!((status, &done["status"]), (StatusCode::OK, &json!("done")), "{done}");
    assert!(done["request"]["outcome"].as_str().unwrap().contains("waived on installment 1"), "{done}");
    let (after, dues) = loan(&store, &reference).await;
    assert_eq!((after.late_fees, dues[0].late_fee), (0, 0));
    assert_eq!(after.outstanding(), before.outstanding() - before.late_fees);
    let (status, again) = operator.post(&app, &waive, body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(again["error"].as_str().unwrap().contains("no unpaid late fee"), "{again}");

    // Restructured: the unpaid installment falls due again from a date ahead.
    let first_due = (Utc::now() + Duration::days(30)).format("%Y-%m-%d").to_string();
    let restructure = format!("/admin/api/loans/{reference}/restructure");
    let (status, answer) =
        operator.post(&app, &restructure, json!({ "first_due": "2020-01-01", "reason": "r" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let (status, done) =
        operator.post(&app, &restructure, json!({ "first_due": first_due, "reason": "Job loss" })).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (_, dues) = loan(&store, &reference).await;
    assert_eq!(dues[0].due_on, first_due);
    // The borrower is told of both, in their language.
    let told: Vec<String> = store
        .outbox_for_recipient(KEY)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body.0["text"]["body"].as_str().unwrap_or_default().to_owned())
        .collect();
    let shown = teller::flows::template::long_date(&first_due);
    assert!(told.iter().any(|t| t.starts_with("Good news: we have removed the late fee of")), "{told:?}");
    assert!(
        told.iter().any(|t| t.contains(&format!("moved your loan's next payment to {shown}"))),
        "{told:?}"
    );

    // Written off: the principal still out goes to losses, once; nothing more is collected.
    let book_before = system(&store, "loan_book").await;
    let write_off = format!("/admin/api/loans/{reference}/write-off");
    let (status, done) = operator.post(&app, &write_off, json!({ "reason": "Borrower deceased" })).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done["request"]["outcome"].as_str().unwrap().contains("written off"), "{done}");
    let (closed, _) = loan(&store, &reference).await;
    assert_eq!(closed.state, "written_off");
    let principal = closed.principal - closed.paid_principal;
    assert_eq!(system(&store, "loan_losses").await, -principal);
    assert_eq!(system(&store, "loan_book").await, book_before + principal);
    let (status, again) = operator.post(&app, &write_off, json!({ "reason": "Borrower deceased" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(again["error"].as_str().unwrap().contains("not running"), "{again}");
    assert_eq!(system(&store, "loan_losses").await, -principal, "written off once");
    let (_, book) = operator.get(&app, "/admin/api/loans").await;
    assert_eq!(book["ledger_agrees"], true, "{book}");
    assert!(
        app.state
            .bank
            .unpaid_due_by(app.state.bank.today() + chrono::Days::new(400), (0, 0), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_ledger_sound(&app.state.bank).await;
}
