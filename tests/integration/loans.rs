//! Loans on both SQL stores, through the bank and the worker's jobs: collection on due dates
//! (what the wallet holds, once per installment per day, across two workers), overdue with one
//! late fee after the grace days, reminders (a template outside the 24-hour window), the
//! decision records, and the loan book agreeing with the ledger.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use teller::bank::Bank;
use teller::bank::loans::Collection;
use teller::clock::ManualClock;
use teller::config::SqlBackend;
use teller::metrics::Metrics;
use teller::store::loans::{InstallmentRow, LoanRow};
use teller::store::{NewInboxMessage, NewTransaction, NewWebhookPayload, SqlStore};
use teller::worker::jobs::{LoanWork, Loans};
use teller::worker::{Report, RunOutcome, Worker};
use tokio::sync::watch;

use crate::harness::{self, KvKind, TestDb, kv};

crate::harness::on_both_sql_backends!(
    collection_takes_what_the_wallet_holds_once_per_installment_per_day,
    an_installment_unpaid_past_its_grace_days_is_overdue_with_one_late_fee,
    reminders_come_before_due_dates_once_a_day_as_a_template_outside_the_window,
    every_decision_is_recorded_with_its_reasons_and_one_loan_runs_at_a_time,
    money_bounced_between_customers_or_out_and_back_is_not_income,
);

const PHONE: &str = "2348031234521";
const KEY: &str = "wa:2348031234521";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn start() -> DateTime<Utc> {
    at("2026-11-22T09:00:00Z")
}

fn never() -> watch::Receiver<bool> {
    watch::channel(false).1
}

async fn bank(store: &Arc<dyn SqlStore>, clock: &Arc<ManualClock>) -> Arc<Bank> {
    let bank = crate::harness::bank(store.clone(), kv(KvKind::Memory), clock.clone());
    bank.open().await.unwrap();
    bank
}

/// Tunde, registered 120 days before the start with PIN 4821, ₦40,000 of income in each of the
/// last three months: he may borrow up to ₦20,000.
async fn borrower(bank: &Bank, clock: &ManualClock) {
    clock.set(start() - chrono::Duration::days(120));
    crate::conversations::customer(bank, PHONE, "Tunde Bakare", "4821", None).await;
    for days in [80, 50, 20] {
        clock.set(start() - chrono::Duration::days(days));
        bank.credit(&format!("salary-{days}"), PHONE, 4_000_000, "NGN", "Employer").await.unwrap();
    }
    clock.set(start());
}

/// Borrows `amount` over `tenor` installments through the bank's API (PIN verified first).
async fn borrow(bank: &Bank, amount: i64, tenor: &str, key: &str) -> LoanRow {
    let offer = bank.loan_offer(KEY, amount, tenor, key).await.unwrap().unwrap();
    assert_eq!(bank.verify_pin(KEY, "4821").await.unwrap(), teller::bank::PinCheck::Verified);
    bank.loan_accept(KEY, &offer.reference).await.unwrap().unwrap()
}

/// Moves `amount` out of the customer's wallet (spent elsewhere), balanced on the ledger.
async fn spend(store: &Arc<dyn SqlStore>, amount: i64, reference: &str, now: DateTime<Utc>) {
    out_to_bank(store, KEY, amount, "Amaka Eze", reference, now).await;
}

/// The wallet's available balance as stored (not the chat's cached read).
async fn available(store: &Arc<dyn SqlStore>) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let customer = tx.customers().customer_by_alias(KEY).await.unwrap().unwrap();
    let wallet = tx.bank().customer_account(customer.id, "wallet").await.unwrap().unwrap();
    tx.rollback().await.unwrap();
    wallet.available()
}

async fn loan(store: &Arc<dyn SqlStore>, reference: &str) -> (LoanRow, Vec<InstallmentRow>) {
    let mut tx = store.begin().await.unwrap();
    let loan = tx.loans().loan_by_reference(reference).await.unwrap().unwrap();
    let installments = tx.loans().installments(loan.id).await.unwrap();
    tx.rollback().await.unwrap();
    (loan, installments)
}

async fn events(store: &Arc<dyn SqlStore>, loan: i64, kind: &str) -> Vec<(i32, String, i64)> {
    let mut tx = store.begin().await.unwrap();
    let found = tx.loans().loan_events(loan, kind).await.unwrap();
    tx.rollback().await.unwrap();
    found
}

/// The messages queued to the customer outside conversations, as sent.
async fn sent(store: &Arc<dyn SqlStore>) -> Vec<Value> {
    let all = store.outbox_for_recipient(KEY).await.unwrap();
    all.into_iter().filter(|m| m.in_reply_to.is_none()).map(|m| m.body.0).collect()
}

fn text_of(body: &Value) -> &str {
    body["text"]["body"].as_str().unwrap_or_default()
}

async fn assert_books_agree(bank: &Bank) {
    crate::harness::assert_ledger_sound(bank).await;
    let book = bank.loan_book().await.unwrap();
    assert!(book.ledger_agrees, "the loan book account holds minus the principal out: {book:#?}");
}

/// A worker with the loan job `work` on its own pool and bank, like another process.
async fn worker(db: &TestDb, clock: &Arc<ManualClock>, work: LoanWork) -> Worker {
    let store = db.store().await;
    let bank = bank(&store, clock).await;
    Worker::new(store, clock.clone(), Arc::new(Metrics::new()), Duration::from_secs(60))
        .schedule(Arc::new(Loans { bank, work }), Duration::from_secs(900))
}

/// A fresh bank on `sql` with Tunde as a borrower, at the start.
async fn lender(sql: SqlBackend) -> (TestDb, Arc<dyn SqlStore>, Arc<ManualClock>, Arc<Bank>) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let clock = Arc::new(ManualClock::new(start()));
    let bank = bank(&store, &clock).await;
    borrower(&bank, &clock).await;
    (db, store, clock, bank)
}

/// Runs job `name` on `worker` now, due or not; its report.
async fn forced(worker: &Worker, name: &str) -> Report {
    match worker.run_now(name, &never()).await.unwrap() {
        RunOutcome::Ran(report) => report,
        other => panic!("{name}: {other:?}"),
    }
}

fn reports(outcomes: &[(&'static str, RunOutcome)]) -> Vec<Report> {
    outcomes
        .iter()
        .filter_map(|(_, o)| if let RunOutcome::Ran(r) = o { Some(r.clone()) } else { None })
        .collect()
}

async fn collection_takes_what_the_wallet_holds_once_per_installment_per_day(sql: SqlBackend) {
    let (db, store, clock, bank) = lender(sql).await;
    // ₦10,000 over 3 months: ₦3,783.34, then ₦3,783.33 twice, from 22 December.
    let taken = borrow(&bank, 1_000_000, "3", "offer-1").await;
    assert_eq!(available(&store).await, 13_000_000);
    spend(&store, 12_800_000, "spent-1", start()).await;
    assert_eq!(available(&store).await, 200_000, "₦2,000 left");

    // The due date, before the collection hour (08:00 in Lagos): nothing yet.
    clock.set(at("2026-12-22T06:30:00Z"));
    let one = worker(&db, &clock, LoanWork::Collection).await;
    let two = worker(&db, &clock, LoanWork::Collection).await;
    let stop = never();
    let early = reports(&one.run_due(&stop).await);
    assert_eq!(early[0].counts(), &[], "{early:?}");

    // 10:00 in Lagos: two workers at once; one runs the job, the other finds it leased.
    clock.set(at("2026-12-22T09:00:00Z"));
    let one = worker(&db, &clock, LoanWork::Collection).await;
    let (a, b) = tokio::join!(one.run_due(&stop), two.run_due(&stop));
    let ran: Vec<Report> = reports(&a).into_iter().chain(reports(&b)).collect();
    assert_eq!(ran.len(), 1, "{a:?} {b:?}");
    assert_eq!(ran[0].get("partial"), 1, "{}", ran[0]);
    assert_eq!(available(&store).await, 0, "all it held, never below zero");
    let (row, installments) = loan(&store, &taken.reference).await;
    assert_eq!((installments[0].paid, installments[1].paid), (200_000, 0));
    assert_eq!(row.outstanding(), 1_135_000 - 200_000);

    // Run again the same day, by the job forced and by the bank directly: nothing more.
    let again = forced(&one, "loan_collection").await;
    assert_eq!(again.get("already_done"), 1, "{again}");
    let due = bank.unpaid_due_by(bank.today(), (0, 0), 10).await.unwrap();
    assert_eq!(bank.collect(&due[0], bank.today()).await.unwrap(), Collection::AlreadyDone);
    assert_eq!(events(&store, row.id, "collect").await, [(1, "2026-12-22".to_owned(), 200_000)]);
    let texts: Vec<String> = sent(&store).await.iter().map(|b| text_of(b).to_owned()).collect();
    assert_eq!(
        texts.iter().filter(|t| t.contains("We collected ₦2,000.00 towards your loan installment")).count(),
        1,
        "{texts:#?}"
    );

    // Money comes in; the next day the rest of the installment is taken, and only that: the
    // second installment is not due yet.
    clock.set(at("2026-12-23T09:00:00Z"));
    bank.credit("salary-dec", PHONE, 500_000, "NGN", "Employer").await.unwrap();
    let next = reports(&one.run_due(&stop).await);
    assert_eq!(next[0].get("collected"), 1, "{}", next[0]);
    let (row, installments) = loan(&store, &taken.reference).await;
    assert_eq!(installments[0].outstanding(), 0);
    assert_eq!(installments[1].paid, 0);
    assert_eq!(available(&store).await, 500_000 - 178_334);
    // Paid so far: the fee and interest first (₦1,350), then ₦2,433.34 of principal.
    assert_eq!((row.paid_fee, row.paid_interest, row.paid_principal), (15_000, 120_000, 243_334));
    assert_books_agree(&bank).await;
    let book = bank.loan_book().await.unwrap();
    assert_eq!((book.active_loans, book.principal_outstanding), (1, 1_000_000 - 243_334));
    assert_eq!((book.fees_earned, book.interest_earned), (15_000, 120_000));
}

async fn an_installment_unpaid_past_its_grace_days_is_overdue_with_one_late_fee(sql: SqlBackend) {
    let (db, store, clock, bank) = lender(sql).await;
    let taken = borrow(&bank, 1_000_000, "3", "offer-1").await;
    spend(&store, 13_000_000, "spent-all", start()).await;
    let stop = never();
    let collection = worker(&db, &clock, LoanWork::Collection).await;
    let overdue = worker(&db, &clock, LoanWork::Overdue).await;

    clock.set(at("2026-12-22T09:00:00Z"));
    let empty = reports(&collection.run_due(&stop).await);
    assert_eq!(empty[0].get("empty"), 1, "{}", empty[0]);
    let texts: Vec<String> = sent(&store).await.iter().map(|b| text_of(b).to_owned()).collect();
    assert!(texts.iter().any(|t| t.contains("is due today, but your account is empty")), "{texts:#?}");

    // Three grace days: on the 25th it is still not overdue; on the 26th it is, once.
    for (day, marked) in [("2026-12-25", 0), ("2026-12-26", 1)] {
        clock.set(at(&format!("{day}T09:00:00Z")));
        let done = forced(&overdue, "loan_overdue").await;
        assert_eq!(done.get("overdue"), marked, "{day}: {done}");
    }
    let again = forced(&overdue, "loan_overdue").await;
    assert_eq!(again.get("overdue"), 0, "{again}");
    clock.set(at("2026-12-27T09:00:00Z"));
    forced(&overdue, "loan_overdue").await;
    let (row, installments) = loan(&store, &taken.reference).await;
    // ₦200 + 2% of ₦3,783.34 (₦75.67), once.
    assert_eq!((installments[0].late_fee, row.late_fees), (27_567, 27_567));
    assert_eq!(installments[0].overdue_since.as_deref(), Some("2026-12-26"));
    assert_eq!(events(&store, row.id, "late_fee").await.len(), 1);
    let texts: Vec<String> = sent(&store).await.iter().map(|b| text_of(b).to_owned()).collect();
    assert!(
        texts.iter().any(|t| t.contains(
            "due on 22 Dec 2026 is overdue. A late fee of ₦275.67 was added, so ₦4,059.01 is due now"
        )),
        "{texts:#?}"
    );

    // Overdue: no new loan, and the book shows it in arrears.
    let (decision, _) = bank.loan_eligibility(KEY).await.unwrap().unwrap();
    assert_eq!(decision.code, "overdue_loan");
    let book = bank.loan_book().await.unwrap();
    assert_eq!(book.arrears[1].loans, 1, "5 days past due: {:#?}", book.arrears);
    assert_eq!(book.overdue[0].reference, taken.reference);
    assert_eq!(book.overdue[0].days_past_due, 5);

    // Money comes in: the collection takes the installment and its late fee, late fee first.
    bank.credit("salary-dec", PHONE, 1_000_000, "NGN", "Employer").await.unwrap();
    let paid = reports(&collection.run_due(&stop).await);
    assert_eq!(paid[0].get("collected"), 1, "{}", paid[0]);
    let (row, installments) = loan(&store, &taken.reference).await;
    assert_eq!(installments[0].outstanding(), 0);
    assert_eq!((row.paid_late_fees, row.paid_fee, row.paid_interest), (27_567, 15_000, 120_000));
    assert_eq!(available(&store).await, 1_000_000 - 405_901);
    assert_books_agree(&bank).await;
}

async fn reminders_come_before_due_dates_once_a_day_as_a_template_outside_the_window(sql: SqlBackend) {
    let (db, store, clock, bank) = lender(sql).await;
    borrow(&bank, 1_000_000, "3", "offer-1").await;
    let reminders = worker(&db, &clock, LoanWork::Reminders).await;
    let mut reminded = Vec::new();
    for day in ["2026-12-18", "2026-12-19", "2026-12-19", "2026-12-20"] {
        clock.set(at(&format!("{day}T09:00:00Z")));
        let done = forced(&reminders, "loan_reminders").await;
        reminded.push(done.get("reminded"));
    }
    assert_eq!(reminded, [0, 1, 0, 0], "three days before, once");
    let templates: Vec<Value> = sent(&store).await.into_iter().filter(|b| b["type"] == "template").collect();
    assert_eq!(templates.len(), 1, "no message from the customer in 24 hours: the template");
    assert_eq!(
        templates[0]["template"],
        json!({
            "name": "loan_reminder",
            "language": { "code": "en" },
            "components": [{ "type": "body", "parameters": [
                { "type": "text", "text": "₦3,783.34" },
                { "type": "text", "text": "22 Dec 2026" },
            ]}],
        })
    );

    // The customer writes on the due day: the reminder that day is text, in the window.
    clock.set(at("2026-12-22T05:00:00Z"));
    let mut tx = store.begin().await.unwrap();
    let payload = tx
        .record_webhook(&NewWebhookPayload { received_at: clock_now(&clock), body: b"{}", problems: None })
        .await
        .unwrap();
    tx.enqueue_inbound(&NewInboxMessage {
        payload_id: payload,
        message_id: "wamid.hi",
        sender_key: KEY,
        phone_number_id: None,
        kind: "text",
        sent_at: Some(clock_now(&clock)),
        received_at: clock_now(&clock),
        message: &json!({"type": "text", "text": {"body": "hi"}}),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let early = forced(&reminders, "loan_reminders").await;
    assert_eq!(early.get("reminded"), 0, "06:00 in Lagos is before the reminder hour");
    clock.set(at("2026-12-22T08:00:00Z"));
    forced(&reminders, "loan_reminders").await;
    let texts: Vec<String> = sent(&store).await.iter().map(|b| text_of(b).to_owned()).collect();
    assert!(
        texts.iter().any(|t| t.contains("⏰ Your loan installment of ₦3,783.34 is due today")),
        "{texts:#?}"
    );
}

fn clock_now(clock: &ManualClock) -> DateTime<Utc> {
    teller::clock::Clock::now(clock)
}

async fn every_decision_is_recorded_with_its_reasons_and_one_loan_runs_at_a_time(sql: SqlBackend) {
    let (_db, store, clock, bank) = lender(sql).await;
    use teller::bank::loans::LoanRefusal;
    // Two offers, then both accepted at once: one pays out, the other finds a loan running.
    let first = bank.loan_offer(KEY, 1_000_000, "1", "offer-a").await.unwrap().unwrap();
    let second = bank.loan_offer(KEY, 2_000_000, "2", "offer-b").await.unwrap().unwrap();
    let repeated = bank.loan_offer(KEY, 1_000_000, "1", "offer-a").await.unwrap().unwrap();
    assert_eq!(repeated, first, "a repeated message finds its offer");
    assert!(matches!(
        bank.loan_offer(KEY, 2_000_100, "1", "offer-c").await.unwrap(),
        Err(teller::bank::loans::LoanRefusal::AboveLimit { limit: 2_000_000 })
    ));
    assert!(matches!(
        bank.loan_accept(KEY, &first.reference).await.unwrap(),
        Err(teller::bank::loans::LoanRefusal::Bank(teller::bank::Refusal::NotVerified))
    ));
    // An offer stands 30 minutes: later, it is expired and pays out nothing.
    let stale = bank.loan_offer(KEY, 500_000, "1", "offer-stale").await.unwrap().unwrap();
    clock.set(start() + chrono::Duration::minutes(31));
    bank.verify_pin(KEY, "4821").await.unwrap();
    assert_eq!(bank.loan_accept(KEY, &stale.reference).await.unwrap(), Err(LoanRefusal::Expired));
    clock.set(start());
    bank.verify_pin(KEY, "4821").await.unwrap();
    let (a, b) =
        tokio::join!(bank.loan_accept(KEY, &first.reference), bank.loan_accept(KEY, &second.reference));
    let outcomes = [a.unwrap(), b.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    // The other found the loan running, or the PIN already spent by the payout.
    assert!(
        outcomes.iter().any(|o| matches!(
            o,
            Err(LoanRefusal::HasLoan | LoanRefusal::Bank(teller::bank::Refusal::NotVerified))
        )),
        "{outcomes:?}"
    );
    let (won, lost) = if outcomes[0].is_ok() { (&first, &second) } else { (&second, &first) };
    bank.verify_pin(KEY, "4821").await.unwrap();
    assert_eq!(bank.loan_accept(KEY, &lost.reference).await.unwrap(), Err(LoanRefusal::HasLoan));
    // Accepting the winner again pays out nothing more.
    assert!(bank.loan_accept(KEY, &won.reference).await.unwrap().is_ok());
    assert_eq!(available(&store).await, 12_000_000 + won.terms.principal);

    let (decision, _) = bank.loan_eligibility(KEY).await.unwrap().unwrap();
    assert_eq!(decision.code, "has_loan");
    let mut tx = store.begin().await.unwrap();
    let customer = tx.customers().customer_by_alias(KEY).await.unwrap().unwrap();
    let decisions = tx.loans().decisions(customer.id, 10).await.unwrap();
    tx.rollback().await.unwrap();
    let outcomes: Vec<&str> = decisions.iter().map(|d| d.outcome.as_str()).collect();
    // Newest first: the last check, then the offers (a repeat made none).
    assert_eq!(outcomes, ["has_loan", "eligible", "eligible", "eligible", "eligible"]);
    let reasons: Value = serde_json::from_str(&decisions[0].reasons).unwrap();
    assert_eq!(reasons.as_array().unwrap().len(), 6);
    assert_eq!(reasons[3]["rule"], "has_loan");
    assert_eq!(reasons[3]["passed"], false);
    assert_eq!(
        reasons[5]["detail"],
        "₦120,000.00 came in over 90 days, ₦40,000.00 a month on average; 50% of it is ₦20,000.00"
    );
    let facts: Value = serde_json::from_str(&decisions[0].facts).unwrap();
    assert_eq!((facts["income"].as_i64(), facts["active_loans"].as_i64()), (Some(12_000_000), Some(1)));
    assert_books_agree(&bank).await;
}

/// Posts a transfer of `amount` between two wallets straight to the ledger, balanced.
async fn bounce(
    store: &Arc<dyn SqlStore>,
    from: &str,
    to: &str,
    amount: i64,
    reference: &str,
    now: DateTime<Utc>,
) {
    let (debit, _) = crate::harness::wallet_and_settlement(store, from).await;
    let (credit, _) = crate::harness::wallet_and_settlement(store, to).await;
    let new = NewTransaction {
        kind: "transfer",
        debit_account: debit,
        credit_account: credit,
        counterparty_name: "",
        ..moved(amount, reference, now)
    };
    crate::harness::post_directly(store, &new).await;
}

/// Six round trips of ₦40,100 between two customers raised their loan limits from ₦6,500 and
/// nothing to ₦20,000 and ₦19,500. Only new money from outside counts: what came in from a
/// counterparty, net of what went back to them in the window; out to another bank and back
/// from the same person nets out too.
async fn money_bounced_between_customers_or_out_and_back_is_not_income(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let clock = Arc::new(ManualClock::new(start()));
    let bank = bank(&store, &clock).await;
    let (ade, bola) = (("2348031230601", "wa:2348031230601"), ("2348031230602", "wa:2348031230602"));
    clock.set(start() - chrono::Duration::days(120));
    crate::conversations::customer(&bank, ade.0, "Ade Bello", "4821", None).await;
    crate::conversations::customer(&bank, bola.0, "Bola Ade", "4821", None).await;
    for days in [80, 50, 20] {
        clock.set(start() - chrono::Duration::days(days));
        bank.credit(&format!("wages-{days}"), ade.0, 1_300_000, "NGN", "Employer").await.unwrap();
    }
    clock.set(start());
    bank.credit("float", bola.0, 4_010_000, "NGN", "").await.unwrap();
    let limit = |key: &'static str| {
        let bank = bank.clone();
        async move { bank.loan_eligibility(key).await.unwrap().unwrap().0.limit }
    };
    assert_eq!(limit(ade.1).await, 650_000, "₦13,000 a month: ₦6,500");
    let bola_before = limit(bola.1).await;

    for trip in 0..6 {
        let at = start() - chrono::Duration::days(10) + chrono::Duration::hours(trip);
        bounce(&store, bola.1, ade.1, 4_010_000, &format!("there-{trip}"), at).await;
        bounce(&store, ade.1, bola.1, 4_010_000, &format!("back-{trip}"), at).await;
    }
    // Out to another bank and back in from the same person (their name on both sides).
    for trip in 0..3 {
        let at = start() - chrono::Duration::days(5) + chrono::Duration::hours(trip);
        clock.set(at);
        out_to_bank(&store, ade.1, 3_000_000, "ADE BELLO", &format!("out-{trip}"), at).await;
        bank.credit(&format!("in-{trip}"), ade.0, 3_000_000, "NGN", "Ade Bello").await.unwrap();
    }
    clock.set(start());
    assert_eq!(limit(ade.1).await, 650_000, "the round trips are not income");
    assert_eq!(limit(bola.1).await, bola_before, "nor for the other side");
    // Asked again, the same answer.
    assert_eq!(limit(ade.1).await, 650_000);
    crate::harness::assert_ledger_sound(&bank).await;
}

/// Posts `amount` out of `key`'s wallet to an account at another bank held by `name`.
async fn out_to_bank(
    store: &Arc<dyn SqlStore>,
    key: &str,
    amount: i64,
    name: &str,
    reference: &str,
    now: DateTime<Utc>,
) {
    let (wallet, settlement) = crate::harness::wallet_and_settlement(store, key).await;
    let new = NewTransaction {
        debit_account: wallet,
        credit_account: settlement,
        counterparty_name: name,
        ..moved(amount, reference, now)
    };
    crate::harness::post_directly(store, &new).await;
}

/// A posted transfer out to another bank's account `058:0123456789` (accounts to be set).
fn moved<'a>(amount: i64, reference: &'a str, now: DateTime<Utc>) -> NewTransaction<'a> {
    NewTransaction {
        reference,
        idempotency_key: reference,
        kind: "external_transfer",
        state: "posted",
        debit_account: 0,
        credit_account: 0,
        amount,
        fee: 0,
        currency: "NGN",
        counterparty: "058:0123456789",
        counterparty_name: "",
        origin: "",
        origin_name: "",
        narration: "",
        now,
    }
}

/// Repays `amount` of loan `loan` from Tunde's wallet inside `tx`, as a repayment does (the
/// loan locked, the ledger moved, the installments paid in order), without committing.
async fn repay_in(tx: &mut dyn teller::store::SqlTx, loan: &LoanRow, amount: i64, now: DateTime<Utc>) {
    let loan = tx.loans().lock_loan(loan.id).await.unwrap().unwrap();
    let customer = tx.customers().customer_by_alias(KEY).await.unwrap().unwrap();
    let wallet = tx.bank().customer_account(customer.id, "wallet").await.unwrap().unwrap();
    let mut ids = Vec::new();
    for kind in ["fee_income", "interest_income", "loan_book"] {
        ids.push(harness::system_part(tx.bank(), kind, 0).await.unwrap().id);
    }
    let paid = teller::bank::loans::allocate(&loan, amount);
    let new = NewTransaction {
        reference: "R-racing",
        idempotency_key: "repay-racing",
        kind: "loan_repayment",
        state: "posted",
        debit_account: wallet.id,
        credit_account: ids[2],
        amount,
        fee: 0,
        currency: "NGN",
        counterparty: "",
        counterparty_name: "Loan",
        origin: "",
        origin_name: "Loan",
        narration: "",
        now,
    };
    let id = tx.bank().insert_transaction(&new).await.unwrap().unwrap();
    let legs = [
        (wallet.id, -amount),
        (ids[0], paid.late_fees + paid.fee),
        (ids[1], paid.interest),
        (ids[2], paid.principal),
    ];
    for (account, moved) in legs.into_iter().filter(|(_, m)| *m != 0) {
        assert!(tx.bank().shift_balance(account, moved, 0).await.unwrap());
        tx.bank().insert_entries(id, &[(account, moved)], now).await.unwrap();
    }
    let mut left = amount;
    for installment in tx.loans().installments(loan.id).await.unwrap() {
        let part = left.min(installment.outstanding());
        if part > 0 {
            tx.loans().pay_installment(loan.id, installment.number, part, now).await.unwrap();
            left -= part;
        }
    }
    tx.loans().add_loan_payment(loan.id, &paid, now).await.unwrap();
}

/// On PostgreSQL, a collection that starts while a repayment of what is due holds the loan
/// (and the wallet) must take what is still due once it has the locks, not what it read
/// before: before, it computed what was due first and, after the repayment committed, took the
/// same amount again, off an installment not yet due. The repayment is held open at the exact
/// moment that matters: the collection has read and waits for its locks.
#[tokio::test]
async fn a_collection_racing_a_repayment_on_postgres_takes_no_more_than_is_due() {
    let (db, store, clock, bank) = lender(SqlBackend::Postgres).await;
    // ₦10,000 over 3 months: ₦3,783.34 due on 22 December, then ₦3,783.33 twice.
    let taken = borrow(&bank, 1_000_000, "3", "offer-race").await;
    clock.set(at("2026-12-22T09:00:00Z"));
    let due = bank.unpaid_due_by(bank.today(), (0, 0), 10).await.unwrap();
    assert_eq!((due.len(), due[0].number), (1, 1));
    let before = available(&store).await;

    // The customer repays the installment due; their transaction holds its locks.
    let mut repayment = store.begin().await.unwrap();
    repay_in(repayment.as_mut(), &taken, 378_334, teller::clock::Clock::now(clock.as_ref())).await;
    let collecting = {
        let (bank, due, day) = (bank.clone(), due[0].clone(), bank.today());
        tokio::spawn(async move { bank.collect(&due, day).await.unwrap() })
    };
    // The collection has read the loan and waits for the locks the repayment holds.
    let watcher = sqlx::PgPool::connect(&db.url).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&watcher)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the collection never waited for the repayment's locks"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    repayment.commit().await.unwrap();

    let outcome = collecting.await.unwrap();
    assert_eq!(outcome, Collection::Settled, "the installment was paid by the repayment");
    let (_, installments) = loan(&store, &taken.reference).await;
    assert_eq!(
        (installments[0].outstanding(), installments[1].paid),
        (0, 0),
        "nothing taken off the next one"
    );
    assert_eq!(available(&store).await, before - 378_334, "only the repayment left the wallet");
    // Run again: nothing more.
    assert_eq!(bank.collect(&due[0], bank.today()).await.unwrap(), Collection::AlreadyDone);
    assert_books_agree(&bank).await;
}
