//! The bank's actions, as flows call them. Each declares its inputs, result codes and outputs
//! (checked by the flow compiler); amounts travel as minor units, and a transfer's destination
//! `to` is a phone number (another customer) or `<bank>:<account>` (another bank).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Bank, CodeCheck, Destination, PinCheck, Refusal, Registration, StepUp, Transfer};

#[path = "loan_actions.rs"]
mod loans;
use crate::flows::actions::{
    Action, ActionCall, ActionOutcome, ActionSpec, Catalogue, MoneyInput, ResultSpec,
};

const fn r(code: &'static str) -> ResultSpec {
    ResultSpec { code, outputs: &[] }
}

const NOT_REGISTERED: ResultSpec = r("not_registered");

/// Every action the bank offers flows.
pub static SPECS: &[ActionSpec] = &[
    ActionSpec {
        name: "choose_pin",
        description: "Checks a new PIN (4 to 6 digits, not an easy one) and keeps it, hashed, for its confirmation.",
        inputs: &["pin"],
        results: &[r("ok"), r("weak")],
        moves_money: false,
        verifies: false,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
        name: "confirm_pin",
        description: "Checks the new PIN entered again against the first entry.",
        inputs: &["pin"],
        results: &[r("ok"), r("mismatch"), r("expired")],
        moves_money: false,
        verifies: false,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
        name: "register",
        description: "Creates the customer, their wallet and KYC tier 1, with the PIN just confirmed.",
        inputs: &["first_name", "last_name", "date_of_birth", "id_number"],
        results: &[
            ResultSpec { code: "ok", outputs: &["account_number"] },
            r("already_registered"),
            r("too_young"),
            r("invalid_id_number"),
            r("id_number_taken"),
            r("pin_missing"),
            r("no_phone"),
        ],
        moves_money: false,
        verifies: false,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
        name: "verify_pin",
        description: "Checks the customer's PIN; wrong PINs count towards a lockout (`operator` is `yes` when only an operator can lift it).",
        inputs: &["pin"],
        results: &[
            r("ok"),
            ResultSpec { code: "wrong", outputs: &["tries_left"] },
            ResultSpec { code: "locked", outputs: &["until", "operator"] },
            NOT_REGISTERED,
        ],
        moves_money: false,
        verifies: true,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
        name: "change_pin",
        description: "Replaces the PIN with the new one just confirmed (the old one verified first).",
        inputs: &[],
        results: &[r("ok"), r("not_verified"), NOT_REGISTERED],
        moves_money: false,
        verifies: false,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
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
    },
    ActionSpec {
        name: "statement",
        description: "The last five transactions, one per line, counterparties masked.",
        inputs: &[],
        results: &[ResultSpec { code: "ok", outputs: &["lines", "count"] }, r("empty"), NOT_REGISTERED],
        moves_money: false,
        verifies: false,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
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
    },
    ActionSpec {
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
    },
    ActionSpec {
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
    },
    ActionSpec {
        name: "step_up",
        description: "Sends a one-time code when the transfer needs one (large, or a new recipient).",
        inputs: &["amount", "to"],
        results: &[r("not_needed"), r("sent"), r("authenticator"), r("unknown_bank"), NOT_REGISTERED],
        moves_money: false,
        verifies: false,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
        name: "verify_code",
        description: "Checks a one-time code (sent, or from the authenticator app): once, 3 tries.",
        inputs: &["code"],
        results: &[r("ok"), r("wrong"), r("expired"), r("too_many"), NOT_REGISTERED],
        moves_money: false,
        verifies: true,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
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
    },
    ActionSpec {
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
    },
    ActionSpec {
        name: "authenticator_begin",
        description: "Starts enrolling an authenticator app: the secret to add, and its otpauth link.",
        inputs: &[],
        results: &[ResultSpec { code: "ok", outputs: &["secret", "uri"] }, r("not_verified"), NOT_REGISTERED],
        moves_money: false,
        verifies: false,
        remember: false,
        money_inputs: &[],
    },
    ActionSpec {
        name: "authenticator_confirm",
        description: "Finishes enrolment with a code from the app.",
        inputs: &["code"],
        results: &[r("ok"), r("wrong"), r("expired"), r("too_many"), NOT_REGISTERED],
        moves_money: false,
        verifies: false,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
        name: "loan_eligibility",
        description: "Whether the customer may borrow, up to how much and why (the decision and its reasons are recorded).",
        inputs: &[],
        results: &[
            ResultSpec {
                code: "eligible",
                outputs: &["limit", "min", "max", "monthly_income", "percent", "product", "tenors", "every"],
            },
            ResultSpec { code: "account_too_new", outputs: &["days", "opens_on"] },
            ResultSpec { code: "low_income", outputs: &["monthly_income", "needed", "percent", "min"] },
            r("has_loan"),
            r("overdue_loan"),
            r("no_product"),
            r("locked"),
            NOT_REGISTERED,
        ],
        moves_money: false,
        verifies: false,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
        name: "loan_check_amount",
        description: "Whether `amount` is within what the customer may borrow now.",
        inputs: &["amount"],
        results: &[
            r("ok"),
            ResultSpec { code: "below_minimum", outputs: &["min"] },
            ResultSpec { code: "above_limit", outputs: &["limit"] },
            r("not_eligible"),
            NOT_REGISTERED,
        ],
        moves_money: false,
        verifies: false,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
        name: "loan_offer",
        description: "Prices borrowing `amount` over `tenor` installments and records the offer: fee, interest, total, schedule and APR.",
        inputs: &["amount", "tenor"],
        results: &[
            ResultSpec {
                code: "ok",
                outputs: &[
                    "reference",
                    "principal",
                    "fee",
                    "interest",
                    "total",
                    "installments",
                    "installment",
                    "schedule",
                    "apr",
                    "first_due",
                    "last_due",
                ],
            },
            ResultSpec { code: "below_minimum", outputs: &["min"] },
            ResultSpec { code: "above_limit", outputs: &["limit"] },
            ResultSpec { code: "bad_tenor", outputs: &["tenors"] },
            r("not_eligible"),
            NOT_REGISTERED,
        ],
        moves_money: false,
        verifies: false,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
        name: "loan_accept",
        description: "Accepts the offer and pays the principal into the wallet (once); the PIN must be verified just before.",
        inputs: &["offer"],
        results: &[
            ResultSpec {
                code: "ok",
                outputs: &["reference", "amount", "balance", "first_due", "installment"],
            },
            r("expired"),
            r("has_loan"),
            r("balance_limit"),
            r("not_verified"),
            r("locked"),
            NOT_REGISTERED,
        ],
        moves_money: true,
        verifies: false,
        remember: true,
        money_inputs: &[MoneyInput { input: "offer", answers: &["amount", "number", "choice"] }],
    },
    ActionSpec {
        name: "loan_decline",
        description: "Declines the offer (recorded).",
        inputs: &["offer"],
        results: &[r("ok"), r("expired"), NOT_REGISTERED],
        moves_money: false,
        verifies: false,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
        name: "loan_status",
        description: "The running loan: what is paid and owed, the next installment and the schedule.",
        inputs: &[],
        results: &[
            ResultSpec {
                code: "active",
                outputs: &[
                    "reference",
                    "principal",
                    "total",
                    "paid",
                    "outstanding",
                    "next_due",
                    "next_amount",
                    "left",
                    "schedule",
                    "overdue",
                    "late_fees",
                ],
            },
            r("none"),
            NOT_REGISTERED,
        ],
        moves_money: false,
        verifies: false,
        remember: true,
        money_inputs: &[],
    },
    ActionSpec {
        name: "loan_repay",
        description: "Pays `amount` off the running loan from the wallet; the PIN must be verified just before.",
        inputs: &["amount"],
        results: &[
            ResultSpec { code: "ok", outputs: &["reference", "amount", "outstanding", "balance"] },
            ResultSpec { code: "repaid", outputs: &["reference", "amount", "balance"] },
            r("insufficient_funds"),
            ResultSpec { code: "too_much", outputs: &["outstanding"] },
            r("no_loan"),
            r("not_verified"),
            r("locked"),
            NOT_REGISTERED,
        ],
        moves_money: true,
        verifies: false,
        remember: true,
        money_inputs: &[MoneyInput { input: "amount", answers: &["amount"] }],
    },
];

const TRANSFER_RESULTS: &[ResultSpec] = &[
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

/// One of the bank's actions.
struct BankAction {
    spec: &'static ActionSpec,
    bank: Arc<Bank>,
}

/// The catalogue with every bank action registered.
pub fn register(catalogue: Catalogue, bank: &Arc<Bank>) -> Catalogue {
    SPECS.iter().fold(catalogue, |c, spec| c.register(Arc::new(BankAction { spec, bank: bank.clone() })))
}

/// Every bank action, declared but not runnable: for compiling flows.
pub fn declared() -> Catalogue {
    Catalogue::declaring(SPECS.iter())
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

fn refused(refusal: Refusal) -> ActionOutcome {
    code(refusal.code())
}

fn code_check(check: Result<CodeCheck, Refusal>) -> ActionOutcome {
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
        self.spec
    }

    async fn run(&self, call: &ActionCall) -> anyhow::Result<ActionOutcome> {
        let bank = &self.bank;
        let key = call.customer.as_str();
        let input = |name| Self::input(call, name);
        let money = |minor: i64| minor.to_string();
        Ok(match self.spec.name {
            "choose_pin" => match bank.choose_pin(key, input("pin")).await? {
                Ok(()) => code("ok"),
                Err(_) => code("weak"),
            },
            "confirm_pin" => match bank.confirm_pin(key, input("pin")).await? {
                Some(true) => code("ok"),
                Some(false) => code("mismatch"),
                None => code("expired"),
            },
            "register" => match bank
                .register(
                    key,
                    input("first_name"),
                    input("last_name"),
                    input("date_of_birth"),
                    input("id_number"),
                )
                .await?
            {
                Registration::Registered { account_number } => {
                    outcome("ok", [("account_number", account_number)])
                }
                Registration::AlreadyRegistered => code("already_registered"),
                Registration::TooYoung => code("too_young"),
                Registration::InvalidIdNumber => code("invalid_id_number"),
                Registration::IdNumberTaken => code("id_number_taken"),
                Registration::PinMissing => code("pin_missing"),
                Registration::NoPhone => code("no_phone"),
            },
            "verify_pin" => match bank.verify_pin(key, input("pin")).await? {
                PinCheck::Verified => code("ok"),
                PinCheck::Wrong { left } => outcome("wrong", [("tries_left", left.to_string())]),
                PinCheck::Locked { until } => {
                    outcome("locked", [("until", bank.lock_end(until)), ("operator", "no".into())])
                }
                PinCheck::Blocked => {
                    outcome("locked", [("until", String::new()), ("operator", "yes".into())])
                }
                PinCheck::NotRegistered => code("not_registered"),
            },
            "change_pin" => match bank.change_pin(key).await? {
                Ok(()) => code("ok"),
                Err(refusal) => refused(refusal),
            },
            "balance" => match bank.balance(key).await? {
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
            "statement" => match bank.statement(key, 5).await? {
                Ok(lines) if lines.is_empty() => code("empty"),
                Ok(lines) => outcome("ok", [("count", lines.len().to_string()), ("lines", lines.join("\n"))]),
                Err(refusal) => refused(refusal),
            },
            "find_payee" => match bank.find_payee(key, input("phone")).await? {
                Ok(payee) => outcome("ok", [("name", payee.name), ("phone", payee.phone)]),
                Err(refusal) => refused(refusal),
            },
            "find_account" => match bank.find_account(input("bank"), input("account")).await? {
                Ok(name) => {
                    let bank_name =
                        bank.rules.banks.get(input("bank")).map(|b| b.name.clone()).unwrap_or_default();
                    outcome("ok", [("name", name), ("bank_name", bank_name)])
                }
                Err(refusal) => refused(refusal),
            },
            "quote" => {
                let to = input("to");
                let counterparty = match self.counterparty(to) {
                    Ok(c) => c,
                    Err(refusal) => return Ok(refused(refusal)),
                };
                match bank.quote(key, Self::amount(call)?, &counterparty, to.contains(':')).await? {
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
            "step_up" => {
                let counterparty = match self.counterparty(input("to")) {
                    Ok(c) => c,
                    Err(refusal) => return Ok(refused(refusal)),
                };
                match bank.step_up(key, Self::amount(call)?, &counterparty, &call.idempotency_key).await? {
                    Ok(StepUp::NotNeeded) => code("not_needed"),
                    Ok(StepUp::Sent) => code("sent"),
                    Ok(StepUp::Authenticator) => code("authenticator"),
                    Err(refusal) => refused(refusal),
                }
            }
            "verify_code" => code_check(bank.verify_code(key, input("code")).await?),
            "send_money" => transfer(
                bank.transfer_internal(key, input("phone"), Self::amount(call)?, &call.idempotency_key)
                    .await?,
            ),
            "send_to_bank" => {
                let to = Destination {
                    bank: input("bank").to_owned(),
                    account: input("account").to_owned(),
                    name: input("name").to_owned(),
                };
                transfer(bank.transfer_external(key, &to, Self::amount(call)?, &call.idempotency_key).await?)
            }
            "authenticator_begin" => match bank.totp_begin(key).await? {
                Ok((secret, uri)) => outcome("ok", [("secret", secret), ("uri", uri)]),
                Err(refusal) => refused(refusal),
            },
            "authenticator_confirm" => code_check(bank.totp_confirm(key, input("code")).await?),
            name if name.starts_with("loan_") => loans::run(bank, call).await?,
            other => anyhow::bail!("the bank has no action {other}"),
        })
    }
}

fn transfer(outcome_of: Transfer) -> ActionOutcome {
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
        let names: std::collections::BTreeSet<_> = SPECS.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), SPECS.len(), "an action is declared twice");
    }
}
