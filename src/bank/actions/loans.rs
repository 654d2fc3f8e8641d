//! The loan actions, as flows call them: amounts in minor units, dates as ISO dates (flows show
//! them with `| date`), schedules as lines a customer reads.
//!
//! Each action is a variant: its declaration and its runner are matched exhaustively, so an
//! action without either does not build; its inputs and results are types (see `declare`).
//! Asking for a loan is here; the running loan (status, repayment) is in `repaying`.

use super::BankAction;
use super::declare::{Minor, Results, inputs, refused, results};
use super::repaying::{self, LOAN_REPAY, LOAN_STATUS};
use crate::bank::Bank;
use crate::bank::loans::{LoanRefusal, schedule_lines};
use crate::flows::actions::{ActionCall, ActionOutcome, ActionSpec, MoneyInput};

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
        Ok(match self {
            LoanAction::LoanEligibility => eligibility(bank, call).await?.outcome(),
            LoanAction::LoanCheckAmount => check_amount(bank, call, AmountIn::read(call)?).await?.outcome(),
            LoanAction::LoanOffer => offer(bank, call, OfferIn::read(call)?).await?.outcome(),
            LoanAction::LoanAccept => accept(bank, call, ChosenIn::read(call)?).await?.outcome(),
            LoanAction::LoanDecline => decline(bank, call, ChosenIn::read(call)?).await?.outcome(),
            LoanAction::LoanStatus => repaying::status(bank, call).await?.outcome(),
            LoanAction::LoanRepay => repaying::repay(bank, call, AmountIn::read(call)?).await?.outcome(),
        })
    }
}

/// A loan refusal as the action's result: the ones that carry a figure, else by code.
pub(super) fn loan_refused<R: Results>(
    call: &ActionCall,
    refusal: LoanRefusal,
    with_figure: impl FnOnce(LoanRefusal) -> Result<R, LoanRefusal>,
) -> anyhow::Result<R> {
    match refusal {
        // The customer heard why at the start of the flow: the request stops here.
        LoanRefusal::Ineligible(_) => refused(call, "not_eligible"),
        refusal => match with_figure(refusal) {
            Ok(result) => Ok(result),
            Err(refusal) => refused(call, refusal.code()),
        },
    }
}

/// A date as flows read it.
pub(super) fn iso(date: chrono::NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

results!(
    /// `loan_eligibility`'s results.
    Eligibility {
        Eligible = "eligible" { limit, min, max, monthly_income, percent, product, tenors, every },
        AccountTooNew = "account_too_new" { days, opens_on },
        LowIncome = "low_income" { monthly_income, needed, percent, min },
        HasLoan = "has_loan",
        OverdueLoan = "overdue_loan",
        NoProduct = "no_product",
        Locked = "locked",
        NotRegistered = "not_registered",
    }
);

async fn eligibility(bank: &Bank, call: &ActionCall) -> anyhow::Result<Eligibility> {
    let (decision, product) = match bank.loan_eligibility(&call.customer).await? {
        Ok(found) => found,
        Err(refusal) => return refused(call, refusal.code()),
    };
    let e = &bank.loan_rules().eligibility;
    let percent = e.limit_percent.normalize().to_string();
    Ok(match (decision.code, product) {
        ("eligible", Some(p)) => Eligibility::Eligible {
            limit: decision.limit.to_string(),
            min: p.min.to_string(),
            max: p.max.to_string(),
            monthly_income: decision.monthly_income.to_string(),
            percent,
            product: p.name.clone(),
            tenors: p.tenors_text(),
            every: p.every.code().to_owned(),
        },
        ("account_too_new", _) => Eligibility::AccountTooNew {
            days: e.minimum_account_age_days.to_string(),
            opens_on: iso(decision.old_enough_on),
        },
        ("low_income", product) => Eligibility::LowIncome {
            monthly_income: decision.monthly_income.to_string(),
            needed: decision.income_needed.to_string(),
            percent,
            min: product.map_or(0, |p| p.min).to_string(),
        },
        ("eligible", None) => Eligibility::NoProduct,
        (other, _) => return refused(call, other),
    })
}

const LOAN_ELIGIBILITY: ActionSpec = ActionSpec {
    name: "loan_eligibility",
    description: "Whether the customer may borrow, up to how much and why (the decision and its reasons are recorded).",
    inputs: &[],
    results: Eligibility::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

inputs!(
    /// An amount of money.
    AmountIn { amount: Minor }
);

results!(
    /// `loan_check_amount`'s results.
    CheckAmount {
        Ok = "ok",
        BelowMinimum = "below_minimum" { min },
        AboveLimit = "above_limit" { limit },
        NotEligible = "not_eligible",
        NotRegistered = "not_registered",
    }
);

async fn check_amount(bank: &Bank, call: &ActionCall, i: AmountIn) -> anyhow::Result<CheckAmount> {
    match bank.loan_check_amount(&call.customer, i.amount.0).await? {
        Ok(()) => Ok(CheckAmount::Ok),
        Err(refusal) => loan_refused(call, refusal, |refusal| match refusal {
            LoanRefusal::BelowMinimum { min } => Ok(CheckAmount::BelowMinimum { min: min.to_string() }),
            LoanRefusal::AboveLimit { limit } => Ok(CheckAmount::AboveLimit { limit: limit.to_string() }),
            other => Err(other),
        }),
    }
}

const LOAN_CHECK_AMOUNT: ActionSpec = ActionSpec {
    name: "loan_check_amount",
    description: "Whether `amount` is within what the customer may borrow now.",
    inputs: AmountIn::NAMES,
    results: CheckAmount::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

inputs!(
    /// A loan being priced.
    OfferIn { amount: Minor, tenor: String }
);

results!(
    /// `loan_offer`'s results.
    Offered {
        Ok = "ok" {
            reference, principal, fee, interest, total, installments, installment, schedule, apr,
            first_due, last_due,
        },
        BelowMinimum = "below_minimum" { min },
        AboveLimit = "above_limit" { limit },
        BadTenor = "bad_tenor" { tenors },
        NotEligible = "not_eligible",
        NotRegistered = "not_registered",
    }
);

async fn offer(bank: &Bank, call: &ActionCall, i: OfferIn) -> anyhow::Result<Offered> {
    let offer = match bank.loan_offer(&call.customer, i.amount.0, &i.tenor, &call.idempotency_key).await? {
        Ok(offer) => offer,
        Err(refusal) => {
            return loan_refused(call, refusal, |refusal| match refusal {
                LoanRefusal::BelowMinimum { min } => Ok(Offered::BelowMinimum { min: min.to_string() }),
                LoanRefusal::AboveLimit { limit } => Ok(Offered::AboveLimit { limit: limit.to_string() }),
                LoanRefusal::BadTenor { tenors } => Ok(Offered::BadTenor { tenors }),
                other => Err(other),
            });
        }
    };
    let t = &offer.terms;
    let dues: Vec<_> = t.installments.iter().map(|d| (d.due_on, d.amount)).collect();
    Ok(Offered::Ok {
        reference: offer.reference.clone(),
        principal: t.principal.to_string(),
        fee: t.fee.to_string(),
        interest: t.interest.to_string(),
        total: t.total.to_string(),
        installments: t.installments.len().to_string(),
        installment: t.installments.first().map_or(0, |d| d.amount).to_string(),
        schedule: schedule_lines(&dues, bank.currency()),
        apr: t.apr.to_string(),
        first_due: t.installments.first().map(|d| iso(d.due_on)).unwrap_or_default(),
        last_due: t.installments.last().map(|d| iso(d.due_on)).unwrap_or_default(),
    })
}

const LOAN_OFFER: ActionSpec = ActionSpec {
    name: "loan_offer",
    description: "Prices borrowing `amount` over `tenor` installments and records the offer: fee, interest, total, schedule and APR.",
    inputs: OfferIn::NAMES,
    results: Offered::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

inputs!(
    /// The offer the customer answered.
    ChosenIn { offer: String }
);

results!(
    /// `loan_accept`'s results.
    Accepted {
        Ok = "ok" { reference, amount, balance, first_due, installment },
        Expired = "expired",
        HasLoan = "has_loan",
        BalanceLimit = "balance_limit",
        NotVerified = "not_verified",
        Locked = "locked",
        NotRegistered = "not_registered",
    }
);

async fn accept(bank: &Bank, call: &ActionCall, i: ChosenIn) -> anyhow::Result<Accepted> {
    let loan = match bank.loan_accept(&call.customer, &i.offer).await? {
        Ok(loan) => loan,
        Err(refusal) => return loan_refused(call, refusal, Err),
    };
    let status = bank.loan_status(&call.customer).await?.ok().flatten();
    let first = status.as_ref().and_then(|s| s.installments.first().cloned());
    Ok(Accepted::Ok {
        reference: loan.reference,
        amount: loan.principal.to_string(),
        balance: repaying::available(bank, &call.customer).await?,
        first_due: first.as_ref().map(|i| i.due_on.clone()).unwrap_or_default(),
        installment: first.map_or(0, |i| i.amount).to_string(),
    })
}

const LOAN_ACCEPT: ActionSpec = ActionSpec {
    name: "loan_accept",
    description: "Accepts the offer and pays the principal into the wallet (once); the PIN must be verified just before.",
    inputs: ChosenIn::NAMES,
    results: Accepted::RESULTS,
    moves_money: true,
    verifies: false,
    remember: true,
    money_inputs: &[MoneyInput { input: "offer", answers: &["amount", "number", "choice"] }],
};

results!(
    /// `loan_decline`'s results.
    Declined { Ok = "ok", Expired = "expired", NotRegistered = "not_registered" }
);

async fn decline(bank: &Bank, call: &ActionCall, i: ChosenIn) -> anyhow::Result<Declined> {
    match bank.loan_decline(&call.customer, &i.offer).await? {
        Ok(()) => Ok(Declined::Ok),
        Err(refusal) => loan_refused(call, refusal, Err),
    }
}

const LOAN_DECLINE: ActionSpec = ActionSpec {
    name: "loan_decline",
    description: "Declines the offer (recorded).",
    inputs: ChosenIn::NAMES,
    results: Declined::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};
