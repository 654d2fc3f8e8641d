//! Balances, statements, payees, quotes and transfers.
//!
//! Each action is a variant: its declaration and its runner are matched exhaustively, so an
//! action without either does not build; its inputs and results are types (see `declare`).

use std::sync::Arc;

use super::declare::{Minor, Results, inputs, refused, results};
use super::{BankAction, counterparty};
use crate::bank::funding::FundingDetails;
use crate::bank::{Bank, Destination, QuoteRefusal, Transfer, bands};
use crate::flows::actions::{ActionCall, ActionOutcome, ActionSpec, MoneyInput};

/// The actions of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyAction {
    /// `balance`.
    Balance,
    /// `statement`.
    Statement,
    /// `find_payee`.
    FindPayee,
    /// `find_account`.
    FindAccount,
    /// `quote`.
    Quote,
    /// `send_money`.
    SendMoney,
    /// `send_to_bank`.
    SendToBank,
    /// `fees_and_limits`.
    FeesAndLimits,
    /// `my_fees_and_limits`.
    MyFeesAndLimits,
    /// `funding_account`.
    FundingAccount,
}

impl MoneyAction {
    /// Every one.
    pub const ALL: [MoneyAction; 10] = [
        MoneyAction::Balance,
        MoneyAction::Statement,
        MoneyAction::FindPayee,
        MoneyAction::FindAccount,
        MoneyAction::Quote,
        MoneyAction::SendMoney,
        MoneyAction::SendToBank,
        MoneyAction::FeesAndLimits,
        MoneyAction::MyFeesAndLimits,
        MoneyAction::FundingAccount,
    ];

    /// Its declaration.
    pub fn spec(self) -> &'static ActionSpec {
        match self {
            MoneyAction::Balance => &BALANCE,
            MoneyAction::Statement => &STATEMENT,
            MoneyAction::FindPayee => &FIND_PAYEE,
            MoneyAction::FindAccount => &FIND_ACCOUNT,
            MoneyAction::Quote => &QUOTE,
            MoneyAction::SendMoney => &SEND_MONEY,
            MoneyAction::SendToBank => &SEND_TO_BANK,
            MoneyAction::FeesAndLimits => &FEES_AND_LIMITS,
            MoneyAction::MyFeesAndLimits => &MY_FEES_AND_LIMITS,
            MoneyAction::FundingAccount => &FUNDING_ACCOUNT,
        }
    }

    /// Runs it for `call`.
    pub(super) async fn run(self, action: &BankAction, call: &ActionCall) -> anyhow::Result<ActionOutcome> {
        let bank = &action.bank;
        Ok(match self {
            MoneyAction::Balance => balance(bank, call).await?.outcome(),
            MoneyAction::Statement => statement(bank, call).await?.outcome(),
            MoneyAction::FindPayee => find_payee(bank, call, PhoneIn::read(call)?).await?.outcome(),
            MoneyAction::FindAccount => find_account(bank, call, AccountIn::read(call)?).await?.outcome(),
            MoneyAction::Quote => quote(bank, call, QuoteIn::read(call)?).await?.outcome(),
            MoneyAction::SendMoney => send_money(bank, call, SendMoneyIn::read(call)?).await?.outcome(),
            MoneyAction::SendToBank => send_to_bank(bank, call, SendToBankIn::read(call)?).await?.outcome(),
            MoneyAction::FeesAndLimits => fees_and_limits(bank).outcome(),
            MoneyAction::MyFeesAndLimits => my_fees_and_limits(bank, call).await?.outcome(),
            MoneyAction::FundingAccount => funding_account(bank, call).await?.outcome(),
        })
    }
}

results!(
    /// `balance`'s results.
    BalanceResult { Ok = "ok" { available, ledger, account_number }, NotRegistered = "not_registered" }
);

async fn balance(bank: &Bank, call: &ActionCall) -> anyhow::Result<BalanceResult> {
    match bank.balance(&call.customer).await? {
        Ok((balance, account_number)) => Ok(BalanceResult::Ok {
            available: balance.available.to_string(),
            ledger: balance.ledger.to_string(),
            account_number,
        }),
        Err(refusal) => refused(call, refusal.code()),
    }
}

const BALANCE: ActionSpec = ActionSpec {
    name: "balance",
    description: "The wallet's available and ledger balances and its number.",
    inputs: &[],
    results: BalanceResult::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

results!(
    /// `funding_account`'s results.
    FundingResult {
        Ok = "ok" { account_number, bank, name },
        Pending = "pending",
        NotRegistered = "not_registered"
    }
);

async fn funding_account(bank: &Bank, call: &ActionCall) -> anyhow::Result<FundingResult> {
    match bank.funding_details(&call.customer).await? {
        Ok(FundingDetails::Ready(account)) => Ok(FundingResult::Ok {
            account_number: account.account_number,
            bank: account.bank_name,
            name: account.account_name,
        }),
        Ok(FundingDetails::Pending) => Ok(FundingResult::Pending),
        Err(refusal) => refused(call, refusal.code()),
    }
}

const FUNDING_ACCOUNT: ActionSpec = ActionSpec {
    name: "funding_account",
    description: "The account number the customer adds money through, its bank and the name on it (pending while the payment provider opens it).",
    inputs: &[],
    results: FundingResult::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

results!(
    /// `statement`'s results.
    StatementResult { Ok = "ok" { lines, count }, Empty = "empty", NotRegistered = "not_registered" }
);

async fn statement(bank: &Bank, call: &ActionCall) -> anyhow::Result<StatementResult> {
    match bank.statement(&call.customer, 5).await? {
        Ok(lines) if lines.is_empty() => Ok(StatementResult::Empty),
        Ok(lines) => Ok(StatementResult::Ok { count: lines.len().to_string(), lines: lines.join("\n") }),
        Err(refusal) => refused(call, refusal.code()),
    }
}

const STATEMENT: ActionSpec = ActionSpec {
    name: "statement",
    description: "The last five transactions, one per line, counterparties masked.",
    inputs: &[],
    results: StatementResult::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

inputs!(
    /// Another customer's phone number.
    PhoneIn { phone: String }
);

results!(
    /// `find_payee`'s results.
    Payee {
        Ok = "ok" { name, phone },
        UnknownRecipient = "unknown_recipient",
        ToSelf = "to_self",
        NotRegistered = "not_registered",
    }
);

async fn find_payee(bank: &Bank, call: &ActionCall, i: PhoneIn) -> anyhow::Result<Payee> {
    match bank.find_payee(&call.customer, &i.phone).await? {
        Ok(payee) => Ok(Payee::Ok { name: payee.name, phone: payee.phone }),
        Err(refusal) => refused(call, refusal.code()),
    }
}

const FIND_PAYEE: ActionSpec = ActionSpec {
    name: "find_payee",
    description: "The customer with this phone number, as a payee: their name shortened.",
    inputs: PhoneIn::NAMES,
    results: Payee::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

inputs!(
    /// An account at another bank.
    AccountIn { bank: String, account: String }
);

results!(
    /// `find_account`'s results.
    Account {
        Ok = "ok" { name, bank_name },
        UnknownBank = "unknown_bank",
        UnknownAccount = "unknown_account",
        InvalidAccount = "invalid_account",
    }
);

async fn find_account(bank: &Bank, call: &ActionCall, i: AccountIn) -> anyhow::Result<Account> {
    match bank.find_account(&i.bank, &i.account).await? {
        Ok(name) => {
            let bank_name = bank.rules.banks.get(&i.bank).map(|b| b.name.clone()).unwrap_or_default();
            Ok(Account::Ok { name, bank_name })
        }
        Err(refusal) => refused(call, refusal.code()),
    }
}

const FIND_ACCOUNT: ActionSpec = ActionSpec {
    name: "find_account",
    description: "The name on an account at another bank, from the payment rail.",
    inputs: AccountIn::NAMES,
    results: Account::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

inputs!(
    /// A transfer being priced.
    QuoteIn { amount: Minor, to: String }
);

results!(
    /// `quote`'s results: each refusal with the figure that lets the customer fix it.
    QuoteResult {
        Ok = "ok" { fee, total, step_up },
        InsufficientFunds = "insufficient_funds" { available },
        OverLimit = "over_limit" { limit },
        DailyLimit = "daily_limit" { left },
        Locked = "locked" { until, operator },
        UnknownBank = "unknown_bank",
        NotRegistered = "not_registered",
    }
);

async fn quote(bank: &Bank, call: &ActionCall, i: QuoteIn) -> anyhow::Result<QuoteResult> {
    let to = match counterparty(bank, &i.to) {
        Ok(to) => to,
        Err(refusal) => return refused(call, refusal.code()),
    };
    match bank.quote(&call.customer, i.amount.0, &to, i.to.contains(':')).await? {
        Ok(quote) => Ok(QuoteResult::Ok {
            fee: quote.fee.to_string(),
            total: quote.total.to_string(),
            step_up: if quote.step_up { "yes" } else { "no" }.to_owned(),
        }),
        Err(QuoteRefusal::InsufficientFunds { available }) => {
            Ok(QuoteResult::InsufficientFunds { available: available.to_string() })
        }
        Err(QuoteRefusal::OverLimit { limit }) => Ok(QuoteResult::OverLimit { limit: limit.to_string() }),
        Err(QuoteRefusal::DailyLimit { left }) => Ok(QuoteResult::DailyLimit { left: left.to_string() }),
        Err(QuoteRefusal::Locked { until }) => {
            let operator = if until.is_empty() { "yes" } else { "no" }.to_owned();
            Ok(QuoteResult::Locked { until, operator })
        }
        Err(QuoteRefusal::Frozen) => {
            Ok(QuoteResult::Locked { until: String::new(), operator: "frozen".into() })
        }
        Err(QuoteRefusal::Other(refusal)) => refused(call, refusal.code()),
    }
}

const QUOTE: ActionSpec = ActionSpec {
    name: "quote",
    description: "The fee and total of sending `amount` to `to`, checked against balance and limits.",
    inputs: QuoteIn::NAMES,
    results: QuoteResult::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

results!(
    /// The results of a transfer.
    Sent {
        Ok = "ok" { reference, fee },
        Pending = "pending" { reference, fee },
        Failed = "failed" { reference },
        InsufficientFunds = "insufficient_funds",
        OverLimit = "over_limit",
        DailyLimit = "daily_limit",
        RecipientLimit = "recipient_limit",
        NotVerified = "not_verified",
        CodeRequired = "code_required",
        Locked = "locked",
        UnknownRecipient = "unknown_recipient",
        ToSelf = "to_self",
        UnknownBank = "unknown_bank",
        NotRegistered = "not_registered",
    }
);

fn sent(call: &ActionCall, transfer: Transfer) -> anyhow::Result<Sent> {
    Ok(match transfer {
        Transfer::Posted { reference, fee } => Sent::Ok { reference, fee: fee.to_string() },
        Transfer::Pending { reference, fee } => Sent::Pending { reference, fee: fee.to_string() },
        Transfer::Failed { reference } => Sent::Failed { reference },
        Transfer::Refused(refusal) => return refused(call, refusal.code()),
    })
}

inputs!(
    /// A transfer to another customer.
    SendMoneyIn { amount: Minor, phone: String }
);

async fn send_money(bank: &Bank, call: &ActionCall, i: SendMoneyIn) -> anyhow::Result<Sent> {
    sent(call, bank.transfer_internal(&call.customer, &i.phone, i.amount.0, &call.idempotency_key).await?)
}

const SEND_MONEY: ActionSpec = ActionSpec {
    name: "send_money",
    description: "Sends `amount` to another customer by phone number.",
    inputs: SendMoneyIn::NAMES,
    results: Sent::RESULTS,
    moves_money: true,
    verifies: false,
    remember: true,
    money_inputs: &[
        MoneyInput { input: "amount", answers: &["amount"] },
        MoneyInput { input: "phone", answers: &["phone"] },
    ],
};

inputs!(
    /// A transfer to an account at another bank.
    SendToBankIn { amount: Minor, bank: String, account: String, name: String }
);

async fn send_to_bank(bank: &Arc<Bank>, call: &ActionCall, i: SendToBankIn) -> anyhow::Result<Sent> {
    let to = Destination { bank: i.bank, account: i.account, name: i.name };
    sent(call, bank.transfer_external(&call.customer, &to, i.amount.0, &call.idempotency_key).await?)
}

const SEND_TO_BANK: ActionSpec = ActionSpec {
    name: "send_to_bank",
    description: "Sends `amount` to an account at another bank: held, then posted or returned.",
    inputs: SendToBankIn::NAMES,
    results: Sent::RESULTS,
    moves_money: true,
    verifies: false,
    remember: true,
    money_inputs: &[
        MoneyInput { input: "amount", answers: &["amount"] },
        MoneyInput { input: "bank", answers: &["choice"] },
        MoneyInput { input: "account", answers: &["account_number", "id_number", "number", "text"] },
    ],
};

results!(
    /// `fees_and_limits`' result.
    FeesAndLimits { Ok = "ok" { per_transaction, per_day, max_balance, transfer_fees, bank_fees, monthly_fee } }
);

/// What a new account may do and what it costs: the limits of the tier registration gives.
fn fees_and_limits(bank: &Bank) -> FeesAndLimits {
    let tier = bank.rules.tier(1);
    let (transfer_fees, bank_fees, monthly_fee) = fees(bank);
    FeesAndLimits::Ok {
        per_transaction: tier.per_transaction.to_string(),
        per_day: tier.per_day.to_string(),
        max_balance: tier.max_balance.map(|max| max.to_string()).unwrap_or_default(),
        transfer_fees,
        bank_fees,
        monthly_fee,
    }
}

/// The fee bands for another customer and another bank, one line each, and the monthly fee.
fn fees(bank: &Bank) -> (String, String, String) {
    let rules = &bank.rules;
    (
        bands::describe(&rules.internal_fees, bank.currency()),
        bands::describe(&rules.external_fees, bank.currency()),
        rules.monthly_fee.amount.to_string(),
    )
}

const FEES_AND_LIMITS: ActionSpec = ActionSpec {
    name: "fees_and_limits",
    description: "A new account's limits (tier 1) and the bank's fees, for anyone who asks before opening one.",
    inputs: &[],
    results: FeesAndLimits::RESULTS,
    moves_money: false,
    verifies: false,
    remember: false,
    money_inputs: &[],
};

results!(
    /// `my_fees_and_limits`' results.
    MyFeesAndLimits {
        Ok = "ok" { per_transaction, per_day, left_today, max_balance, transfer_fees, bank_fees, monthly_fee },
        NotRegistered = "not_registered"
    }
);

/// What the customer may send, by their account's tier, what is left of today's, and what
/// sending costs.
async fn my_fees_and_limits(bank: &Bank, call: &ActionCall) -> anyhow::Result<MyFeesAndLimits> {
    let limits = match bank.limits(&call.customer).await? {
        Ok(limits) => limits,
        Err(refusal) => return refused(call, refusal.code()),
    };
    let (transfer_fees, bank_fees, monthly_fee) = fees(bank);
    Ok(MyFeesAndLimits::Ok {
        per_transaction: limits.per_transaction.to_string(),
        per_day: limits.per_day.to_string(),
        left_today: limits.left_today.to_string(),
        max_balance: limits.max_balance.map(|max| max.to_string()).unwrap_or_default(),
        transfer_fees,
        bank_fees,
        monthly_fee,
    })
}

const MY_FEES_AND_LIMITS: ActionSpec = ActionSpec {
    name: "my_fees_and_limits",
    description: "The customer's limits by their account's tier, what is left of today's, and the bank's fees.",
    inputs: &[],
    results: MyFeesAndLimits::RESULTS,
    moves_money: false,
    verifies: false,
    remember: false,
    money_inputs: &[],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::Refusal;

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
            assert!(Sent::from_code(refusal.code()).is_some(), "{refusal:?}");
        }
    }
}
