//! The loan actions, as flows call them: amounts in minor units, dates as ISO dates (flows show
//! them with `| date`), schedules as lines a customer reads.
//!
//! Each action is a variant: its declaration and its runner are matched exhaustively, so an
//! action without either does not build.

use super::{BankAction, NOT_REGISTERED, code, outcome, r};
use crate::bank::Bank;
use crate::bank::loans::{LoanRefusal, schedule_lines};
use crate::flows::actions::{ActionCall, ActionOutcome, ActionSpec, MoneyInput, ResultSpec};

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

/// The loan actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoanAction {
    /// `loan_eligibility`.
    LoanEligibility,
    /// `loan_check_amount`.
    LoanCheckAmount,
    /// `loan_offer`.
    LoanOffer,
    /// `loan_accept`.
    LoanAccept,
    /// `loan_decline`.
    LoanDecline,
    /// `loan_status`.
    LoanStatus,
    /// `loan_repay`.
    LoanRepay,
}

impl LoanAction {
    /// Every one.
    pub const ALL: [LoanAction; 7] = [
        LoanAction::LoanEligibility,
        LoanAction::LoanCheckAmount,
        LoanAction::LoanOffer,
        LoanAction::LoanAccept,
        LoanAction::LoanDecline,
        LoanAction::LoanStatus,
        LoanAction::LoanRepay,
    ];

    /// Its declaration.
    pub fn spec(self) -> &'static ActionSpec {
        match self {
            LoanAction::LoanEligibility => &LOAN_ELIGIBILITY,
            LoanAction::LoanCheckAmount => &LOAN_CHECK_AMOUNT,
            LoanAction::LoanOffer => &LOAN_OFFER,
            LoanAction::LoanAccept => &LOAN_ACCEPT,
            LoanAction::LoanDecline => &LOAN_DECLINE,
            LoanAction::LoanStatus => &LOAN_STATUS,
            LoanAction::LoanRepay => &LOAN_REPAY,
        }
    }

    /// Runs it for `call`.
    pub(super) async fn run(self, action: &BankAction, call: &ActionCall) -> anyhow::Result<ActionOutcome> {
        let bank = &*action.bank;
        let key = call.customer.as_str();
        let input = |name| BankAction::input(call, name);
        let iso = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        Ok(match self {
            LoanAction::LoanEligibility => {
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
            LoanAction::LoanCheckAmount => {
                match bank.loan_check_amount(key, BankAction::amount(call)?).await? {
                    Ok(()) => code("ok"),
                    Err(refusal) => refused(&refusal),
                }
            }
            LoanAction::LoanOffer => {
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
                                (
                                    "first_due",
                                    t.installments.first().map(|d| iso(d.due_on)).unwrap_or_default(),
                                ),
                                (
                                    "last_due",
                                    t.installments.last().map(|d| iso(d.due_on)).unwrap_or_default(),
                                ),
                            ],
                        )
                    }
                    Err(refusal) => refused(&refusal),
                }
            }
            LoanAction::LoanAccept => match bank.loan_accept(key, input("offer")).await? {
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
            LoanAction::LoanDecline => match bank.loan_decline(key, input("offer")).await? {
                Ok(()) => code("ok"),
                Err(refusal) => refused(&refusal),
            },
            LoanAction::LoanStatus => match bank.loan_status(key).await? {
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
                                status
                                    .installments
                                    .iter()
                                    .filter(|i| i.outstanding() > 0)
                                    .count()
                                    .to_string(),
                            ),
                            ("schedule", lines.join("\n")),
                            ("overdue", if status.overdue() { "yes" } else { "no" }.to_owned()),
                            ("late_fees", loan.late_fees.to_string()),
                        ],
                    )
                }
            },
            LoanAction::LoanRepay => {
                match bank.loan_repay(key, BankAction::amount(call)?, &call.idempotency_key).await? {
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
                }
            }
        })
    }
}

const LOAN_ELIGIBILITY: ActionSpec = ActionSpec {
    name: "loan_eligibility",
    description: "Whether the customer may borrow, up to how much and why (the decision and its reasons are recorded).",
    inputs: &[],
    results: &[
        ResultSpec {
            code: "eligible",
            outputs: &["limit", "min", "max", "monthly_income", "percent", "product", "tenors", "every"],
        },
        ResultSpec { code: "account_too_new", outputs: &["days", "opens_on"] },
        ResultSpec { code: "low_income", outputs: &["monthly_income", "needed", "percent", "min"] },
        r("has_loan"),
        r("overdue_loan"),
        r("no_product"),
        r("locked"),
        NOT_REGISTERED,
    ],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

const LOAN_CHECK_AMOUNT: ActionSpec = ActionSpec {
    name: "loan_check_amount",
    description: "Whether `amount` is within what the customer may borrow now.",
    inputs: &["amount"],
    results: &[
        r("ok"),
        ResultSpec { code: "below_minimum", outputs: &["min"] },
        ResultSpec { code: "above_limit", outputs: &["limit"] },
        r("not_eligible"),
        NOT_REGISTERED,
    ],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

const LOAN_OFFER: ActionSpec = ActionSpec {
    name: "loan_offer",
    description: "Prices borrowing `amount` over `tenor` installments and records the offer: fee, interest, total, schedule and APR.",
    inputs: &["amount", "tenor"],
    results: &[
        ResultSpec {
            code: "ok",
            outputs: &[
                "reference",
                "principal",
                "fee",
                "interest",
                "total",
                "installments",
                "installment",
                "schedule",
                "apr",
                "first_due",
                "last_due",
            ],
        },
        ResultSpec { code: "below_minimum", outputs: &["min"] },
        ResultSpec { code: "above_limit", outputs: &["limit"] },
        ResultSpec { code: "bad_tenor", outputs: &["tenors"] },
        r("not_eligible"),
        NOT_REGISTERED,
    ],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

const LOAN_ACCEPT: ActionSpec = ActionSpec {
    name: "loan_accept",
    description: "Accepts the offer and pays the principal into the wallet (once); the PIN must be verified just before.",
    inputs: &["offer"],
    results: &[
        ResultSpec { code: "ok", outputs: &["reference", "amount", "balance", "first_due", "installment"] },
        r("expired"),
        r("has_loan"),
        r("balance_limit"),
        r("not_verified"),
        r("locked"),
        NOT_REGISTERED,
    ],
    moves_money: true,
    verifies: false,
    remember: true,
    money_inputs: &[MoneyInput { input: "offer", answers: &["amount", "number", "choice"] }],
};

const LOAN_DECLINE: ActionSpec = ActionSpec {
    name: "loan_decline",
    description: "Declines the offer (recorded).",
    inputs: &["offer"],
    results: &[r("ok"), r("expired"), NOT_REGISTERED],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

const LOAN_STATUS: ActionSpec = ActionSpec {
    name: "loan_status",
    description: "The running loan: what is paid and owed, the next installment and the schedule.",
    inputs: &[],
    results: &[
        ResultSpec {
            code: "active",
            outputs: &[
                "reference",
                "principal",
                "total",
                "paid",
                "outstanding",
                "next_due",
                "next_amount",
                "left",
                "schedule",
                "overdue",
                "late_fees",
            ],
        },
        r("none"),
        NOT_REGISTERED,
    ],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

const LOAN_REPAY: ActionSpec = ActionSpec {
    name: "loan_repay",
    description: "Pays `amount` off the running loan from the wallet; the PIN must be verified just before.",
    inputs: &["amount"],
    results: &[
        ResultSpec { code: "ok", outputs: &["reference", "amount", "outstanding", "balance"] },
        ResultSpec { code: "repaid", outputs: &["reference", "amount", "balance"] },
        r("insufficient_funds"),
        ResultSpec { code: "too_much", outputs: &["outstanding"] },
        r("no_loan"),
        r("not_verified"),
        r("locked"),
        NOT_REGISTERED,
    ],
    moves_money: true,
    verifies: false,
    remember: true,
    money_inputs: &[MoneyInput { input: "amount", answers: &["amount"] }],
};
