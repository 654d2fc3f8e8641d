//! What the bank tells a customer outside a conversation: money in, a transfer's outcome, a
//! one-time code. Written in the customer's language, in the voice of the flows.

use crate::money::format_money;

/// A message the bank sends on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice<'a> {
    /// Another customer sent money.
    Received {
        /// Minor units.
        amount: i64,
        /// Payer as shown ("Ada L. (2348****21)").
        from: &'a str,
        /// Available balance after it.
        balance: i64,
    },
    /// Money arrived from outside.
    Credited {
        /// Minor units.
        amount: i64,
        /// Payer as shown, if the provider said.
        from: &'a str,
        /// Available balance after it.
        balance: i64,
    },
    /// A transfer to another bank arrived.
    TransferDone {
        /// Minor units.
        amount: i64,
        /// Recipient as shown.
        to: &'a str,
        /// Reference.
        reference: &'a str,
    },
    /// A transfer to another bank failed and the funds came back.
    TransferFailed {
        /// Minor units.
        amount: i64,
        /// Recipient as shown.
        to: &'a str,
        /// Reference.
        reference: &'a str,
    },
    /// A failed transfer's refund waits: the wallet is at its maximum balance.
    RefundHeld {
        /// Minor units waiting (amount and fee).
        amount: i64,
        /// The maximum balance.
        limit: i64,
        /// The transfer's reference.
        reference: &'a str,
    },
    /// A refund that waited is in the wallet now.
    RefundPaid {
        /// Minor units paid in.
        amount: i64,
        /// Available balance after it.
        balance: i64,
        /// The transfer's reference.
        reference: &'a str,
    },
    /// The monthly maintenance fee was charged.
    MonthlyFee {
        /// Minor units.
        amount: i64,
        /// The month, as shown ("December").
        month: &'a str,
        /// Available balance after it.
        balance: i64,
        /// Reference.
        reference: &'a str,
    },
    /// Money from outside was turned back: it would have passed the wallet's maximum balance.
    CreditRefused {
        /// Minor units.
        amount: i64,
        /// The maximum balance.
        limit: i64,
    },
    /// A loan installment was collected from the wallet (all or part of what was due).
    LoanCollected {
        /// Minor units taken.
        amount: i64,
        /// Still due now (0: this installment is paid).
        still_due: i64,
        /// Everything still owed on the loan (0: the loan is repaid).
        outstanding: i64,
        /// Reference.
        reference: &'a str,
    },
    /// An installment fell due and the wallet held nothing to collect.
    LoanNotCollected {
        /// Minor units due.
        amount: i64,
        /// Days until it is overdue.
        grace_days: u32,
    },
    /// An installment became overdue and a late fee was added.
    LoanOverdue {
        /// Minor units now due, late fee included.
        amount: i64,
        /// The late fee.
        late_fee: i64,
        /// The due date, as shown ("22 Dec 2026").
        due_on: &'a str,
    },
    /// An installment falls due soon.
    LoanReminder {
        /// Minor units due.
        amount: i64,
        /// The due date, as shown.
        due_on: &'a str,
        /// Days left (0: today).
        days: u32,
    },
    /// A one-time code (in the sandbox, instead of the authentication template).
    Code {
        /// The code.
        code: &'a str,
        /// Minutes it lives.
        minutes: u64,
    },
}

/// `notice` in `language` (English unless `pcm`).
pub fn text(notice: &Notice<'_>, language: &str, currency: &str) -> String {
    let money = |minor: i64| format_money(minor, currency);
    let pcm = language == "pcm";
    match notice {
        Notice::Received { amount, from, balance } | Notice::Credited { amount, from, balance } => {
            let from = if from.is_empty() { String::new() } else { format!(" from {from}") };
            if pcm {
                format!(
                    "Money don land 💰 {}{from}. Your balance na {} now.",
                    money(*amount),
                    money(*balance)
                )
            } else {
                format!(
                    "You received {}{from} 💰 Your available balance is {}.",
                    money(*amount),
                    money(*balance)
                )
            }
        }
        Notice::TransferDone { amount, to, reference } => {
            if pcm {
                format!("✅ The {} wey you send to {to} don land. Ref: {reference}", money(*amount))
            } else {
                format!("✅ Your transfer of {} to {to} has arrived. Ref: {reference}", money(*amount))
            }
        }
        Notice::TransferFailed { amount, to, reference } => {
            if pcm {
                format!(
                    "The {} wey you send to {to} no go through. We don return the money and fee to your account. Ref: {reference}",
                    money(*amount)
                )
            } else {
                format!(
                    "Your transfer of {} to {to} did not go through. The money and the fee are back in your account. Ref: {reference}",
                    money(*amount)
                )
            }
        }
        Notice::MonthlyFee { amount, month, balance, reference } => {
            if pcm {
                format!(
                    "We don collect {} for {month} account maintenance. Your balance na {} now. Ref: {reference}",
                    money(*amount),
                    money(*balance)
                )
            } else {
                format!(
                    "Your {month} account maintenance fee of {} was charged. Your available balance is {}. Ref: {reference}",
                    money(*amount),
                    money(*balance)
                )
            }
        }
        Notice::RefundHeld { amount, limit, reference } => {
            if pcm {
                format!(
                    "⚠️ Your transfer no go through. We dey hold your {} refund for you, because your account no fit hold pass {}. We go put am for your account once space dey (spend or move some money). Ref: {reference}",
                    money(*amount),
                    money(*limit)
                )
            } else {
                format!(
                    "⚠️ Your transfer did not go through. We are keeping your refund of {} safe for you: your account can hold at most {}, so it goes in as soon as there is room (spend or move some money out). Ref: {reference}",
                    money(*amount),
                    money(*limit)
                )
            }
        }
        Notice::RefundPaid { amount, balance, reference } => {
            if pcm {
                format!(
                    "✅ We don put your {} refund for your account. Money wey you fit use: {}. Ref: {reference}",
                    money(*amount),
                    money(*balance)
                )
            } else {
                format!(
                    "✅ Your refund of {} is in your account. Available balance: {}. Ref: {reference}",
                    money(*amount),
                    money(*balance)
                )
            }
        }
        Notice::CreditRefused { amount, limit } => {
            if pcm {
                format!(
                    "⚠️ We no fit receive {} wey person send you: your account no fit hold pass {}. The money don go back to the person wey send am. Reply \"menu\" to continue.",
                    money(*amount),
                    money(*limit)
                )
            } else {
                format!(
                    "⚠️ A payment of {} to you went back to the sender: your account can hold at most {}. Reply \"menu\" to carry on.",
                    money(*amount),
                    money(*limit)
                )
            }
        }
        Notice::LoanCollected { amount, still_due, outstanding, reference } => {
            match (pcm, *still_due, *outstanding) {
                (false, _, 0) => format!(
                    "✅ We collected {} from your account. Your loan is fully repaid. Thank you! Ref: {reference}",
                    money(*amount)
                ),
                (true, _, 0) => format!(
                    "✅ We don collect {} from your account. You don finish pay your loan. Thank you! Ref: {reference}",
                    money(*amount)
                ),
                (false, 0, _) => format!(
                    "✅ We collected your loan installment of {}. You still owe {} in all. Ref: {reference}",
                    money(*amount),
                    money(*outstanding)
                ),
                (true, 0, _) => format!(
                    "✅ We don collect your loan installment of {}. You still get {} to pay in all. Ref: {reference}",
                    money(*amount),
                    money(*outstanding)
                ),
                (false, _, _) => format!(
                    "We collected {} towards your loan installment; {} of it is still due. Add money to your account and we will collect it, or reply \"repay\". Ref: {reference}",
                    money(*amount),
                    money(*still_due)
                ),
                (true, _, _) => format!(
                    "We don collect {} for your loan installment; {} still remain. Put money for your account make we collect am, or reply \"repay\". Ref: {reference}",
                    money(*amount),
                    money(*still_due)
                ),
            }
        }
        Notice::LoanNotCollected { amount, grace_days } => {
            if pcm {
                format!(
                    "⚠️ Your loan installment of {} don reach today, but money no dey your account. Put money before {grace_days} days pass make late fee no enter. Reply \"repay\" to pay.",
                    money(*amount)
                )
            } else {
                format!(
                    "⚠️ Your loan installment of {} is due today, but your account is empty. Add money within {grace_days} days to avoid a late fee, or reply \"repay\" to pay.",
                    money(*amount)
                )
            }
        }
        Notice::LoanOverdue { amount, late_fee, due_on } => {
            if pcm {
                format!(
                    "⚠️ Your loan installment wey suppose pay on {due_on} never complete. We don add late fee of {}, so {} dey due now. Reply \"repay\" to pay.",
                    money(*late_fee),
                    money(*amount)
                )
            } else {
                format!(
                    "⚠️ Your loan installment due on {due_on} is overdue. A late fee of {} was added, so {} is due now. Reply \"repay\" to pay.",
                    money(*late_fee),
                    money(*amount)
                )
            }
        }
        Notice::LoanReminder { amount, due_on, days } => match (pcm, *days) {
            (false, 0) => format!(
                "⏰ Your loan installment of {} is due today. Keep it in your account and we will collect it, or reply \"repay\" to pay now.",
                money(*amount)
            ),
            (true, 0) => format!(
                "⏰ Your loan installment of {} dey due today. Leave am for your account make we collect am, or reply \"repay\" to pay now.",
                money(*amount)
            ),
            (false, _) => format!(
                "⏰ Reminder: your loan installment of {} is due on {due_on}. Keep it in your account and we will collect it then, or reply \"repay\" to pay now.",
                money(*amount)
            ),
            (true, _) => format!(
                "⏰ Reminder: your loan installment of {} go due on {due_on}. Leave am for your account make we collect am that day, or reply \"repay\" to pay now.",
                money(*amount)
            ),
        },
        Notice::Code { code, minutes } => {
            if pcm {
                format!(
                    "{code} na your code. E go expire in {minutes} minutes. No give anybody, even if dem say na bank staff."
                )
            } else {
                format!(
                    "{code} is your code. It expires in {minutes} minutes. Never share it with anyone, even someone who says they work for the bank."
                )
            }
        }
    }
}
