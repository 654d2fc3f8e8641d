//! Asides: a flow answered in the middle of another flow's question ("what is my balance?" at
//! a transfer's amount), after which that question is asked again with what was given kept. An
//! aside runs until it ends or reaches a question of its own: a stranger opening an account who
//! asks what it costs gets the welcome's answer, up to its "Would you like to open an account?",
//! and is then asked registration's question again.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use crate::flows::graph::{MAIN_MENU, Target, WELCOME};

use super::{Run, Status};

/// Where an aside goes back to: the question it was asked at, and what its flow held then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Back {
    /// The flow.
    pub flow: String,
    /// The step asking the question.
    pub step: String,
    /// The flow's variables.
    pub vars: BTreeMap<String, String>,
    /// Those of them holding an identity number: sealed where the session is kept, as the
    /// session's own are.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub private: BTreeSet<String>,
    /// When the flow started (Unix seconds).
    pub started_at: i64,
    /// Its run, for its actions' idempotency keys.
    pub run: String,
    /// Actions asked for in its run so far.
    pub actions: u32,
    /// Whether an action of its run moved money.
    pub moved_money: bool,
}

impl Run<'_> {
    /// Whether `flow`, just asked for at the question on screen, is answered there as an aside.
    /// Not at the menu or the welcome, which the request simply leaves; not on a session pinned
    /// to older flows than the aside's.
    pub(super) fn steps_aside_to(&self, flow: &str) -> bool {
        self.current.flows.get(flow).is_some_and(|f| f.aside)
            && self.admitted(flow) == flow
            && ![MAIN_MENU, WELCOME].contains(&self.session.flow.as_str())
            && self.may_step_aside()
    }

    /// Whether the question on screen may be left for an aside and come back to.
    pub(super) fn may_step_aside(&self) -> bool {
        self.session.status == Status::Asking
            && self.session.aside.is_none()
            && self.bundle.version == self.current.version
    }

    /// Runs `flow` as an aside, to come back to the question on screen when it ends.
    pub(super) fn step_aside(&mut self, flow: &str) {
        self.stash();
        self.enter(Target::Flow(flow.to_owned()));
    }

    /// Runs `flow` from its `step` as an aside (the welcome's answer to a request), to come back
    /// to the question on screen when it ends or asks a question of its own.
    pub(super) fn step_aside_at(&mut self, flow: &str, step: &str) {
        self.stash();
        self.session.flow = flow.to_owned();
        self.enter(Target::Step(step.to_owned()));
    }

    /// Keeps the question on screen and its flow's state to come back to, and makes a fresh run.
    fn stash(&mut self) {
        let session = &mut self.session;
        let back = Back {
            flow: std::mem::take(&mut session.flow),
            step: std::mem::take(&mut session.step),
            vars: std::mem::take(&mut session.vars),
            private: std::mem::take(&mut session.private),
            started_at: session.started_at,
            run: std::mem::take(&mut session.run),
            actions: session.actions,
            moved_money: session.moved_money,
        };
        self.end();
        self.session.aside = Some(Box::new(back));
        self.session.started_at = self.cx.now.timestamp();
        self.session.run = self.cx.fresh_id.to_owned();
        self.session.actions = 0;
        self.session.moved_money = false;
    }

    /// A flow has run to its end, or an aside to a question of its own: back to the question
    /// the aside was asked at, or the end.
    pub(super) fn finish(&mut self) {
        let Some(back) = self.session.aside.take() else { return self.end() };
        self.end();
        let Back { flow, step, vars, private, started_at, run, actions, moved_money } = *back;
        let session = &mut self.session;
        (session.flow, session.vars, session.private, session.started_at) = (flow, vars, private, started_at);
        (session.run, session.actions, session.moved_money) = (run, actions, moved_money);
        self.enter(Target::Step(step));
    }
}
