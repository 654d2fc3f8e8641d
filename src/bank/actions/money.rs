//! Balances, statements, payees, quotes and transfers.
//!
//! Each action is a variant: its declaration and its runner are matched exhaustively, so an
//! action without either does not build.

use super::{BankAction, NOT_REGISTERED, TRANSFER_RESULTS, code, outcome, r, refused, transfer};
use crate::bank::Destination;
use crate::flows::actions::{ActionCall, ActionOutcome, ActionSpec, MoneyInput, ResultSpec};

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
}

impl MoneyAction {
    /// Every one.
    pub const ALL: [MoneyAction; 7] = [
        MoneyAction::Balance,
        MoneyAction::Statement,
        MoneyAction::FindPayee,
        MoneyAction::FindAccount,
        MoneyAction::Quote,
        MoneyAction::SendMoney,
        MoneyAction::SendToBank,
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
        }
    }

    /// Runs it for `call`.
    pub(super) async fn run(self, action: &BankAction, call: &ActionCall) -> anyhow::Result<ActionOutcome> {
        let bank = &action.bank;
        let key = call.customer.as_str();
        let input = |name| BankAction::input(call, name);
        let money = |minor: i64| minor.to_string();
        Ok(match self {
            MoneyAction::Balance => match bank.balance(key).await? {
                Ok((balance, number)) => outcome(
                    "ok",
                    [
                        ("available", money(balance.available)),
                        ("ledger", money(balance.ledger)),
                        ("account_number", number),
                    ],
                ),
                Err(refusal) => refused(refusal),
            },
            MoneyAction::Statement => match bank.statement(key, 5).await? {
                Ok(lines) if lines.is_empty() => code("empty"),
                Ok(lines) => outcome("ok", [("count", lines.len().to_string()), ("lines", lines.join("\n"))]),
                Err(refusal) => refused(refusal),
            },
            MoneyAction::FindPayee => match bank.find_payee(key, input("phone")).await? {
                Ok(payee) => outcome("ok", [("name", payee.name), ("phone", payee.phone)]),
                Err(refusal) => refused(refusal),
            },
            MoneyAction::FindAccount => match bank.find_account(input("bank"), input("account")).await? {
                Ok(name) => {
                    let bank_name =
                        bank.rules.banks.get(input("bank")).map(|b| b.name.clone()).unwrap_or_default();
                    outcome("ok", [("name", name), ("bank_name", bank_name)])
                }
                Err(refusal) => refused(refusal),
            },
            MoneyAction::Quote => {
                let to = input("to");
                let counterparty = match action.counterparty(to) {
                    Ok(c) => c,
                    Err(refusal) => return Ok(refused(refusal)),
                };
                match bank.quote(key, BankAction::amount(call)?, &counterparty, to.contains(':')).await? {
                    Ok(quote) => outcome(
                        "ok",
                        [
                            ("fee", money(quote.fee)),
                            ("total", money(quote.total)),
                            ("step_up", if quote.step_up { "yes" } else { "no" }.to_owned()),
                        ],
                    ),
                    Err(refusal) => refused(refusal),
                }
            }
            MoneyAction::SendMoney => transfer(
                bank.transfer_internal(key, input("phone"), BankAction::amount(call)?, &call.idempotency_key)
                    .await?,
            ),
            MoneyAction::SendToBank => {
                let to = Destination {
                    bank: input("bank").to_owned(),
                    account: input("account").to_owned(),
                    name: input("name").to_owned(),
                };
                transfer(
                    bank.transfer_external(key, &to, BankAction::amount(call)?, &call.idempotency_key)
                        .await?,
                )
            }
        })
    }
}

const BALANCE: ActionSpec = ActionSpec {
    name: "balance",
    description: "The wallet's available and ledger balances and its number.",
    inputs: &[],
    results: &[
        ResultSpec { code: "ok", outputs: &["available", "ledger", "account_number"] },
        NOT_REGISTERED,
    ],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

const STATEMENT: ActionSpec = ActionSpec {
    name: "statement",
    description: "The last five transactions, one per line, counterparties masked.",
    inputs: &[],
    results: &[ResultSpec { code: "ok", outputs: &["lines", "count"] }, r("empty"), NOT_REGISTERED],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

const FIND_PAYEE: ActionSpec = ActionSpec {
    name: "find_payee",
    description: "The customer with this phone number, as a payee: their name shortened.",
    inputs: &["phone"],
    results: &[
        ResultSpec { code: "ok", outputs: &["name", "phone"] },
        r("unknown_recipient"),
        r("to_self"),
        NOT_REGISTERED,
    ],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

const FIND_ACCOUNT: ActionSpec = ActionSpec {
    name: "find_account",
    description: "The name on an account at another bank, from the payment rail.",
    inputs: &["bank", "account"],
    results: &[
        ResultSpec { code: "ok", outputs: &["name", "bank_name"] },
        r("unknown_bank"),
        r("unknown_account"),
    ],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

const QUOTE: ActionSpec = ActionSpec {
    name: "quote",
    description: "The fee and total of sending `amount` to `to`, checked against balance and limits.",
    inputs: &["amount", "to"],
    results: &[
        ResultSpec { code: "ok", outputs: &["fee", "total", "step_up"] },
        r("insufficient_funds"),
        r("over_limit"),
        r("daily_limit"),
        r("unknown_bank"),
        NOT_REGISTERED,
    ],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

const SEND_MONEY: ActionSpec = ActionSpec {
    name: "send_money",
    description: "Sends `amount` to another customer by phone number.",
    inputs: &["amount", "phone"],
    results: TRANSFER_RESULTS,
    moves_money: true,
    verifies: false,
    remember: true,
    money_inputs: &[
        MoneyInput { input: "amount", answers: &["amount"] },
        MoneyInput { input: "phone", answers: &["phone"] },
    ],
};

const SEND_TO_BANK: ActionSpec = ActionSpec {
    name: "send_to_bank",
    description: "Sends `amount` to an account at another bank: held, then posted or returned.",
    inputs: &["amount", "bank", "account", "name"],
    results: TRANSFER_RESULTS,
    moves_money: true,
    verifies: false,
    remember: true,
    money_inputs: &[
        MoneyInput { input: "amount", answers: &["amount"] },
        MoneyInput { input: "bank", answers: &["choice"] },
        MoneyInput { input: "account", answers: &["id_number", "number", "text"] },
    ],
};
