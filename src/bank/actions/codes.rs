//! Step-up codes and authenticator apps.
//!
//! Each action is a variant: its declaration and its runner are matched exhaustively, so an
//! action without either does not build.

use super::{BankAction, NOT_REGISTERED, code, code_check, outcome, r, refused};
use crate::bank::StepUp;
use crate::flows::actions::{ActionCall, ActionOutcome, ActionSpec, ResultSpec};

/// The actions of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeAction {
    /// `step_up`.
    StepUp,
    /// `verify_code`.
    VerifyCode,
    /// `authenticator_begin`.
    AuthenticatorBegin,
    /// `authenticator_confirm`.
    AuthenticatorConfirm,
}

impl CodeAction {
    /// Every one.
    pub const ALL: [CodeAction; 4] = [
        CodeAction::StepUp,
        CodeAction::VerifyCode,
        CodeAction::AuthenticatorBegin,
        CodeAction::AuthenticatorConfirm,
    ];

    /// Its declaration.
    pub fn spec(self) -> &'static ActionSpec {
        match self {
            CodeAction::StepUp => &STEP_UP,
            CodeAction::VerifyCode => &VERIFY_CODE,
            CodeAction::AuthenticatorBegin => &AUTHENTICATOR_BEGIN,
            CodeAction::AuthenticatorConfirm => &AUTHENTICATOR_CONFIRM,
        }
    }

    /// Runs it for `call`.
    pub(super) async fn run(self, action: &BankAction, call: &ActionCall) -> anyhow::Result<ActionOutcome> {
        let bank = &action.bank;
        let key = call.customer.as_str();
        let input = |name| BankAction::input(call, name);
        Ok(match self {
            CodeAction::StepUp => {
                let counterparty = match action.counterparty(input("to")) {
                    Ok(c) => c,
                    Err(refusal) => return Ok(refused(refusal)),
                };
                match bank
                    .step_up(key, BankAction::amount(call)?, &counterparty, &call.idempotency_key)
                    .await?
                {
                    Ok(StepUp::NotNeeded) => code("not_needed"),
                    Ok(StepUp::Sent) => code("sent"),
                    Ok(StepUp::Authenticator) => code("authenticator"),
                    Err(refusal) => refused(refusal),
                }
            }
            CodeAction::VerifyCode => code_check(bank.verify_code(key, input("code")).await?),
            CodeAction::AuthenticatorBegin => match bank.totp_begin(key).await? {
                Ok((secret, uri)) => outcome("ok", [("secret", secret), ("uri", uri)]),
                Err(refusal) => refused(refusal),
            },
            CodeAction::AuthenticatorConfirm => code_check(bank.totp_confirm(key, input("code")).await?),
        })
    }
}

const STEP_UP: ActionSpec = ActionSpec {
    name: "step_up",
    description: "Sends a one-time code when the transfer needs one (large, or a new recipient).",
    inputs: &["amount", "to"],
    results: &[r("not_needed"), r("sent"), r("authenticator"), r("unknown_bank"), NOT_REGISTERED],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

const VERIFY_CODE: ActionSpec = ActionSpec {
    name: "verify_code",
    description: "Checks a one-time code (sent, or from the authenticator app): once, 3 tries.",
    inputs: &["code"],
    results: &[r("ok"), r("wrong"), r("expired"), r("too_many"), NOT_REGISTERED],
    moves_money: false,
    verifies: true,
    remember: true,
    money_inputs: &[],
};

const AUTHENTICATOR_BEGIN: ActionSpec = ActionSpec {
    name: "authenticator_begin",
    description: "Starts enrolling an authenticator app: the secret to add, and its otpauth link.",
    inputs: &[],
    results: &[ResultSpec { code: "ok", outputs: &["secret", "uri"] }, r("not_verified"), NOT_REGISTERED],
    moves_money: false,
    verifies: false,
    remember: false,
    money_inputs: &[],
};

const AUTHENTICATOR_CONFIRM: ActionSpec = ActionSpec {
    name: "authenticator_confirm",
    description: "Finishes enrolment with a code from the app.",
    inputs: &["code"],
    results: &[r("ok"), r("wrong"), r("expired"), r("too_many"), NOT_REGISTERED],
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};
