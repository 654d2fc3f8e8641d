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
