//! The loan actions, as flows call them: amounts in minor units, dates as ISO dates (flows show
//! them with `| date`), schedules as lines a customer reads.

use super::{BankAction, code, outcome};
use crate::bank::Bank;
use crate::bank::loans::{LoanRefusal, schedule_lines};
use crate::flows::actions::{ActionCall, ActionOutcome};

fn refused(refusal: &LoanRefusal) -> ActionOutcome {
    match refusal {
        LoanRefusal::BelowMinimum { min } => outcome("below_minimum", [("min", min.to_string())]),
        LoanRefusal::AboveLimit { limit } => outcome("above_limit", [("limit", limit.to_string())]),
        LoanRefusal::BadTenor { tenors } => outcome("bad_tenor", [("tenors", tenors.clone())]),
        LoanRefusal::TooMuch { outstanding } => {
            outcome("too_much", [("outstanding", outstanding.to_string())])
        }
        // The customer heard why at the start of the flow: the request stops here.
        LoanRefusal::Ineligible(_) => code("not_eligible"),
        other => code(other.code()),
    }
}

async fn balance(bank: &Bank, key: &str) -> anyhow::Result<String> {
    Ok(bank.balance(key).await?.map(|(b, _)| b.available.to_string()).unwrap_or_default())
}

/// Runs the loan action `call.name`.
pub(super) async fn run(bank: &Bank, call: &ActionCall) -> anyhow::Result<ActionOutcome> {
    let key = call.customer.as_str();
    let input = |name| BankAction::input(call, name);
    let iso = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    Ok(match call.name.as_str() {
        "loan_eligibility" => {
            let (decision, product) = match bank.loan_eligibility(key).await? {
                Ok(found) => found,
                Err(refusal) => return Ok(code(refusal.code())),
            };
            let e = &bank.loan_rules().eligibility;
            let percent = e.limit_percent.normalize().to_string();
            match (decision.code, product) {
                ("eligible", Some(p)) => outcome(
                    "eligible",
                    [
                        ("limit", decision.limit.to_string()),
                        ("min", p.min.to_string()),
                        ("max", p.max.to_string()),
                        ("monthly_income", decision.monthly_income.to_string()),
                        ("percent", percent),
                        ("product", p.name.clone()),
                        ("tenors", p.tenors_text()),
                        ("every", p.every.code().to_owned()),
                    ],
                ),
                ("account_too_new", _) => outcome(
                    "account_too_new",
                    [
                        ("days", e.minimum_account_age_days.to_string()),
                        ("opens_on", iso(decision.old_enough_on)),
                    ],
                ),
                ("low_income", product) => outcome(
                    "low_income",
                    [
                        ("monthly_income", decision.monthly_income.to_string()),
                        ("needed", decision.income_needed.to_string()),
                        ("percent", percent),
                        ("min", product.map_or(0, |p| p.min).to_string()),
                    ],
                ),
                ("eligible", None) => code("no_product"),
                (other, _) => code(other),
            }
        }
        "loan_check_amount" => match bank.loan_check_amount(key, BankAction::amount(call)?).await? {
            Ok(()) => code("ok"),
            Err(refusal) => refused(&refusal),
        },
        "loan_offer" => {
            match bank
                .loan_offer(key, BankAction::amount(call)?, input("tenor"), &call.idempotency_key)
                .await?
            {
                Ok(offer) => {
                    let t = &offer.terms;
                    let dues: Vec<_> = t.installments.iter().map(|d| (d.due_on, d.amount)).collect();
                    outcome(
                        "ok",
                        [
                            ("reference", offer.reference.clone()),
                            ("principal", t.principal.to_string()),
                            ("fee", t.fee.to_string()),
                            ("interest", t.interest.to_string()),
                            ("total", t.total.to_string()),
                            ("installments", t.installments.len().to_string()),
                            ("installment", t.installments.first().map_or(0, |d| d.amount).to_string()),
                            ("schedule", schedule_lines(&dues, bank.currency())),
                            ("apr", t.apr.to_string()),
                            ("first_due", t.installments.first().map(|d| iso(d.due_on)).unwrap_or_default()),
                            ("last_due", t.installments.last().map(|d| iso(d.due_on)).unwrap_or_default()),
                        ],
                    )
                }
                Err(refusal) => refused(&refusal),
            }
        }
        "loan_accept" => match bank.loan_accept(key, input("offer")).await? {
            Ok(loan) => {
                let status = bank.loan_status(key).await?.ok().flatten();
                let first = status.as_ref().and_then(|s| s.installments.first().cloned());
                outcome(
                    "ok",
                    [
                        ("reference", loan.reference),
                        ("amount", loan.principal.to_string()),
                        ("balance", balance(bank, key).await?),
                        ("first_due", first.as_ref().map(|i| i.due_on.clone()).unwrap_or_default()),
                        ("installment", first.map_or(0, |i| i.amount).to_string()),
                    ],
                )
            }
            Err(refusal) => refused(&refusal),
        },
        "loan_decline" => match bank.loan_decline(key, input("offer")).await? {
            Ok(()) => code("ok"),
            Err(refusal) => refused(&refusal),
        },
        "loan_status" => match bank.loan_status(key).await? {
            Err(refusal) => code(refusal.code()),
            Ok(None) => code("none"),
            Ok(Some(status)) => {
                let next = status.next();
                let lines: Vec<String> = status
                    .installments
                    .iter()
                    .map(|i| {
                        let mark = if i.outstanding() == 0 {
                            "✅ "
                        } else if i.overdue_since.is_some() {
                            "⚠️ "
                        } else {
                            ""
                        };
                        let date = crate::flows::template::long_date(&i.due_on);
                        let money = crate::money::format_money(i.amount + i.late_fee, bank.currency());
                        format!("{mark}{date}: {money}")
                    })
                    .collect();
                let loan = &status.loan;
                outcome(
                    "active",
                    [
                        ("reference", loan.reference.clone()),
                        ("principal", loan.principal.to_string()),
                        ("total", (loan.total + loan.late_fees).to_string()),
                        ("paid", loan.paid().to_string()),
                        ("outstanding", loan.outstanding().to_string()),
                        ("next_due", next.map(|i| i.due_on.clone()).unwrap_or_default()),
                        ("next_amount", next.map_or(0, |i| i.outstanding()).to_string()),
                        (
                            "left",
                            status.installments.iter().filter(|i| i.outstanding() > 0).count().to_string(),
                        ),
                        ("schedule", lines.join("\n")),
                        ("overdue", if status.overdue() { "yes" } else { "no" }.to_owned()),
                        ("late_fees", loan.late_fees.to_string()),
                    ],
                )
            }
        },
        "loan_repay" => match bank.loan_repay(key, BankAction::amount(call)?, &call.idempotency_key).await? {
            Ok(repaid) if repaid.outstanding == 0 => outcome(
                "repaid",
                [
                    ("reference", repaid.reference),
                    ("amount", repaid.amount.to_string()),
                    ("balance", balance(bank, key).await?),
                ],
            ),
            Ok(repaid) => outcome(
                "ok",
                [
                    ("reference", repaid.reference),
                    ("amount", repaid.amount.to_string()),
                    ("outstanding", repaid.outstanding.to_string()),
                    ("balance", balance(bank, key).await?),
                ],
            ),
            Err(refusal) => refused(&refusal),
        },
        other => anyhow::bail!("the bank has no action {other}"),
    })
}
