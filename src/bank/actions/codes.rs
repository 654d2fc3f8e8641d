//! Step-up codes and authenticator apps.
//!
//! Each action is a variant: its declaration and its runner are matched exhaustively, so an
//! action without either does not build; its inputs and results are types (see `declare`).

use super::declare::{Minor, Results, inputs, refused, results};
use super::{BankAction, counterparty};
use crate::bank::{Bank, CodeCheck, Refusal, StepUp};
use crate::flows::actions::{ActionCall, ActionOutcome, ActionSpec};

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
        let (bank, key) = (&*action.bank, call.customer.as_str());
        Ok(match self {
            CodeAction::StepUp => step_up(bank, call, StepUpIn::read(call)?).await?.outcome(),
            CodeAction::VerifyCode => {
                let i = CodeIn::read(call)?;
                code_check(call, bank.verify_code(key, &i.code).await?)?.outcome()
            }
            CodeAction::AuthenticatorBegin => authenticator_begin(bank, call).await?.outcome(),
            CodeAction::AuthenticatorConfirm => {
                let i = CodeIn::read(call)?;
                code_check(call, bank.totp_confirm(key, &i.code).await?)?.outcome()
            }
        })
    }
}

inputs!(
    /// A transfer about to be confirmed.
    StepUpIn { amount: Minor, to: String }
);

results!(
    /// `step_up`'s results.
    StepUpResult {
        NotNeeded = "not_needed",
        Sent = "sent",
        Authenticator = "authenticator",
        UnknownBank = "unknown_bank",
        NotRegistered = "not_registered",
    }
);

async fn step_up(bank: &Bank, call: &ActionCall, i: StepUpIn) -> anyhow::Result<StepUpResult> {
    let to = match counterparty(bank, &i.to) {
        Ok(to) => to,
        Err(refusal) => return refused(call, refusal.code()),
    };
    Ok(match bank.step_up(&call.customer, i.amount.0, &to, &call.idempotency_key).await? {
        Ok(StepUp::NotNeeded) => StepUpResult::NotNeeded,
        Ok(StepUp::Sent) => StepUpResult::Sent,
        Ok(StepUp::Authenticator) => StepUpResult::Authenticator,
        Err(refusal) => return refused(call, refusal.code()),
    })
}

const STEP_UP: ActionSpec = ActionSpec {
    name: "step_up",
    description: "Sends a one-time code when the transfer needs one (large, or a new recipient).",
    inputs: StepUpIn::NAMES,
    results: StepUpResult::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

inputs!(
    /// A code typed by the customer.
    CodeIn { code: String }
);

results!(
    /// The results of checking a code.
    Checked {
        Ok = "ok",
        Wrong = "wrong",
        Expired = "expired",
        TooMany = "too_many",
        NotRegistered = "not_registered",
    }
);

fn code_check(call: &ActionCall, check: Result<CodeCheck, Refusal>) -> anyhow::Result<Checked> {
    Ok(match check {
        Ok(CodeCheck::Verified) => Checked::Ok,
        Ok(CodeCheck::Wrong) => Checked::Wrong,
        Ok(CodeCheck::Expired) => Checked::Expired,
        Ok(CodeCheck::TooMany) => Checked::TooMany,
        Err(refusal) => return refused(call, refusal.code()),
    })
}

const VERIFY_CODE: ActionSpec = ActionSpec {
    name: "verify_code",
    description: "Checks a one-time code (sent, or from the authenticator app): once, 3 tries.",
    inputs: CodeIn::NAMES,
    results: Checked::RESULTS,
    moves_money: false,
    verifies: true,
    remember: true,
    money_inputs: &[],
};

results!(
    /// `authenticator_begin`'s results.
    Begun { Ok = "ok" { secret, uri }, NotVerified = "not_verified", NotRegistered = "not_registered" }
);

async fn authenticator_begin(bank: &Bank, call: &ActionCall) -> anyhow::Result<Begun> {
    match bank.totp_begin(&call.customer).await? {
        Ok((secret, uri)) => Ok(Begun::Ok { secret, uri }),
        Err(refusal) => refused(call, refusal.code()),
    }
}

const AUTHENTICATOR_BEGIN: ActionSpec = ActionSpec {
    name: "authenticator_begin",
    description: "Starts enrolling an authenticator app: the secret to add, and its otpauth link.",
    inputs: &[],
    results: Begun::RESULTS,
    moves_money: false,
    verifies: false,
    remember: false,
    money_inputs: &[],
};

const AUTHENTICATOR_CONFIRM: ActionSpec = ActionSpec {
    name: "authenticator_confirm",
    description: "Finishes enrolment with a code from the app.",
    inputs: CodeIn::NAMES,
    results: Checked::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};
