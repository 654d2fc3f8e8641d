//! Customer care as flows call it: freeze the account, complain (about a recent transaction
//! picked by number), ask for a person, and ask how a complaint stands.
//!
//! Each action is a variant: its declaration and its runner are matched exhaustively (see
//! `declare`).

use super::BankAction;
use super::declare::{Results, inputs, refused, results};
use crate::bank::care::{ComplaintRefusal, PICKABLE};
use crate::bank::{Bank, Refusal};
use crate::flows::actions::{ActionCall, ActionOutcome, ActionSpec};

/// The actions of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CareAction {
    /// `freeze_account`.
    Freeze,
    /// `complaint_transactions`.
    Transactions,
    /// `open_complaint`.
    Complain,
    /// `open_money_complaint`.
    ComplainAboutMoney,
    /// `ask_for_person`.
    Person,
    /// `ticket_status`.
    Status,
}

impl CareAction {
    /// Every one.
    pub const ALL: [CareAction; 6] = [
        CareAction::Freeze,
        CareAction::Transactions,
        CareAction::Complain,
        CareAction::ComplainAboutMoney,
        CareAction::Person,
        CareAction::Status,
    ];

    /// Its declaration.
    pub fn spec(self) -> &'static ActionSpec {
        match self {
            CareAction::Freeze => &FREEZE,
            CareAction::Transactions => &TRANSACTIONS,
            CareAction::Complain => &COMPLAIN,
            CareAction::ComplainAboutMoney => &COMPLAIN_ABOUT_MONEY,
            CareAction::Person => &PERSON,
            CareAction::Status => &STATUS,
        }
    }

    /// Runs it for `call`.
    pub(super) async fn run(self, action: &BankAction, call: &ActionCall) -> anyhow::Result<ActionOutcome> {
        let (bank, key, once) = (&*action.bank, call.customer.as_str(), call.idempotency_key.as_str());
        Ok(match self {
            CareAction::Freeze => match bank.freeze(key, once).await? {
                Ok((opened, false)) => Frozen::Ok { reference: opened.reference }.outcome(),
                Ok((opened, true)) => Frozen::Already { reference: opened.reference }.outcome(),
                Err(refusal) => refused::<Frozen>(call, refusal.code())?.outcome(),
            },
            CareAction::Transactions => transactions(bank, call).await?.outcome(),
            CareAction::Complain => {
                let i = ComplaintIn::read(call)?;
                complaint(call, bank.complain(key, once, &i.category, None).await?)?.outcome()
            }
            CareAction::ComplainAboutMoney => {
                let i = MoneyComplaintIn::read(call)?;
                let pick = i.pick.trim().parse::<i64>().unwrap_or(0);
                complaint(call, bank.complain(key, once, &i.category, Some(pick)).await?)?.outcome()
            }
            CareAction::Person => match bank.ask_for_person(key, once).await? {
                Ok(opened) => Opened::Ok { reference: opened.reference }.outcome(),
                Err(refusal) => refused::<Opened>(call, refusal.code())?.outcome(),
            },
            CareAction::Status => status(bank, call).await?.outcome(),
        })
    }
}

results!(
    /// A ticket opened (or found again).
    Opened {
        Ok = "ok" { reference },
        NotRegistered = "not_registered",
    }
);

results!(
    /// `freeze_account`'s results: frozen now, or already (the fraud ticket open since).
    Frozen {
        Ok = "ok" { reference },
        Already = "already" { reference },
        NotRegistered = "not_registered",
    }
);

results!(
    /// A complaint's results.
    Complaint {
        Ok = "ok" { reference },
        NoSuchTransaction = "no_such_transaction",
        TooMany = "too_many",
        NotRegistered = "not_registered",
    }
);

fn complaint(
    call: &ActionCall,
    done: Result<crate::bank::care::Opened, ComplaintRefusal>,
) -> anyhow::Result<Complaint> {
    match done {
        Ok(opened) => Ok(Complaint::Ok { reference: opened.reference }),
        Err(ComplaintRefusal::NoSuchTransaction) => Ok(Complaint::NoSuchTransaction),
        Err(ComplaintRefusal::TooMany) => Ok(Complaint::TooMany),
        Err(ComplaintRefusal::NotRegistered) => refused(call, Refusal::NotRegistered.code()),
        Err(ComplaintRefusal::UnknownCategory) => {
            anyhow::bail!("action {}: not a category of complaint", call.name)
        }
    }
}

inputs!(
    /// A complaint: its category (one of `bank::care::CATEGORIES`).
    ComplaintIn { category: String }
);

inputs!(
    /// A complaint about one of the recent transactions: its number in the list, 1 the newest.
    MoneyComplaintIn { category: String, pick: String }
);

results!(
    /// The recent transactions a complaint may be about, numbered.
    TransactionsResult {
        Ok = "ok" { lines, count },
        Empty = "empty",
        NotRegistered = "not_registered",
    }
);

async fn transactions(bank: &Bank, call: &ActionCall) -> anyhow::Result<TransactionsResult> {
    match bank.statement(&call.customer, PICKABLE).await? {
        Ok(lines) if lines.is_empty() => Ok(TransactionsResult::Empty),
        Ok(lines) => {
            let numbered: Vec<String> =
                lines.iter().enumerate().map(|(i, l)| format!("{}. {l}", i + 1)).collect();
            Ok(TransactionsResult::Ok { count: lines.len().to_string(), lines: numbered.join("\n") })
        }
        Err(refusal) => refused(call, refusal.code()),
    }
}

results!(
    /// How the customer's newest ticket stands.
    StatusResult {
        Open = "open" { reference, opened_on, with_agent },
        Closed = "closed" { reference, opened_on, resolution },
        None = "none",
        NotRegistered = "not_registered",
    }
);

async fn status(bank: &Bank, call: &ActionCall) -> anyhow::Result<StatusResult> {
    let ticket = match bank.ticket_status(&call.customer, "").await? {
        Ok(Some(ticket)) => ticket,
        Ok(None) => return Ok(StatusResult::None),
        Err(refusal) => return refused(call, refusal.code()),
    };
    let opened_on = bank.local_date(ticket.created_at);
    Ok(if ticket.status == "open" {
        let with_agent = if ticket.agent_id.is_some() { "yes" } else { "no" }.to_owned();
        StatusResult::Open { reference: ticket.reference, opened_on, with_agent }
    } else {
        let resolution = ticket.resolution.unwrap_or_default();
        StatusResult::Closed { reference: ticket.reference, opened_on, resolution }
    })
}

const fn spec(
    name: &'static str,
    description: &'static str,
    inputs: &'static [&'static str],
    results: &'static [crate::flows::actions::ResultSpec],
) -> ActionSpec {
    ActionSpec {
        name,
        description,
        inputs,
        results,
        moves_money: false,
        verifies: false,
        remember: true,
        money_inputs: &[],
    }
}

const FREEZE: ActionSpec = spec(
    "freeze_account",
    "Freezes the customer's money actions at once (no PIN needed) and opens a fraud ticket; an operator unfreezes.",
    &[],
    Frozen::RESULTS,
);
const TRANSACTIONS: ActionSpec = spec(
    "complaint_transactions",
    "The last five transactions, numbered, for a complaint to pick one.",
    &[],
    TransactionsResult::RESULTS,
);
const COMPLAIN: ActionSpec = spec(
    "open_complaint",
    "Opens a ticket of `category`, with a tracking number.",
    ComplaintIn::NAMES,
    Complaint::RESULTS,
);
const COMPLAIN_ABOUT_MONEY: ActionSpec = spec(
    "open_money_complaint",
    "Opens a ticket of `category` about the recent transaction numbered `pick`, with a tracking number.",
    MoneyComplaintIn::NAMES,
    Complaint::RESULTS,
);
const PERSON: ActionSpec = spec(
    "ask_for_person",
    "Hands the customer to a person: their open ticket (or a new one) takes their messages until it closes or they say menu.",
    &[],
    Opened::RESULTS,
);
const STATUS: ActionSpec =
    spec("ticket_status", "How the customer's newest ticket stands.", &[], StatusResult::RESULTS);
