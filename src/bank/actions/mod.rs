//! The bank's actions, as flows call them. Each declares its inputs, result codes and outputs
//! (checked by the flow compiler); amounts travel as minor units, and a transfer's destination
//! `to` is a phone number (another customer) or `<bank>:<account>` (another bank).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Bank, CodeCheck, Refusal, Transfer};

use crate::flows::actions::{Action, ActionCall, ActionOutcome, ActionSpec, Catalogue, ResultSpec};

pub(super) const fn r(code: &'static str) -> ResultSpec {
    ResultSpec { code, outputs: &[] }
}

pub(super) const NOT_REGISTERED: ResultSpec = r("not_registered");

mod codes;
mod loans;
mod money;
mod pins;

pub use codes::CodeAction;
pub use loans::LoanAction;
pub use money::MoneyAction;
pub use pins::PinAction;

pub(super) const TRANSFER_RESULTS: &[ResultSpec] = &[
    ResultSpec { code: "ok", outputs: &["reference", "fee"] },
    ResultSpec { code: "pending", outputs: &["reference", "fee"] },
    ResultSpec { code: "failed", outputs: &["reference"] },
    r("insufficient_funds"),
    r("over_limit"),
    r("daily_limit"),
    r("recipient_limit"),
    r("not_verified"),
    r("code_required"),
    r("locked"),
    r("unknown_recipient"),
    r("to_self"),
    r("unknown_bank"),
    NOT_REGISTERED,
];

/// Every bank action, by family. A family's declarations and runners are matched
/// exhaustively, so an action without either is a Rust compile error; the flow compiler
/// checks every flow against the same declarations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    /// PINs and registration.
    Pin(PinAction),
    /// Step-up codes and authenticator apps.
    Code(CodeAction),
    /// Balances, statements, payees, quotes and transfers.
    Money(MoneyAction),
    /// Lending.
    Loan(LoanAction),
}

impl Name {
    /// Every action.
    pub fn all() -> impl Iterator<Item = Name> {
        (PinAction::ALL.into_iter().map(Name::Pin))
            .chain(CodeAction::ALL.into_iter().map(Name::Code))
            .chain(MoneyAction::ALL.into_iter().map(Name::Money))
            .chain(LoanAction::ALL.into_iter().map(Name::Loan))
    }

    /// Its declaration.
    pub fn spec(self) -> &'static ActionSpec {
        match self {
            Name::Pin(a) => a.spec(),
            Name::Code(a) => a.spec(),
            Name::Money(a) => a.spec(),
            Name::Loan(a) => a.spec(),
        }
    }
}

/// One of the bank's actions.
struct BankAction {
    name: Name,
    bank: Arc<Bank>,
}

/// The catalogue with every bank action registered.
pub fn register(catalogue: Catalogue, bank: &Arc<Bank>) -> Catalogue {
    Name::all().fold(catalogue, |c, name| c.register(Arc::new(BankAction { name, bank: bank.clone() })))
}

/// Every bank action, declared but not runnable: for compiling flows.
pub fn declared() -> Catalogue {
    Catalogue::declaring(Name::all().map(Name::spec))
}

pub(super) fn outcome<const N: usize>(code: &str, outputs: [(&str, String); N]) -> ActionOutcome {
    ActionOutcome {
        code: code.to_owned(),
        outputs: outputs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<BTreeMap<_, _>>(),
    }
}

pub(super) fn code(code: &str) -> ActionOutcome {
    outcome(code, [])
}

pub(super) fn refused(refusal: Refusal) -> ActionOutcome {
    code(refusal.code())
}

pub(super) fn code_check(check: Result<CodeCheck, Refusal>) -> ActionOutcome {
    match check {
        Ok(CodeCheck::Verified) => code("ok"),
        Ok(CodeCheck::Wrong) => code("wrong"),
        Ok(CodeCheck::Expired) => code("expired"),
        Ok(CodeCheck::TooMany) => code("too_many"),
        Err(refusal) => refused(refusal),
    }
}

impl BankAction {
    pub(super) fn input<'a>(call: &'a ActionCall, name: &str) -> &'a str {
        call.inputs.get(name).map_or("", |v| v.trim())
    }

    pub(super) fn amount(call: &ActionCall) -> anyhow::Result<i64> {
        let text = Self::input(call, "amount");
        match text.parse::<i64>() {
            Ok(amount) if amount > 0 => Ok(amount),
            _ => {
                anyhow::bail!("action {}: amount {text:?} is not a positive number of minor units", call.name)
            }
        }
    }

    /// `to` as the ledger names counterparties: a phone number, or `<bank code>:<account>`.
    fn counterparty(&self, to: &str) -> Result<String, Refusal> {
        match to.split_once(':') {
            Some((bank, account)) => match self.bank.rules.banks.get(bank) {
                Some(info) => Ok(format!("{}:{account}", info.code)),
                None => Err(Refusal::UnknownBank),
            },
            None => Ok(to.to_owned()),
        }
    }
}

#[async_trait]
impl Action for BankAction {
    fn spec(&self) -> &'static ActionSpec {
        self.name.spec()
    }

    async fn run(&self, call: &ActionCall) -> anyhow::Result<ActionOutcome> {
        match self.name {
            Name::Pin(a) => a.run(self, call).await,
            Name::Code(a) => a.run(self, call).await,
            Name::Money(a) => a.run(self, call).await,
            Name::Loan(a) => a.run(self, call).await,
        }
    }
}

pub(super) fn transfer(outcome_of: Transfer) -> ActionOutcome {
    match outcome_of {
        Transfer::Posted { reference, fee } => {
            outcome("ok", [("reference", reference), ("fee", fee.to_string())])
        }
        Transfer::Pending { reference, fee } => {
            outcome("pending", [("reference", reference), ("fee", fee.to_string())])
        }
        Transfer::Failed { reference } => outcome("failed", [("reference", reference)]),
        Transfer::Refused(refusal) => refused(refusal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_a_transfer_can_return_is_declared() {
        let refusals = [
            Refusal::NotRegistered,
            Refusal::Locked,
            Refusal::NotVerified,
            Refusal::CodeRequired,
            Refusal::InsufficientFunds,
            Refusal::OverLimit,
            Refusal::DailyLimit,
            Refusal::RecipientLimit,
            Refusal::UnknownRecipient,
            Refusal::ToSelf,
            Refusal::UnknownBank,
        ];
        for refusal in refusals {
            assert!(TRANSFER_RESULTS.iter().any(|r| r.code == refusal.code()), "{refusal:?}");
        }
        let names: std::collections::BTreeSet<_> = Name::all().map(|n| n.spec().name).collect();
        assert_eq!(names.len(), Name::all().count(), "an action is declared twice");
    }
}
