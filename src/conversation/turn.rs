//! The parts of handling one message around the engine's turn: the session it starts from,
//! the actions the turn asks for (each outcome fed back to the engine), and keeping the
//! session it ends on.

use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};

use super::{
    Conversations, MAX_ACTIONS, REMEMBERED, Record, SESSION_INDEX, SESSION_INDEX_TTL, SESSION_PREFIX,
    abandon_at, replay, taps,
};
use crate::dispatch::Standing;
use crate::flows::actions::ActionCall;
use crate::flows::engine::{self, Context, Event, Session, Turn};
use crate::flows::graph::Bundle;
use crate::kv::Indexed;
use crate::whatsapp::outbound::Outbound;

/// The flows a session may be on: the current version, and the one it was pinned to.
pub(super) type Versions<'a> = (&'a Bundle, Option<&'a Bundle>);

/// What keeping the session needs to know of the message.
pub(super) struct Kept<'a> {
    pub(super) message_id: &'a str,
    /// The session the message started from (kept, so the message can be handled again).
    pub(super) starting: Session,
    pub(super) language_before: &'a str,
    pub(super) now: DateTime<Utc>,
}

impl Conversations {
    /// The session message `message_id` starts from (the one before it, when it is handled
    /// again), and whether the KV lost the customer's session: a customer who wrote within the
    /// day always has one kept (ended ones too), so none means it was lost, and they are told
    /// rather than answered as if out of the blue. `known` is the session when read already
    /// (`Some(None)`: read, and there is none); `standing` holds their language, and when they
    /// last wrote, when the claim read them.
    pub(super) async fn starting(
        &self,
        key: &str,
        message_id: &str,
        now: DateTime<Utc>,
        known: Option<Option<Record>>,
        standing: Option<&Standing>,
    ) -> anyhow::Result<(Session, bool, bool)> {
        let record = match known {
            Some(record) => record,
            None => self.record(key).await?,
        };
        let lost = record.is_none() && {
            let wrote_before = match standing {
                Some(standing) => standing.wrote_before,
                None => self.store.inbound_before(key, message_id).await?,
            };
            wrote_before
                .is_some_and(|at| now.signed_duration_since(at).to_std().unwrap_or_default() < REMEMBERED)
        };
        let again = record.as_ref().is_some_and(|r| r.last_message.as_deref() == Some(message_id));
        let session = match record.and_then(|r| r.start_for(message_id)) {
            Some(session) => session,
            None => {
                let chosen = match standing {
                    Some(standing) => standing.language.clone(),
                    None => self.store.customer_language(key).await?,
                };
                Session::new(chosen.as_deref().unwrap_or(&self.settings.default_language), now)
            }
        };
        Ok((session, lost, again))
    }

    /// Runs the actions `turn` asks for, one after another, feeding each outcome back to the
    /// engine; the replies join `messages`.
    pub(super) async fn run_actions(
        &self,
        key: &str,
        mut turn: Turn,
        (current, pinned): Versions<'_>,
        context: &Context<'_>,
        messages: &mut Vec<Outbound>,
    ) -> anyhow::Result<Turn> {
        let mut ran = 0;
        while let Some(request) = turn.action.take() {
            ran += 1;
            if ran > MAX_ACTIONS {
                bail!("flow {} ran more than {MAX_ACTIONS} actions for one message", turn.session.flow);
            }
            let action = self
                .catalogue
                .get(&request.name)
                .with_context(|| format!("action `{}` is not in the catalogue", request.name))?;
            let call = ActionCall {
                name: request.name.clone(),
                inputs: request.inputs,
                customer: key.to_owned(),
                // From the session's run and step, not the message: a second "confirm" (a double
                // tap, a redelivery) finds the session past the step, and a message handled
                // again starts from the same session and so repeats the same key.
                idempotency_key: format!("{key}:{}", request.idempotency),
            };
            let outcome = replay::run_once(self.kv.as_ref(), action, &call)
                .await
                .with_context(|| format!("action `{}` failed", request.name))?;
            if action.spec().result(&outcome.code).is_none() {
                bail!("action `{}` returned `{}`, which it does not declare", request.name, outcome.code);
            }
            let on = if turn.session.version == current.version { Some(current) } else { pinned };
            turn = engine::handle(current, on, turn.session, Event::ActionDone(outcome), context);
            messages.append(&mut turn.messages);
        }
        Ok(turn)
    }

    /// Keeps `session` (with the message that produced it and the session before, for a
    /// second handling) for as long as the flow it is on lets it wait, plus a day remembered;
    /// indexes it for cleanup while it is active; keeps a changed language for good. Answers
    /// the question the session now waits on, if any.
    pub(super) async fn keep(
        &self,
        key: &str,
        session: Session,
        kept: Kept<'_>,
        (current, pinned): Versions<'_>,
    ) -> anyhow::Result<Option<String>> {
        let now = kept.now;
        if session.language != kept.language_before {
            self.store.set_customer_language(key, &session.language, now).await?;
        }
        let left = u64::try_from(session.expires_at.saturating_sub(now.timestamp())).unwrap_or(0);
        // The engine set the expiry from the flow the session is on (whatever its version).
        let flow_minutes = u32::try_from((session.expires_at - session.last_activity) / 60).unwrap_or(0);
        let resume = u64::try_from(engine::resume_window_secs(flow_minutes)).unwrap_or(0);
        let ttl = Duration::from_secs(left + resume) + REMEMBERED;
        let abandon_at = if session.is_active() {
            let bundle = if session.version == current.version { Some(current) } else { pinned };
            Some(abandon_at(&session, bundle))
        } else {
            None
        };
        let question = taps::question_of(&session);
        let record =
            Record { session, last_message: Some(kept.message_id.to_owned()), previous: Some(kept.starting) };
        // The session and its place in the sweep's index, in one round trip.
        let indexed = abandon_at.map(|score| Indexed {
            index: SESSION_INDEX,
            member: key,
            score,
            ttl: SESSION_INDEX_TTL,
        });
        self.kv
            .set_and_index(&format!("{SESSION_PREFIX}{key}"), &self.kept_bytes(record)?, ttl, indexed)
            .await?;
        Ok(question)
    }
}
