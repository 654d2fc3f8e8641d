//! The bank's actions, as flows call them. Each declares its inputs, result codes and outputs
//! (checked by the flow compiler); amounts travel as minor units, and a transfer's destination
//! `to` is a phone number (another customer) or `<bank>:<account>` (another bank).

use std::sync::Arc;

use async_trait::async_trait;

use super::{Bank, Refusal};

use crate::flows::actions::{Action, ActionCall, ActionOutcome, ActionSpec, Catalogue};

mod bills;
mod care;
mod codes;
mod declare;
mod loans;
mod money;
mod pins;
mod repaying;

pub use bills::BillAction;
pub use care::CareAction;
pub use codes::CodeAction;
pub use loans::LoanAction;
pub use money::MoneyAction;
pub use pins::PinAction;

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
    /// Customer care.
    Care(CareAction),
    /// Airtime and data.
    Bill(BillAction),
}

impl Name {
    /// Every action.
    pub fn all() -> impl Iterator<Item = Name> {
        (PinAction::ALL.into_iter().map(Name::Pin))
            .chain(CodeAction::ALL.into_iter().map(Name::Code))
            .chain(MoneyAction::ALL.into_iter().map(Name::Money))
            .chain(LoanAction::ALL.into_iter().map(Name::Loan))
            .chain(CareAction::ALL.into_iter().map(Name::Care))
            .chain(BillAction::ALL.into_iter().map(Name::Bill))
    }

    /// Its declaration.
    pub fn spec(self) -> &'static ActionSpec {
        match self {
            Name::Pin(a) => a.spec(),
            Name::Code(a) => a.spec(),
            Name::Money(a) => a.spec(),
            Name::Loan(a) => a.spec(),
            Name::Care(a) => a.spec(),
            Name::Bill(a) => a.spec(),
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

/// `to` as the ledger names counterparties: a phone number, or `<bank code>:<account>`.
fn counterparty(bank: &Bank, to: &str) -> Result<String, Refusal> {
    match to.split_once(':') {
        // A phone line airtime or data goes to: as the ledger names it already.
        Some((network, _)) if super::biller::Network::parse(network).is_some() => Ok(to.to_owned()),
        Some((code, account)) => match bank.rules.banks.get(code) {
            Some(info) => Ok(format!("{}:{account}", info.code)),
            None => Err(Refusal::UnknownBank),
        },
        None => Ok(to.to_owned()),
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
            Name::Care(a) => a.run(self, call).await,
            Name::Bill(a) => a.run(self, call).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_declared_once() {
        let names: std::collections::BTreeSet<_> = Name::all().map(|n| n.spec().name).collect();
        assert_eq!(names.len(), Name::all().count(), "an action is declared twice");
    }
}
