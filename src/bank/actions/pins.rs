//! PINs and registration: choosing, confirming and checking a PIN, opening the account.
//!
//! Each action is a variant: its declaration and its runner are matched exhaustively, so an
//! action without either does not build; its inputs and results are types (see `declare`).

use super::BankAction;
use super::declare::{Results, inputs, refused, results};
use crate::bank::{Bank, IdentityCheck, PinCheck, PinReset, Registration};
use crate::flows::actions::{ActionCall, ActionOutcome, ActionSpec};

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
    /// `check_birth_date`.
    CheckBirthDate,
    /// `check_id_number`.
    CheckIdNumber,
    /// `check_identity`.
    CheckIdentity,
    /// `reset_pin`.
    ResetPin,
}

impl PinAction {
    /// Every one.
    pub const ALL: [PinAction; 9] = [
        PinAction::ChoosePin,
        PinAction::ConfirmPin,
        PinAction::Register,
        PinAction::VerifyPin,
        PinAction::ChangePin,
        PinAction::CheckBirthDate,
        PinAction::CheckIdNumber,
        PinAction::CheckIdentity,
        PinAction::ResetPin,
    ];

    /// Its declaration.
    pub fn spec(self) -> &'static ActionSpec {
        match self {
            PinAction::ChoosePin => &CHOOSE_PIN,
            PinAction::ConfirmPin => &CONFIRM_PIN,
            PinAction::Register => &REGISTER,
            PinAction::VerifyPin => &VERIFY_PIN,
            PinAction::ChangePin => &CHANGE_PIN,
            PinAction::CheckBirthDate => &CHECK_BIRTH_DATE,
            PinAction::CheckIdNumber => &CHECK_ID_NUMBER,
            PinAction::CheckIdentity => &CHECK_IDENTITY,
            PinAction::ResetPin => &RESET_PIN,
        }
    }

    /// Runs it for `call`.
    pub(super) async fn run(self, action: &BankAction, call: &ActionCall) -> anyhow::Result<ActionOutcome> {
        let (bank, key) = (&*action.bank, call.customer.as_str());
        Ok(match self {
            PinAction::ChoosePin => choose_pin(bank, key, PinIn::read(call)?).await?.outcome(),
            PinAction::ConfirmPin => confirm_pin(bank, key, PinIn::read(call)?).await?.outcome(),
            PinAction::Register => register(bank, key, RegisterIn::read(call)?).await?.outcome(),
            PinAction::VerifyPin => verify_pin(bank, key, PinIn::read(call)?).await?.outcome(),
            PinAction::ChangePin => change_pin(bank, call).await?.outcome(),
            PinAction::CheckBirthDate => check_birth_date(bank, BirthIn::read(call)?).outcome(),
            PinAction::CheckIdNumber => check_id_number(bank, IdIn::read(call)?).await?.outcome(),
            PinAction::CheckIdentity => check_identity(bank, key, IdentityIn::read(call)?).await?.outcome(),
            PinAction::ResetPin => reset_pin(bank, key).await?.outcome(),
        })
    }
}

inputs!(
    /// A PIN typed by the customer.
    PinIn { pin: String }
);

results!(
    /// `choose_pin`'s results.
    ChoosePin { Ok = "ok", Weak = "weak" }
);

async fn choose_pin(bank: &Bank, key: &str, i: PinIn) -> anyhow::Result<ChoosePin> {
    Ok(match bank.choose_pin(key, &i.pin).await? {
        Ok(()) => ChoosePin::Ok,
        Err(_) => ChoosePin::Weak,
    })
}

const CHOOSE_PIN: ActionSpec = ActionSpec {
    name: "choose_pin",
    description: "Checks a new PIN (4 to 6 digits, not an easy one) and keeps it, hashed, for its confirmation.",
    inputs: PinIn::NAMES,
    results: ChoosePin::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

results!(
    /// `confirm_pin`'s results.
    ConfirmPin { Ok = "ok", Mismatch = "mismatch", Expired = "expired" }
);

async fn confirm_pin(bank: &Bank, key: &str, i: PinIn) -> anyhow::Result<ConfirmPin> {
    Ok(match bank.confirm_pin(key, &i.pin).await? {
        Some(true) => ConfirmPin::Ok,
        Some(false) => ConfirmPin::Mismatch,
        None => ConfirmPin::Expired,
    })
}

const CONFIRM_PIN: ActionSpec = ActionSpec {
    name: "confirm_pin",
    description: "Checks the new PIN entered again against the first entry.",
    inputs: PinIn::NAMES,
    results: ConfirmPin::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

inputs!(
    /// What registration asks for.
    RegisterIn { first_name: String, last_name: String, date_of_birth: String, id_number: String }
);

results!(
    /// `register`'s results.
    Register {
        Ok = "ok" { account_number },
        AlreadyRegistered = "already_registered",
        TooYoung = "too_young",
        InvalidIdNumber = "invalid_id_number",
        IdNumberTaken = "id_number_taken",
        PinMissing = "pin_missing",
        NoPhone = "no_phone",
    }
);

async fn register(bank: &Bank, key: &str, i: RegisterIn) -> anyhow::Result<Register> {
    let done = bank.register(key, &i.first_name, &i.last_name, &i.date_of_birth, &i.id_number).await?;
    Ok(match done {
        Registration::Registered { account_number } => Register::Ok { account_number },
        Registration::AlreadyRegistered => Register::AlreadyRegistered,
        Registration::TooYoung => Register::TooYoung,
        Registration::InvalidIdNumber => Register::InvalidIdNumber,
        Registration::IdNumberTaken => Register::IdNumberTaken,
        Registration::PinMissing => Register::PinMissing,
        Registration::NoPhone => Register::NoPhone,
    })
}

const REGISTER: ActionSpec = ActionSpec {
    name: "register",
    description: "Creates the customer, their wallet and KYC tier 1, with the PIN just confirmed.",
    inputs: RegisterIn::NAMES,
    results: Register::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

results!(
    /// `verify_pin`'s results.
    VerifyPin {
        Ok = "ok",
        Wrong = "wrong" { tries_left },
        Locked = "locked" { until, operator },
        NotRegistered = "not_registered",
    }
);

async fn verify_pin(bank: &Bank, key: &str, i: PinIn) -> anyhow::Result<VerifyPin> {
    Ok(match bank.verify_pin(key, &i.pin).await? {
        PinCheck::Verified => VerifyPin::Ok,
        PinCheck::Wrong { left } => VerifyPin::Wrong { tries_left: left.to_string() },
        PinCheck::Locked { until } => {
            VerifyPin::Locked { until: bank.lock_end(until), operator: "no".into() }
        }
        PinCheck::Blocked => VerifyPin::Locked { until: String::new(), operator: "yes".into() },
        PinCheck::Frozen => VerifyPin::Locked { until: String::new(), operator: "frozen".into() },
        PinCheck::NotRegistered => VerifyPin::NotRegistered,
    })
}

const VERIFY_PIN: ActionSpec = ActionSpec {
    name: "verify_pin",
    description: "Checks the customer's PIN; wrong PINs count towards a lockout (`operator` is `yes` when only an operator can lift it, `frozen` when the customer froze the account).",
    inputs: PinIn::NAMES,
    results: VerifyPin::RESULTS,
    moves_money: false,
    verifies: true,
    remember: true,
    money_inputs: &[],
};

results!(
    /// `change_pin`'s results.
    ChangePin { Ok = "ok", NotVerified = "not_verified", NotRegistered = "not_registered" }
);

async fn change_pin(bank: &Bank, call: &ActionCall) -> anyhow::Result<ChangePin> {
    match bank.change_pin(&call.customer).await? {
        Ok(()) => Ok(ChangePin::Ok),
        Err(refusal) => refused(call, refusal.code()),
    }
}

const CHANGE_PIN: ActionSpec = ActionSpec {
    name: "change_pin",
    description: "Replaces the PIN with the new one just confirmed (the old one verified first).",
    inputs: &[],
    results: ChangePin::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

inputs!(
    /// A date of birth, as the date question saves it (ISO).
    BirthIn { date_of_birth: String }
);

results!(
    /// `check_birth_date`'s results.
    BirthChecked { Ok = "ok", TooYoung = "too_young" { minimum_age } }
);

fn check_birth_date(bank: &Bank, i: BirthIn) -> BirthChecked {
    match bank.old_enough(&i.date_of_birth) {
        Ok(()) => BirthChecked::Ok,
        Err(minimum_age) => BirthChecked::TooYoung { minimum_age: minimum_age.to_string() },
    }
}

const CHECK_BIRTH_DATE: ActionSpec = ActionSpec {
    name: "check_birth_date",
    description: "Whether someone born then is old enough to open an account, checked when the date is typed.",
    inputs: BirthIn::NAMES,
    results: BirthChecked::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

inputs!(
    /// An identity number as typed.
    IdIn { id_number: String }
);

results!(
    /// `check_id_number`'s results.
    IdChecked { Ok = "ok", InvalidIdNumber = "invalid_id_number", IdNumberTaken = "id_number_taken" }
);

async fn check_id_number(bank: &Bank, i: IdIn) -> anyhow::Result<IdChecked> {
    Ok(match bank.id_number_free(&i.id_number).await? {
        Ok(()) => IdChecked::Ok,
        Err(Registration::IdNumberTaken) => IdChecked::IdNumberTaken,
        Err(_) => IdChecked::InvalidIdNumber,
    })
}

const CHECK_ID_NUMBER: ActionSpec = ActionSpec {
    name: "check_id_number",
    description: "Whether a BVN or NIN can open an account (its form, and not registered already), checked when it is typed.",
    inputs: IdIn::NAMES,
    results: IdChecked::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

inputs!(
    /// What a forgotten PIN's reset asks for, as the date and identity questions keep them.
    IdentityIn { date_of_birth: String, id_number: String }
);

results!(
    /// `check_identity`'s results.
    IdentityChecked {
        Ok = "ok",
        Wrong = "wrong" { tries_left },
        TooMany = "too_many" { until },
        Locked = "locked" { operator },
        NotRegistered = "not_registered",
    }
);

async fn check_identity(bank: &Bank, key: &str, i: IdentityIn) -> anyhow::Result<IdentityChecked> {
    Ok(match bank.check_identity(key, &i.date_of_birth, &i.id_number).await? {
        IdentityCheck::Confirmed => IdentityChecked::Ok,
        IdentityCheck::Wrong { left } => IdentityChecked::Wrong { tries_left: left.to_string() },
        IdentityCheck::TooMany { until } => IdentityChecked::TooMany { until: bank.lock_end(until) },
        IdentityCheck::Blocked => IdentityChecked::Locked { operator: "yes".into() },
        IdentityCheck::Frozen => IdentityChecked::Locked { operator: "frozen".into() },
        IdentityCheck::NotRegistered => IdentityChecked::NotRegistered,
    })
}

const CHECK_IDENTITY: ActionSpec = ActionSpec {
    name: "check_identity",
    description: "Checks the date of birth and BVN or NIN a customer who forgot their PIN gives against those they registered with (a few wrong answers a day); `ok` lets `reset_pin` run in the next 10 minutes.",
    inputs: IdentityIn::NAMES,
    results: IdentityChecked::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

results!(
    /// `reset_pin`'s results.
    ResetPin {
        Ok = "ok" { until, per_day },
        NotVerified = "not_verified",
        Locked = "locked",
        NotRegistered = "not_registered",
    }
);

async fn reset_pin(bank: &Bank, key: &str) -> anyhow::Result<ResetPin> {
    Ok(match bank.reset_pin(key).await? {
        PinReset::Done { until, per_day } => ResetPin::Ok {
            until: until.map(|until| bank.lock_end(until)).unwrap_or_default(),
            per_day: per_day.to_string(),
        },
        PinReset::NotVerified => ResetPin::NotVerified,
        PinReset::Locked => ResetPin::Locked,
        PinReset::NotRegistered => ResetPin::NotRegistered,
    })
}

const RESET_PIN: ActionSpec = ActionSpec {
    name: "reset_pin",
    description: "Replaces a forgotten PIN with the new one just confirmed (the identity checked first); `until` and `per_day` say what may be sent meanwhile.",
    inputs: &[],
    results: ResetPin::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};
