//! What the bank tells a customer outside a conversation: money in, a transfer's outcome, a
//! one-time code. Written in the customer's language, in the voice of the flows.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use crate::locale;
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

/// The notices teller ships, `config/notices.yaml`: each notice by key, in every language.
pub const NOTICES: &str = include_str!("../../config/notices.yaml");

/// Each notice's words by (key, language), `{{field}}` written `{field}` as [`locale::fill`]
/// reads it.
static TEXTS: LazyLock<HashMap<(String, String), String>> = LazyLock::new(|| {
    #[derive(serde::Deserialize)]
    struct File {
        notices: BTreeMap<String, BTreeMap<String, String>>,
    }
    // A test reads the file, so a build with a broken one never ships.
    let file: File = marked_yaml::from_yaml(0, NOTICES).unwrap_or(File { notices: BTreeMap::new() });
    let mut texts = HashMap::new();
    for (key, by_language) in file.notices {
        for (language, words) in by_language {
            texts.insert((key.clone(), language), words.replace("{{", "{").replace("}}", "}"));
        }
    }
    texts
});

/// `notice` in `language` (English when teller does not ship it).
pub fn text(notice: &Notice<'_>, language: &str, currency: &str) -> String {
    let (key, mut fields) = fields(notice, currency);
    // Dates, months, days and periods are written the language's way ("22 Disamba 2026").
    for (name, value) in &mut fields {
        if matches!(*name, "due_on" | "first_due" | "month" | "opens" | "every") {
            *value = locale::localise(value, language);
        }
    }
    let words = |language: &str| TEXTS.get(&(key.to_owned(), language.to_owned()));
    let words = words(language).or_else(|| words("en")).map_or("", String::as_str);
    locale::fill(words, &fields)
}

/// Which text `notice` takes, and the values of its `{fields}`.
fn fields(notice: &Notice<'_>, currency: &str) -> (&'static str, Vec<(&'static str, String)>) {
    let money = |minor: &i64| format_money(*minor, currency);
    let text = |value: &str| value.to_owned();
    match notice {
        Notice::Received { amount, from, balance } | Notice::Credited { amount, from, balance } => {
            let (amount, balance) = (("amount", money(amount)), ("balance", money(balance)));
            match from.is_empty() {
                true => ("received", vec![amount, balance]),
                false => ("received_from", vec![amount, ("from", text(from)), balance]),
            }
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
        let mut keys = std::collections::BTreeSet::new();
        for notice in every_notice() {
            let (key, fields) = fields(&notice, "NGN");
            keys.insert(key);
            for language in locale::LANGUAGES {
                let words = TEXTS.get(&(key.to_owned(), language.to_owned()));
                let words = words.unwrap_or_else(|| panic!("{key} has no `{language}` text"));
                let named = |w: &str| -> Vec<&str> {
                    fields.iter().map(|(f, _)| *f).filter(|f| w.contains(&format!("{{{f}}}"))).collect()
                };
                let english = &TEXTS[&(key.to_owned(), "en".to_owned())];
                assert_eq!(named(words), named(english), "{language} {key} names other fields: {words}");
                let filled = text(&notice, language, "NGN");
                let payer_named_like_a_field = matches!(notice, Notice::Credited { .. });
                assert!(!filled.contains('{') || payer_named_like_a_field, "{language} {key}: {filled}");
            }
        }
        let written: std::collections::BTreeSet<&str> = TEXTS.keys().map(|(k, _)| k.as_str()).collect();
        assert_eq!(written, keys, "config/notices.yaml and the notices differ");
        let languages: std::collections::BTreeSet<&str> = TEXTS.keys().map(|(_, l)| l.as_str()).collect();
        assert_eq!(languages, locale::LANGUAGES.into_iter().collect(), "a language teller does not ship");
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
        // Dates and periods in the customer's language.
        let due = Notice::LoanReminder { amount: 10_000, due_on: "22 Dec 2026", days: 3 };
        assert!(text(&due, "ha", "NGN").contains("ranar 22 Disamba 2026"), "{}", text(&due, "ha", "NGN"));
        let moved = Notice::LoanRescheduled { first_due: "5 Jan 2027", installments: 3, every: "week" };
        assert!(
            text(&moved, "ig", "NGN").contains("5 Jenụwarị 2027, mgbe ahụ otu kwa izu"),
            "{}",
            text(&moved, "ig", "NGN")
        );
        let fee = Notice::MonthlyFee { amount: 5_000, month: "December", balance: 95_000, reference: "FEE1" };
        assert!(text(&fee, "yo", "NGN").contains("àkáǹtì ti Oṣù Kejìlá"), "{}", text(&fee, "yo", "NGN"));
        // A value is never read as a template.
        let odd = Notice::Credited { amount: 100, from: "{balance}", balance: 200 };
        assert!(text(&odd, "en", "NGN").starts_with("You received ₦1.00 from {balance} 💰"));
    }
}
