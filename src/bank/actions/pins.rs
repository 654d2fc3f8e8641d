//! PINs and registration: choosing, confirming and checking a PIN, opening the account.
//!
//! Each action is a variant: its declaration and its runner are matched exhaustively, so an
//! action without either does not build.

use super::{BankAction, NOT_REGISTERED, code, outcome, r, refused};
use crate::bank::{PinCheck, Registration};
use crate::flows::actions::{ActionCall, ActionOutcome, ActionSpec, ResultSpec};

/// The actions of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinAction {
    /// `choose_pin`.
    ChoosePin,
    /// `confirm_pin`.
    ConfirmPin,
    /// `register`.
    Register,
    /// `verify_pin`.
    VerifyPin,
    /// `change_pin`.
    ChangePin,
}

impl PinAction {
    /// Every one.
    pub const ALL: [PinAction; 5] = [
        PinAction::ChoosePin,
        PinAction::ConfirmPin,
        PinAction::Register,
        PinAction::VerifyPin,
        PinAction::ChangePin,
    ];

    /// Its declaration.
    pub fn spec(self) -> &'static ActionSpec {
        match self {
            PinAction::ChoosePin => &CHOOSE_PIN,
            PinAction::ConfirmPin => &CONFIRM_PIN,
            PinAction::Register => &REGISTER,
            PinAction::VerifyPin => &VERIFY_PIN,
            PinAction::ChangePin => &CHANGE_PIN,
        }
    }

    /// Runs it for `call`.
    pub(super) async fn run(self, action: &BankAction, call: &ActionCall) -> anyhow::Result<ActionOutcome> {
        let bank = &action.bank;
        let key = call.customer.as_str();
        let input = |name| BankAction::input(call, name);
        Ok(match self {
            PinAction::ChoosePin => match bank.choose_pin(key, input("pin")).await? {
                Ok(()) => code("ok"),
                Err(_) => code("weak"),
            },
            PinAction::ConfirmPin => match bank.confirm_pin(key, input("pin")).await? {
                Some(true) => code("ok"),
                Some(false) => code("mismatch"),
                None => code("expired"),
            },
            PinAction::Register => match bank
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
            PinAction::VerifyPin => match bank.verify_pin(key, input("pin")).await? {
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
            PinAction::ChangePin => match bank.change_pin(key).await? {
                Ok(()) => code("ok"),
                Err(refusal) => refused(refusal),
            },
        })
    }
}

const CHOOSE_PIN: ActionSpec = ActionSpec {
    name: "choose_pin",
    description: "Checks a new PIN (4 to 6 digits, not an easy one) and keeps it, hashed, for its confirmation.",
    inputs: &["pin"],
    results: &[r("ok"), r("weak")],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

const CONFIRM_PIN: ActionSpec = ActionSpec {
    name: "confirm_pin",
    description: "Checks the new PIN entered again against the first entry.",
    inputs: &["pin"],
    results: &[r("ok"), r("mismatch"), r("expired")],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

const REGISTER: ActionSpec = ActionSpec {
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
};

const VERIFY_PIN: ActionSpec = ActionSpec {
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
};

const CHANGE_PIN: ActionSpec = ActionSpec {
    name: "change_pin",
    description: "Replaces the PIN with the new one just confirmed (the old one verified first).",
    inputs: &[],
    results: &[r("ok"), r("not_verified"), NOT_REGISTERED],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};
