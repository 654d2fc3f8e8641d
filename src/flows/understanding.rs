//! What a message asks for, as the engine consumes it: an [`Intent`] with the values it names
//! ([`Understanding`]), and the entities those values fill (`fill:` in a flow file). The
//! readers that produce it live in `nlu`; the engine and the compiler only read it.

use std::collections::BTreeMap;
use std::fmt;

use crate::money::MINOR_PER_MAJOR;

/// What a customer can ask for in their own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Intent {
    /// See the balance.
    Balance,
    /// Send money.
    Transfer,
    /// See recent transactions.
    Statement,
    /// Borrow.
    Loan,
    /// See or repay a loan.
    Repay,
    /// Get help.
    Help,
    /// Say hello.
    Greeting,
    /// Stop what is under way.
    Cancel,
    /// Change the PIN.
    ChangePin,
    /// Talk to a person.
    Person,
    /// Complain: money that did not arrive, a wrong debit, a loan, anything.
    Complaint,
    /// Block the account: it was hacked, the phone was lost.
    Block,
    /// Ask how a complaint stands.
    ComplaintStatus,
    /// Add money to the wallet: the account number to pay into.
    Fund,
    /// Buy airtime for a phone line.
    Airtime,
    /// Buy a data plan for a phone line.
    Data,
    /// Open an account: what a stranger asks before registering.
    OpenAccount,
    /// What sending costs and how much may be sent.
    Fees,
    /// A new PIN for one forgotten.
    ForgotPin,
    /// What opening an account needs: the papers, the age, the BVN or NIN.
    Requirements,
    /// Their own BVN or NIN: what it is, that they do not have it or cannot remember it, how to
    /// find it.
    IdNumber,
}

impl Intent {
    /// Every intent.
    pub const ALL: [Intent; 21] = [
        Intent::Balance,
        Intent::Transfer,
        Intent::Statement,
        Intent::Loan,
        Intent::Repay,
        Intent::Help,
        Intent::Greeting,
        Intent::Cancel,
        Intent::ChangePin,
        Intent::Person,
        Intent::Complaint,
        Intent::Block,
        Intent::ComplaintStatus,
        Intent::Fund,
        Intent::Airtime,
        Intent::Data,
        Intent::OpenAccount,
        Intent::Fees,
        Intent::ForgotPin,
        Intent::Requirements,
        Intent::IdNumber,
    ];

    /// Its name in flow files, the eval set and the model's schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Balance => "balance",
            Intent::Transfer => "transfer",
            Intent::Statement => "statement",
            Intent::Loan => "loan",
            Intent::Repay => "repay",
            Intent::Help => "help",
            Intent::Greeting => "greeting",
            Intent::Cancel => "cancel",
            Intent::ChangePin => "change_pin",
            Intent::Person => "person",
            Intent::Complaint => "complaint",
            Intent::Block => "block",
            Intent::ComplaintStatus => "complaint_status",
            Intent::Fund => "fund",
            Intent::Airtime => "airtime",
            Intent::Data => "data",
            Intent::OpenAccount => "open_account",
            Intent::Fees => "fees",
            Intent::ForgotPin => "forgot_pin",
            Intent::Requirements => "requirements",
            Intent::IdNumber => "id_number",
        }
    }

    /// What it asks for, in a few words (for the model's instructions).
    pub fn describe(self) -> &'static str {
        match self {
            Intent::Balance => "see the balance or the account number",
            Intent::Transfer => "send money to someone",
            Intent::Statement => "recent transactions",
            Intent::Loan => "borrow",
            Intent::Repay => "see or repay a loan",
            Intent::Help => "what the service does, how to use it",
            Intent::Greeting => "hello only",
            Intent::Cancel => "stop what is under way",
            Intent::ChangePin => "change the PIN they know for a new one",
            Intent::Person => "talk to a person, an agent, customer care",
            Intent::Complaint => {
                "a complaint: money debited but not received, a credit not received, a failed transfer"
            }
            Intent::Block => "block or freeze the account: hacked, fraud, a lost or stolen phone",
            Intent::ComplaintStatus => "how an earlier complaint or ticket stands",
            Intent::Fund => "add money to the account: where to send money from another bank",
            Intent::Airtime => {
                "buy airtime (recharge, top up a phone line), for themselves or another number"
            }
            Intent::Data => "buy a data plan or bundle for a phone line",
            Intent::OpenAccount => "open a new account, register, sign up (not open or unblock their own)",
            Intent::Fees => "the fees or charges for sending money, and the limits on how much can be sent",
            Intent::ForgotPin => {
                "they forgot or lost their PIN and need a new one (not a change of a PIN they know)"
            }
            Intent::Requirements => {
                "what is needed to open an account (ID, BVN or NIN, age), asked before opening one"
            }
            Intent::IdNumber => {
                "their own BVN or NIN: what it is, that they do not have or remember it, how to find it"
            }
        }
    }

    /// The intent named `name`.
    pub fn parse(name: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == name)
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `destination` of airtime or data for the customer's own line (the option id the shipped
/// flows give "My number").
pub const OWN_LINE: &str = "self";

/// The values an understanding can fill into a flow's questions (`fill:` in a flow file).
pub mod entity {
    /// An amount, as a decimal in major units ("5000.00").
    pub const AMOUNT: &str = "amount";
    /// A phone number, in international digits.
    pub const RECIPIENT: &str = "recipient";
    /// Where money goes: `customer` when a recipient or a line was named, `bank` when a bank
    /// was, `self` for the customer's own line (airtime and data).
    pub const DESTINATION: &str = "destination";
    /// A bank, by its option id in the bank rules (`zenith`, `gtbank`).
    pub const BANK: &str = "bank";
    /// A 10-digit account number at another bank.
    pub const ACCOUNT: &str = "account";
    /// A data plan by its size ("1GB", "500MB"), as a plan question reads it.
    pub const PLAN: &str = "plan";
    /// Every entity.
    pub const ALL: [&str; 6] = [AMOUNT, RECIPIENT, DESTINATION, BANK, ACCOUNT, PLAN];
}

/// Which reader understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// The rules.
    #[default]
    Rules,
    /// The model.
    Model,
}

/// What a message asks for, as far as it was understood.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Understanding {
    /// The request, when there is one.
    pub intent: Option<Intent>,
    /// Whether the reader is sure enough to act on `intent` (start its flow).
    pub confident: bool,
    /// An amount named, in minor units (valid: positive and within bounds).
    pub amount: Option<i64>,
    /// A phone number named, in international digits.
    pub phone: Option<String>,
    /// A person named as the recipient ("mum", "tunde"), lowercase.
    pub recipient: Option<String>,
    /// Another bank named ("zenith", "another bank"): the money goes to a bank account.
    pub to_bank: bool,
    /// That bank, by its option id, when one was named.
    pub bank: Option<String>,
    /// A 10-digit account number named with it.
    pub account: Option<String>,
    /// A data plan's size, for data.
    pub plan: Option<String>,
    /// Airtime or data for the customer's own line ("for my line", "for me").
    pub own_line: bool,
    /// The message names a second phone number ("5k to 0803… and 2k to 0805…"): only the first
    /// is acted on, and the customer is told it is one at a time.
    pub more: bool,
    /// Read from a word that may as well be part of an answer ("send", "how much"), naming no
    /// value: enough to start a flow when none is under way or at the menu, not to leave a
    /// question of another flow for ("the transfer" at "What is your complaint about?").
    pub weak: bool,
    /// Who understood.
    pub source: Source,
}

impl Understanding {
    /// The intent to act on: only when the reader is confident.
    pub fn decided(&self) -> Option<Intent> {
        self.intent.filter(|_| self.confident)
    }

    /// A reading of `intent` with the values that request can use: an amount for transfers,
    /// loans, repayments and airtime, a phone number for transfers, airtime and data, a
    /// recipient's name for transfers only.
    pub fn of(
        intent: Option<Intent>,
        confident: bool,
        amount: Option<i64>,
        phone: Option<String>,
        recipient: Option<String>,
        source: Source,
    ) -> Understanding {
        let wants_amount =
            matches!(intent, Some(Intent::Transfer | Intent::Loan | Intent::Repay | Intent::Airtime));
        let wants_phone = matches!(intent, Some(Intent::Transfer | Intent::Airtime | Intent::Data));
        let transfer = intent == Some(Intent::Transfer);
        Understanding {
            intent,
            confident,
            amount: amount.filter(|_| wants_amount),
            phone: phone.filter(|_| wants_phone),
            recipient: recipient.filter(|_| transfer),
            to_bank: false,
            bank: None,
            account: None,
            plan: None,
            own_line: false,
            more: false,
            weak: false,
            source,
        }
    }

    /// This reading told it is weak when `weak` says so and it names no value.
    pub fn weak_when(mut self, weak: bool) -> Understanding {
        self.weak = weak && self.fills().is_empty() && self.recipient.is_none();
        self
    }

    /// This reading for the customer's own line when `own` says so; asked only of a request for
    /// airtime or data that names no number.
    pub fn for_own_line(mut self, own: impl FnOnce() -> bool) -> Understanding {
        let asks = self.phone.is_none() && matches!(self.intent, Some(Intent::Airtime | Intent::Data));
        self.own_line = asks && own();
        self
    }

    /// This reading told it is one of several when `second` says the message names another
    /// number than the one it acts on.
    pub fn with_second_number(mut self, second: impl FnOnce() -> bool) -> Understanding {
        self.more = self.phone.is_some() && second();
        self
    }

    /// This reading told it is one of several when `second` says a request to send money or
    /// airtime names another amount than the one it acts on ("5k and 2k to 0803…").
    pub fn with_second_amount(mut self, second: impl FnOnce() -> bool) -> Understanding {
        let sends = matches!(self.intent, Some(Intent::Transfer | Intent::Airtime));
        self.more |= sends && self.amount.is_some() && second();
        self
    }

    /// This reading with the data plan it names ("1GB"), for a data request.
    pub fn with_plan(mut self, plan: Option<String>) -> Understanding {
        if self.intent == Some(Intent::Data) {
            self.plan = plan;
        }
        self
    }

    /// This reading with a transfer to another bank: the bank (when named) and the account.
    pub fn to_bank(mut self, bank: Option<String>, account: Option<String>) -> Understanding {
        if self.intent == Some(Intent::Transfer) {
            (self.to_bank, self.bank, self.account) = (true, bank, account);
            self.phone = None;
            self.recipient = None;
        }
        self
    }

    /// The answers this understanding fills in, by entity (see [`entity`]).
    pub fn fills(&self) -> BTreeMap<String, String> {
        let mut fills = BTreeMap::new();
        if let Some(minor) = self.amount {
            let major = minor / MINOR_PER_MAJOR;
            let cents = minor % MINOR_PER_MAJOR;
            fills.insert(entity::AMOUNT.to_owned(), format!("{major}.{cents:02}"));
        }
        if let Some(phone) = &self.phone {
            fills.insert(entity::RECIPIENT.to_owned(), phone.clone());
            fills.insert(entity::DESTINATION.to_owned(), "customer".to_owned());
        }
        if let Some(plan) = &self.plan {
            fills.insert(entity::PLAN.to_owned(), plan.clone());
        }
        if self.own_line {
            fills.insert(entity::DESTINATION.to_owned(), OWN_LINE.to_owned());
        }
        if self.to_bank {
            fills.insert(entity::DESTINATION.to_owned(), "bank".to_owned());
            fills.extend(self.bank.iter().map(|b| (entity::BANK.to_owned(), b.clone())));
            fills.extend(self.account.iter().map(|a| (entity::ACCOUNT.to_owned(), a.clone())));
        }
        fills
    }
}
