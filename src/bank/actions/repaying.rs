//! The running loan, as flows call it: its status and repaying it.

use super::declare::{Results, refused, results};
use super::loans::{AmountIn, loan_refused};
use crate::bank::Bank;
use crate::bank::loans::LoanRefusal;
use crate::flows::actions::{ActionCall, ActionSpec, MoneyInput};

/// The wallet's available balance, in minor units (empty for a customer without one).
pub(super) async fn available(bank: &Bank, key: &str) -> anyhow::Result<String> {
    Ok(bank.balance(key).await?.map(|(b, _)| b.available.to_string()).unwrap_or_default())
}

results!(
    /// `loan_status`'s results.
    Status {
        Active = "active" {
            reference, principal, total, paid, outstanding, next_due, next_amount, left, schedule,
            overdue, late_fees,
        },
        None = "none",
        NotRegistered = "not_registered",
    }
);

pub(super) async fn status(bank: &Bank, call: &ActionCall) -> anyhow::Result<Status> {
    let status = match bank.loan_status(&call.customer).await? {
        Err(refusal) => return refused(call, refusal.code()),
        Ok(None) => return Ok(Status::None),
        Ok(Some(status)) => status,
    };
    let schedule: Vec<String> = status
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
    let (loan, next) = (&status.loan, status.next());
    Ok(Status::Active {
        reference: loan.reference.clone(),
        principal: loan.principal.to_string(),
        total: (loan.total + loan.late_fees).to_string(),
        paid: loan.paid().to_string(),
        outstanding: loan.outstanding().to_string(),
        next_due: next.map(|i| i.due_on.clone()).unwrap_or_default(),
        next_amount: next.map_or(0, |i| i.outstanding()).to_string(),
        left: status.installments.iter().filter(|i| i.outstanding() > 0).count().to_string(),
        schedule: schedule.join("\n"),
        overdue: if status.overdue() { "yes" } else { "no" }.to_owned(),
        late_fees: loan.late_fees.to_string(),
    })
}

pub(super) const LOAN_STATUS: ActionSpec = ActionSpec {
    name: "loan_status",
    description: "The running loan: what is paid and owed, the next installment and the schedule.",
    inputs: &[],
    results: Status::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

results!(
    /// `loan_repay`'s results.
    Repay {
        Ok = "ok" { reference, amount, outstanding, balance },
        Repaid = "repaid" { reference, amount, balance },
        InsufficientFunds = "insufficient_funds",
        TooMuch = "too_much" { outstanding },
        NoLoan = "no_loan",
        NotVerified = "not_verified",
        Locked = "locked",
        NotRegistered = "not_registered",
    }
);

pub(super) async fn repay(bank: &Bank, call: &ActionCall, i: AmountIn) -> anyhow::Result<Repay> {
    let key = call.customer.as_str();
    let repaid = match bank.loan_repay(key, i.amount.0, &call.idempotency_key).await? {
        Ok(repaid) => repaid,
        Err(refusal) => {
            return loan_refused(call, refusal, |refusal| match refusal {
                LoanRefusal::TooMuch { outstanding } => {
                    Ok(Repay::TooMuch { outstanding: outstanding.to_string() })
                }
                other => Err(other),
            });
        }
    };
    let (reference, amount, balance) =
        (repaid.reference, repaid.amount.to_string(), available(bank, key).await?);
    Ok(if repaid.outstanding == 0 {
        Repay::Repaid { reference, amount, balance }
    } else {
        Repay::Ok { reference, amount, outstanding: repaid.outstanding.to_string(), balance }
    })
}

pub(super) const LOAN_REPAY: ActionSpec = ActionSpec {
    name: "loan_repay",
    description: "Pays `amount` off the running loan from the wallet; the PIN must be verified just before.",
    inputs: AmountIn::NAMES,
    results: Repay::RESULTS,
    moves_money: true,
    verifies: false,
    remember: true,
    money_inputs: &[MoneyInput { input: "amount", answers: &["amount"] }],
};
