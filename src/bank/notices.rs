//! What the bank tells a customer outside a conversation: money in, a transfer's outcome, a
//! one-time code. Written in the customer's language, in the voice of the flows.

use crate::locale::{self, Texts};
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
        /// What the wallet could still take.
        room: i64,
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
    /// An operator waived an installment's late fee.
    LateFeeWaived {
        /// The late fee waived.
        amount: i64,
        /// What the loan still owes.
        outstanding: i64,
    },
    /// An operator moved the loan's unpaid installments to later dates.
    LoanRescheduled {
        /// The first new due date, as shown ("5 Jan 2027").
        first_due: &'a str,
        /// The unpaid installments moved.
        installments: usize,
        /// `month` or `week`: how far apart they fall.
        every: &'a str,
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
    /// A customer care agent's reply on a ticket.
    AgentReply {
        /// What the agent wrote.
        text: &'a str,
        /// The ticket's tracking number.
        reference: &'a str,
    },
    /// An agent closed the customer's ticket; they are asked to rate the help.
    TicketClosed {
        /// The ticket's tracking number.
        reference: &'a str,
        /// How it was resolved, in the agent's words.
        resolution: &'a str,
    },
    /// No agent has answered the customer yet: when to expect one, in care's hours.
    AgentBy {
        /// A time today ("14:30"), or a day and time ("Monday 08:00").
        by: &'a str,
    },
    /// No agent has answered, and care is closed: when it opens.
    CareAway {
        /// A day and time ("Monday 08:00").
        opens: &'a str,
    },
    /// Airtime or data bought is delivered.
    BillDone {
        /// Minor units.
        amount: i64,
        /// What and for whom ("MTN airtime (0803****567)").
        what: &'a str,
        /// The purchase's reference.
        reference: &'a str,
    },
    /// Airtime or data could not be delivered: nothing was taken.
    BillFailed {
        /// Minor units.
        amount: i64,
        /// What and for whom.
        what: &'a str,
        /// The purchase's reference.
        reference: &'a str,
    },
    /// The account number the customer funds their wallet through is ready.
    FundingReady {
        /// The account number.
        account_number: &'a str,
        /// Its bank.
        bank: &'a str,
        /// The name on it.
        name: &'a str,
    },
    /// Money arrived but would take the wallet past its tier's maximum: kept, paid when it fits.
    CreditHeld {
        /// Minor units.
        amount: i64,
        /// The maximum balance.
        limit: i64,
        /// The credit's reference.
        reference: &'a str,
    },
    /// A credit held for room under the maximum balance is in the wallet now.
    HeldCreditPaid {
        /// Minor units.
        amount: i64,
        /// The available balance after.
        balance: i64,
        /// The credit's reference.
        reference: &'a str,
    },
    /// A transfer to another bank came back after it had gone: the money and fee are refunded.
    TransferReversed {
        /// What was sent.
        amount: i64,
        /// What came back (amount and fee).
        refunded: i64,
        /// The payee as shown.
        to: &'a str,
        /// The transfer's reference.
        reference: &'a str,
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
    let (key, fields) = fields(notice, currency);
    let texts = TEXTS.iter().find(|t| t.0 == key).map_or(&[""; locale::LANGUAGES.len()], |t| &t.1);
    locale::fill(locale::pick(texts, language), &fields)
}

/// Which text `notice` takes, and the values of its `{fields}`.
fn fields(notice: &Notice<'_>, currency: &str) -> (&'static str, Vec<(&'static str, String)>) {
    let money = |minor: &i64| format_money(*minor, currency);
    let text = |value: &str| value.to_owned();
    match notice {
        Notice::Received { amount, from, balance } | Notice::Credited { amount, from, balance } => {
            let from = if from.is_empty() { String::new() } else { format!(" from {from}") };
            ("received", vec![("amount", money(amount)), ("from", from), ("balance", money(balance))])
        }
        Notice::TransferDone { amount, to, reference } => (
            "transfer_done",
            vec![("amount", money(amount)), ("to", text(to)), ("reference", text(reference))],
        ),
        Notice::TransferFailed { amount, to, reference } => (
            "transfer_failed",
            vec![("amount", money(amount)), ("to", text(to)), ("reference", text(reference))],
        ),
        Notice::MonthlyFee { amount, month, balance, reference } => (
            "monthly_fee",
            vec![
                ("amount", money(amount)),
                ("month", text(month)),
                ("balance", money(balance)),
                ("reference", text(reference)),
            ],
        ),
        Notice::RefundHeld { amount, limit, reference } => (
            "refund_held",
            vec![("amount", money(amount)), ("limit", money(limit)), ("reference", text(reference))],
        ),
        Notice::RefundPaid { amount, balance, reference } => (
            "refund_paid",
            vec![("amount", money(amount)), ("balance", money(balance)), ("reference", text(reference))],
        ),
        Notice::CreditRefused { amount, limit, room } => (
            "credit_refused",
            vec![("amount", money(amount)), ("limit", money(limit)), ("room", money(room))],
        ),
        Notice::LoanCollected { amount, still_due, outstanding, reference } => {
            let key = match (*still_due, *outstanding) {
                (_, 0) => "loan_repaid",
                (0, _) => "loan_collected",
                _ => "loan_part_collected",
            };
            let fields = [("still_due", money(still_due)), ("outstanding", money(outstanding))];
            (key, [vec![("amount", money(amount)), ("reference", text(reference))], fields.to_vec()].concat())
        }
        Notice::LoanNotCollected { amount, grace_days } => {
            ("loan_not_collected", vec![("amount", money(amount)), ("grace_days", grace_days.to_string())])
        }
        Notice::LoanOverdue { amount, late_fee, due_on } => (
            "loan_overdue",
            vec![("amount", money(amount)), ("late_fee", money(late_fee)), ("due_on", text(due_on))],
        ),
        Notice::LateFeeWaived { amount, outstanding } => {
            ("late_fee_waived", vec![("amount", money(amount)), ("outstanding", money(outstanding))])
        }
        Notice::LoanRescheduled { first_due, installments, every } => (
            if *installments == 1 { "loan_rescheduled_one" } else { "loan_rescheduled" },
            vec![
                ("first_due", text(first_due)),
                ("installments", installments.to_string()),
                ("every", text(every)),
            ],
        ),
        Notice::LoanReminder { amount, due_on, days } => {
            let key = if *days == 0 { "loan_due_today" } else { "loan_reminder" };
            (key, vec![("amount", money(amount)), ("due_on", text(due_on))])
        }
        Notice::AgentReply { text: said, reference } => {
            ("agent_reply", vec![("text", text(said)), ("reference", text(reference))])
        }
        Notice::TicketClosed { reference, resolution } => {
            ("ticket_closed", vec![("reference", text(reference)), ("resolution", text(resolution))])
        }
        Notice::AgentBy { by } => ("agent_by", vec![("by", text(by))]),
        Notice::CareAway { opens } => ("care_away", vec![("opens", text(opens))]),
        Notice::BillDone { amount, what, reference } => (
            "bill_done",
            vec![("amount", money(amount)), ("what", text(what)), ("reference", text(reference))],
        ),
        Notice::BillFailed { amount, what, reference } => (
            "bill_failed",
            vec![("amount", money(amount)), ("what", text(what)), ("reference", text(reference))],
        ),
        Notice::FundingReady { account_number, bank, name } => (
            "funding_ready",
            vec![("account_number", text(account_number)), ("bank", text(bank)), ("name", text(name))],
        ),
        Notice::CreditHeld { amount, limit, reference } => (
            "credit_held",
            vec![("amount", money(amount)), ("limit", money(limit)), ("reference", text(reference))],
        ),
        Notice::HeldCreditPaid { amount, balance, reference } => (
            "held_credit_paid",
            vec![("amount", money(amount)), ("balance", money(balance)), ("reference", text(reference))],
        ),
        Notice::TransferReversed { amount, refunded, to, reference } => (
            "transfer_reversed",
            vec![
                ("amount", money(amount)),
                ("refunded", money(refunded)),
                ("to", text(to)),
                ("reference", text(reference)),
            ],
        ),
        Notice::Code { code, minutes } => {
            ("code", vec![("code", text(code)), ("minutes", minutes.to_string())])
        }
    }
}

/// Each notice's text, by key, in every language.
const TEXTS: &[(&str, Texts)] = &[
    (
        "received",
        [
            "You received {amount}{from} 💰 Your available balance is {balance}.",
            "Money don land 💰 {amount}{from}. Your balance na {balance} now.",
        ],
    ),
    (
        "transfer_done",
        [
            "✅ Your transfer of {amount} to {to} has arrived. Ref: {reference}",
            "✅ The {amount} wey you send to {to} don land. Ref: {reference}",
        ],
    ),
    (
        "transfer_failed",
        [
            "Your transfer of {amount} to {to} did not go through. The money and the fee are back in your account. Ref: {reference}",
            "The {amount} wey you send to {to} no go through. We don return the money and fee to your account. Ref: {reference}",
        ],
    ),
    (
        "monthly_fee",
        [
            "Your {month} account maintenance fee of {amount} was charged. Your available balance is {balance}. Ref: {reference}",
            "We don collect {amount} for {month} account maintenance. Your balance na {balance} now. Ref: {reference}",
        ],
    ),
    (
        "refund_held",
        [
            "⚠️ Your transfer did not go through. We are keeping your refund of {amount} safe for you: your account can hold at most {limit}, so it goes in as soon as there is room (spend or move some money out). Ref: {reference}",
            "⚠️ Your transfer no go through. We dey hold your {amount} refund for you, because your account no fit hold pass {limit}. We go put am for your account once space dey (spend or move some money). Ref: {reference}",
        ],
    ),
    (
        "refund_paid",
        [
            "✅ Your refund of {amount} is in your account. Available balance: {balance}. Ref: {reference}",
            "✅ We don put your {amount} refund for your account. Money wey you fit use: {balance}. Ref: {reference}",
        ],
    ),
    (
        "credit_refused",
        [
            "⚠️ A payment of {amount} to you went back to the sender: your account can hold at most {limit}, so it can take only {room} more now. Reply \"menu\" to carry on.",
            "⚠️ We no fit receive {amount} wey person send you: your account no fit hold pass {limit}, so e fit take only {room} more now. The money don go back to the person wey send am. Reply \"menu\" to continue.",
        ],
    ),
    (
        "loan_repaid",
        [
            "✅ We collected {amount} from your account. Your loan is fully repaid. Thank you! Ref: {reference}",
            "✅ We don collect {amount} from your account. You don finish pay your loan. Thank you! Ref: {reference}",
        ],
    ),
    (
        "loan_collected",
        [
            "✅ We collected your loan installment of {amount}. You still owe {outstanding} in all. Ref: {reference}",
            "✅ We don collect your loan installment of {amount}. You still get {outstanding} to pay in all. Ref: {reference}",
        ],
    ),
    (
        "loan_part_collected",
        [
            "We collected {amount} towards your loan installment; {still_due} of it is still due. Add money to your account and we will collect it, or reply \"repay\". Ref: {reference}",
            "We don collect {amount} for your loan installment; {still_due} still remain. Put money for your account make we collect am, or reply \"repay\". Ref: {reference}",
        ],
    ),
    (
        "loan_not_collected",
        [
            "⚠️ Your loan installment of {amount} is due today, but your account is empty. Add money within {grace_days} days to avoid a late fee, or reply \"repay\" to pay.",
            "⚠️ Your loan installment of {amount} don reach today, but money no dey your account. Put money before {grace_days} days pass make late fee no enter. Reply \"repay\" to pay.",
        ],
    ),
    (
        "loan_overdue",
        [
            "⚠️ Your loan installment due on {due_on} is overdue. A late fee of {late_fee} was added, so {amount} is due now. Reply \"repay\" to pay.",
            "⚠️ Your loan installment wey suppose pay on {due_on} never complete. We don add late fee of {late_fee}, so {amount} dey due now. Reply \"repay\" to pay.",
        ],
    ),
    (
        "late_fee_waived",
        [
            "Good news: we have removed the late fee of {amount} from your loan. You now owe {outstanding}. Reply \"repay\" to pay.",
            "Good news: we don remove the late fee of {amount} from your loan. Wetin you owe now na {outstanding}. Reply \"repay\" to pay.",
        ],
    ),
    (
        "loan_rescheduled_one",
        [
            "We have moved your loan's next payment to {first_due}. Reply \"loan\" to see what you owe.",
            "We don move your loan next payment go {first_due}. Reply \"loan\" to see wetin you owe.",
        ],
    ),
    (
        "loan_rescheduled",
        [
            "We have moved your loan's {installments} remaining payments: the first is now due on {first_due}, then one every {every}. Reply \"loan\" to see them.",
            "We don move the {installments} payments wey remain for your loan: the first one go due on {first_due}, then one every {every}. Reply \"loan\" to see them.",
        ],
    ),
    (
        "loan_due_today",
        [
            "⏰ Your loan installment of {amount} is due today. Keep it in your account and we will collect it, or reply \"repay\" to pay now.",
            "⏰ Your loan installment of {amount} dey due today. Leave am for your account make we collect am, or reply \"repay\" to pay now.",
        ],
    ),
    (
        "loan_reminder",
        [
            "⏰ Reminder: your loan installment of {amount} is due on {due_on}. Keep it in your account and we will collect it then, or reply \"repay\" to pay now.",
            "⏰ Reminder: your loan installment of {amount} go due on {due_on}. Leave am for your account make we collect am that day, or reply \"repay\" to pay now.",
        ],
    ),
    (
        "agent_reply",
        [
            "💬 Customer care ({reference}): {text}\n\nReply here to answer. Reply \"menu\" to go back to the bot.",
            "💬 Customer care ({reference}): {text}\n\nReply here to answer am. Reply \"menu\" to go back to the bot.",
        ],
    ),
    (
        "ticket_closed",
        [
            "✅ We have closed your ticket {reference}: {resolution}\n\nHow did we do? Reply with a number from 1 (poor) to 5 (very good).",
            "✅ We don close your ticket {reference}: {resolution}\n\nHow we take do? Reply with number from 1 (e no good) to 5 (e sweet well well).",
        ],
    ),
    (
        "agent_by",
        [
            "⏳ Our agents are all busy right now. One will answer you here by {by}. You can keep writing: they will read everything.",
            "⏳ All our agents dey busy now. One go answer you for here before {by}. You fit dey write: dem go read everything.",
        ],
    ),
    (
        "care_away",
        [
            "🌙 Our customer care team is away now. An agent will answer you here from {opens}. You can keep writing: they will read everything. To stop money leaving your account now, reply \"block my account\".",
            "🌙 Our customer care team no dey now. One agent go answer you for here from {opens}. You fit dey write: dem go read everything. If you wan stop money from comot your account now, reply \"block my account\".",
        ],
    ),
    (
        "bill_done",
        [
            "✅ Your {amount} of {what} has been delivered. Ref: {reference}",
            "✅ The {amount} {what} don land. Ref: {reference}",
        ],
    ),
    (
        "bill_failed",
        [
            "⚠️ Your {amount} of {what} could not be delivered. The money and the fee are back in your account. Ref: {reference}",
            "⚠️ The {amount} {what} no go through. We don return the money and fee to your account. Ref: {reference}",
        ],
    ),
    (
        "funding_ready",
        [
            "🏦 Your account number for adding money is ready:\n{account_number}\n{bank}\n{name}\n\nSend money to it from any bank app and it lands in your wallet. Reply \"menu\" for more.",
            "🏦 Your account number for putting money don ready:\n{account_number}\n{bank}\n{name}\n\nSend money enter am from any bank app, e go land for your wallet. Reply \"menu\" for more.",
        ],
    ),
    (
        "credit_held",
        [
            "⚠️ {amount} arrived for you, but your account can hold at most {limit}. We are keeping it safe for you, and it goes in as soon as there is room (spend or move some money out). Ref: {reference}",
            "⚠️ {amount} don land for you, but your account no fit hold pass {limit}. We dey keep am safe for you, and e go enter once space dey (spend or move some money). Ref: {reference}",
        ],
    ),
    (
        "held_credit_paid",
        [
            "💰 The {amount} we kept for you is in your account now. Available balance: {balance}. Ref: {reference}",
            "💰 The {amount} wey we keep for you don enter your account. Money wey you fit use: {balance}. Ref: {reference}",
        ],
    ),
    (
        "transfer_reversed",
        [
            "↩️ Your transfer of {amount} to {to} came back: the receiving bank did not take it. {refunded} (the money and the fee) is back in your account. Ref: {reference}",
            "↩️ The {amount} wey you send to {to} don return: the bank wey suppose collect am no take am. We don put {refunded} (the money and fee) back for your account. Ref: {reference}",
        ],
    ),
    (
        "code",
        [
            "{code} is your code. It expires in {minutes} minutes. Never share it with anyone, even someone who says they work for the bank.",
            "{code} na your code. E go expire in {minutes} minutes. No give anybody, even if dem say na bank staff.",
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each notice (and each case of the ones with several texts).
    fn every_notice() -> Vec<Notice<'static>> {
        vec![
            Notice::Received { amount: 150_000, from: "Ada L. (2348****21)", balance: 250_000 },
            Notice::Received { amount: 150_000, from: "", balance: 250_000 },
            Notice::Credited { amount: 150_000, from: "{balance}", balance: 250_000 },
            Notice::TransferDone { amount: 500_000, to: "John D.", reference: "TX1" },
            Notice::TransferFailed { amount: 500_000, to: "John D.", reference: "TX1" },
            Notice::RefundHeld { amount: 502_500, limit: 30_000_000, reference: "TX1" },
            Notice::RefundPaid { amount: 502_500, balance: 600_000, reference: "TX1" },
            Notice::MonthlyFee { amount: 5_000, month: "December", balance: 95_000, reference: "FEE1" },
            Notice::CreditRefused { amount: 150_000, limit: 30_000_000, room: 100_000 },
            Notice::LoanCollected { amount: 10_000, still_due: 0, outstanding: 0, reference: "LN1" },
            Notice::LoanCollected { amount: 10_000, still_due: 0, outstanding: 20_000, reference: "LN1" },
            Notice::LoanCollected { amount: 10_000, still_due: 5_000, outstanding: 25_000, reference: "LN1" },
            Notice::LoanNotCollected { amount: 10_000, grace_days: 3 },
            Notice::LoanOverdue { amount: 10_500, late_fee: 500, due_on: "22 Dec 2026" },
            Notice::LateFeeWaived { amount: 500, outstanding: 10_000 },
            Notice::BillDone { amount: 50_000, what: "MTN airtime (0803****567)", reference: "B1" },
            Notice::BillFailed { amount: 50_000, what: "MTN airtime (0803****567)", reference: "B1" },
            Notice::FundingReady { account_number: "9930101234", bank: "Test Bank", name: "TELLER/ADA OBI" },
            Notice::CreditHeld { amount: 150_000, limit: 30_000_000, reference: "C1" },
            Notice::HeldCreditPaid { amount: 150_000, balance: 250_000, reference: "C1" },
            Notice::TransferReversed { amount: 500_000, refunded: 502_688, to: "John D.", reference: "TX1" },
            Notice::LoanRescheduled { first_due: "5 Jan 2027", installments: 1, every: "month" },
            Notice::LoanRescheduled { first_due: "5 Jan 2027", installments: 3, every: "week" },
            Notice::LoanReminder { amount: 10_000, due_on: "22 Dec 2026", days: 0 },
            Notice::LoanReminder { amount: 10_000, due_on: "22 Dec 2026", days: 3 },
            Notice::AgentReply { text: "We are checking it now.", reference: "TCK-20261205-0001" },
            Notice::TicketClosed { reference: "TCK-20261205-0001", resolution: "The money is back." },
            Notice::AgentBy { by: "14:30" },
            Notice::CareAway { opens: "Monday 08:00" },
            Notice::Code { code: "493817", minutes: 5 },
        ]
    }

    #[test]
    fn every_notice_has_a_text_in_each_language_with_every_field_filled() {
        for notice in every_notice() {
            let (key, _) = fields(&notice, "NGN");
            assert!(TEXTS.iter().any(|t| t.0 == key), "{key} has no text");
            for language in ["en", "pcm"] {
                let text = text(&notice, language, "NGN");
                let payer_named_like_a_field = matches!(notice, Notice::Credited { .. });
                assert!(!text.contains('{') || payer_named_like_a_field, "{language} {key}: {text}");
            }
        }
    }

    #[test]
    fn the_texts_read_as_customers_get_them() {
        let received = Notice::Received { amount: 150_000, from: "Ada L. (2348****21)", balance: 250_000 };
        assert_eq!(
            text(&received, "en", "NGN"),
            "You received ₦1,500.00 from Ada L. (2348****21) 💰 Your available balance is ₦2,500.00."
        );
        let part =
            Notice::LoanCollected { amount: 10_000, still_due: 5_000, outstanding: 25_000, reference: "LN1" };
        assert_eq!(
            text(&part, "pcm", "NGN"),
            "We don collect ₦100.00 for your loan installment; ₦50.00 still remain. Put money for your account make we collect am, or reply \"repay\". Ref: LN1"
        );
        // A value is never read as a template.
        let odd = Notice::Credited { amount: 100, from: "{balance}", balance: 200 };
        assert!(text(&odd, "en", "NGN").starts_with("You received ₦1.00 from {balance} 💰"));
    }
}
