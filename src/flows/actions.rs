//! The action catalogue: what flows may ask the bank to do.
//!
//! The catalogue is closed: flows name actions the bank's code registered, never arbitrary
//! code. Each action declares the inputs it needs, the result codes it can return and the outputs
//! each code carries, whether it moves money, and whether its `ok` proves the customer's PIN or
//! OTP. The compiler checks every `action:` step against these declarations (inputs collected on
//! every path, every result handled, money never moved without verification on every path); the
//! engine asks for an action as an effect and the host runs it outside the engine.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

/// One result an action can return, with the outputs it then carries.
#[derive(Debug, Clone, Copy)]
pub struct ResultSpec {
    /// The code flows branch on in `on:`.
    pub code: &'static str,
    /// Output names, readable afterwards as `{{<save>.<output>}}`.
    pub outputs: &'static [&'static str],
}

/// What an action is, as far as flows and the compiler are concerned.
#[derive(Debug, Clone, Copy)]
pub struct ActionSpec {
    /// Its name in `action:`.
    pub name: &'static str,
    /// One line for the flow reference.
    pub description: &'static str,
    /// Inputs it needs, each given in `with:`.
    pub inputs: &'static [&'static str],
    /// Every result it can return.
    pub results: &'static [ResultSpec],
    /// It moves money: every path to it must pass a verifying action's `ok` first.
    pub moves_money: bool,
    /// Its `ok` result proves the customer's PIN or OTP.
    pub verifies: bool,
    /// The host keeps its outcome for a while under the call's idempotency key, so a message
    /// handled again gets the same answer without the action running again (a wrong PIN is
    /// counted once, a code is not spent twice). False only for an action whose outputs are
    /// secrets, which are not kept: such an action must answer the same when run again.
    pub remember: bool,
    /// For an action that moves money: the inputs that say how much and to whom, each of which
    /// must come from the customer's own answers or the bank's records, never from text the
    /// flow's author wrote (checked by the compiler).
    pub money_inputs: &'static [MoneyInput],
}

/// An input of a money-moving action that only the customer (or the bank's records) may fill.
#[derive(Debug, Clone, Copy)]
pub struct MoneyInput {
    /// The input's name.
    pub input: &'static str,
    /// The question types whose answers may fill it (`amount`, `phone`, `id_number`, `choice`,
    /// …). Outputs of actions fed only by such answers, or by nothing (the bank's records), may
    /// fill it too.
    pub answers: &'static [&'static str],
}

impl ActionSpec {
    /// The declared result `code`, if any.
    pub fn result(&self, code: &str) -> Option<&ResultSpec> {
        self.results.iter().find(|r| r.code == code)
    }
}

/// The result code a verifying action returns when the secret was right.
pub const VERIFIED: &str = "ok";
/// The `on:` key that catches every result not named.
pub const OTHER_RESULT: &str = "other";

/// One call of an action, as the host makes it.
#[derive(Debug, Clone)]
pub struct ActionCall {
    /// The action.
    pub name: String,
    /// Its inputs, rendered from the session.
    pub inputs: BTreeMap<String, String>,
    /// The customer's routing key (their `wa_id`, else their BSUID).
    pub customer: String,
    /// Unique per inbound message and step: an action that repeats a call with the same key must
    /// not repeat its effect (a redelivered "confirm" moves money once).
    pub idempotency_key: String,
}

/// What an action returned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ActionOutcome {
    /// One of the declared result codes.
    pub code: String,
    /// The outputs that code declares.
    pub outputs: BTreeMap<String, String>,
}

/// An action the bank registered.
#[async_trait]
pub trait Action: Send + Sync + 'static {
    /// Its declaration.
    fn spec(&self) -> &'static ActionSpec;

    /// Runs it. An error means it could not run at all (a store outage); the message is then
    /// retried, with the same idempotency key.
    async fn run(&self, call: &ActionCall) -> anyhow::Result<ActionOutcome>;
}

/// The registered actions.
#[derive(Clone, Default)]
pub struct Catalogue {
    actions: BTreeMap<&'static str, Arc<dyn Action>>,
}

impl Catalogue {
    /// An empty catalogue.
    pub fn new() -> Self {
        Catalogue::default()
    }

    /// Adds `action`, replacing one of the same name.
    pub fn register(mut self, action: Arc<dyn Action>) -> Self {
        self.actions.insert(action.spec().name, action);
        self
    }

    /// The declaration of `name`.
    pub fn spec(&self, name: &str) -> Option<&'static ActionSpec> {
        self.actions.get(name).map(|a| a.spec())
    }

    /// The action `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Action>> {
        self.actions.get(name)
    }

    /// Every declaration, by name.
    pub fn specs(&self) -> impl Iterator<Item = &'static ActionSpec> + '_ {
        self.actions.values().map(|a| a.spec())
    }

    /// A catalogue of actions known only by their declarations: enough to compile flows
    /// against; running one fails.
    pub fn declaring(specs: impl IntoIterator<Item = &'static ActionSpec>) -> Catalogue {
        specs.into_iter().fold(Catalogue::new(), |c, spec| c.register(Arc::new(Declared(spec))))
    }
}

/// An action known only by its declaration.
struct Declared(&'static ActionSpec);

#[async_trait]
impl Action for Declared {
    fn spec(&self) -> &'static ActionSpec {
        self.0
    }

    async fn run(&self, call: &ActionCall) -> anyhow::Result<ActionOutcome> {
        anyhow::bail!("action {} is declared, but nothing is connected to run it", call.name)
    }
}
