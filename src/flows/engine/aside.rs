//! Asides: a flow answered in the middle of another flow's question ("what is my balance?" at
//! a transfer's amount), after which that question is asked again with what was given kept.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// Not at the menu or the welcome, which the request simply leaves; not while an identity
    /// number is held (it is sealed where the session is kept, and a copy would not be); not on a
    /// session pinned to older flows than the aside's.
    pub(super) fn steps_aside_to(&self, flow: &str) -> bool {
        self.current.flows.get(flow).is_some_and(|f| f.aside)
            && self.admitted(flow) == flow
            && ![MAIN_MENU, WELCOME].contains(&self.session.flow.as_str())
            && self.session.status == Status::Asking
            && self.session.private.is_empty()
            && self.session.aside.is_none()
            && self.bundle.version == self.current.version
    }

    /// Runs `flow` as an aside, to come back to the question on screen when it ends.
    pub(super) fn step_aside(&mut self, flow: &str) {
        let session = &mut self.session;
        let back = Back {
            flow: std::mem::take(&mut session.flow),
            step: std::mem::take(&mut session.step),
            vars: std::mem::take(&mut session.vars),
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
        self.enter(Target::Flow(flow.to_owned()));
    }

    /// A flow has run to its end: back to the question an aside was asked at, or the end.
    pub(super) fn finish(&mut self) {
        let Some(back) = self.session.aside.take() else { return self.end() };
        self.end();
        let Back { flow, step, vars, started_at, run, actions, moved_money } = *back;
        let session = &mut self.session;
        (session.flow, session.vars, session.started_at) = (flow, vars, started_at);
        (session.run, session.actions, session.moved_money) = (run, actions, moved_money);
        self.enter(Target::Step(step));
    }
}
