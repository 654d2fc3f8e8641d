//! The engine's host: sessions in the KV, actions from the catalogue, flow versions from the
//! SQL store, and the dispatcher's [`Handler`] seam.
//!
//! For each inbound message: load the customer's session, turn the message into an event, let
//! the pure engine decide, run any action it asks for and feed the outcome back, then keep the
//! new session with a TTL. The session remembers the message that produced it and the session
//! before it, so a message handled again (a lease lost after the session was kept) is handled
//! from the same starting point and gives the same replies; actions get an idempotency key per
//! run and step, and their outcomes are kept under it (`replay`), so they do not repeat their
//! effects either.
//!
//! Imports: dispatch (the handler seam), releases, nlu, whatsapp's message types, the ports and
//! the leaves; never http/ or app/.

mod care;
mod customers;
pub use customers::{CareState, Customers};
mod forms;
pub use forms::{CODE_SCREEN, FIRST_SCREENS, FormAnswer, Forms, PIN_SCREEN};
mod replay;
mod sealing;
mod secrets;
mod several;
pub use several::{FORMS, IDENTITY_SCREEN, SIGNUP_SCREEN, Several};
mod sweep;
pub use sweep::Sweep;
mod taps;
mod turn;
use turn::Kept;
mod versions;
pub use versions::FlowsError;

use std::collections::HashMap;

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde::{Deserialize, Serialize};

use crate::dispatch::{Handled, Handler, Standing};
use crate::flows;
use crate::flows::actions::Catalogue;
use crate::flows::engine::{self, Context, Event, Session};
use crate::flows::graph::Bundle;
use crate::kv::Kv;
use crate::metrics::LimitLabels;
use crate::nlu::{Reader, Understanding};

use crate::store::SqlStore;
use crate::whatsapp::notification::{Content, InboundMessage};
use crate::whatsapp::outbound::Outbound;

/// `FLOWS_DIR`'s default; when it does not exist, the built-in baseline runs.
const DEFAULT_FLOWS_DIR: &str = "flows";
/// The KV key prefix of sessions.
pub const SESSION_PREFIX: &str = "session:";
/// The KV index of sessions by when they count as abandoned (Unix seconds): what session
/// cleanup walks instead of scanning every key.
pub const SESSION_INDEX: &str = "sessions:abandon_at";
/// How long the index lives after its last addition (longer than any session is kept).
const SESSION_INDEX_TTL: Duration = Duration::from_secs(3 * 24 * 3600);
/// Index entries one cleanup page handles.
const SWEEP_PAGE: usize = 200;
/// How long a session is remembered after it expired, so a customer who comes back is told it
/// timed out rather than greeted as new.
const REMEMBERED: Duration = Duration::from_secs(24 * 3600);
/// After a "slow down", how long a customer still over the limit is not told again.
const SLOW_DOWN_ONCE: Duration = Duration::from_secs(10 * 60);
/// Actions one message may run, in a chain, before teller decides a flow loops.
const MAX_ACTIONS: usize = 16;
/// Older flow versions kept compiled in memory.
const PINNED_CACHE: usize = 16;

/// What the host needs to know about the bank.
#[derive(Debug, Clone)]
pub struct Settings {
    /// ISO 4217 code for amounts.
    pub currency: String,
    /// Prefix that turns local phone numbers international.
    pub country_code: String,
    /// The language of customers who have not chosen one.
    pub default_language: String,
    /// The bank's name, as texts introduce it (`BANK_NAME`).
    pub bank_name: String,
}

/// A customer's session as kept in the KV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The session now.
    pub session: Session,
    /// The inbound message that produced it.
    pub last_message: Option<String>,
    /// The session before that message, to handle it again the same way.
    pub previous: Option<Session>,
}

impl Record {
    /// The session message `message_id` starts from: the one kept, or, for the message that
    /// produced it (handled before, its outcome not recorded), the one before.
    fn start_for(self, message_id: &str) -> Option<Session> {
        if self.last_message.as_deref() == Some(message_id) { self.previous } else { Some(self.session) }
    }
}

/// Conversations: the flows, the sessions and the actions.
pub struct Conversations {
    current: RwLock<Arc<Bundle>>,
    pinned: Mutex<HashMap<String, Arc<Bundle>>>,
    catalogue: Catalogue,
    kv: Arc<dyn Kv>,
    store: Arc<dyn SqlStore>,
    settings: Settings,
    customers: Option<Arc<dyn Customers>>,
    reader: Arc<Reader>,
    /// Messages per customer per minute, and where refusals are counted; `None`: no limit.
    limit: Option<(i64, Family<LimitLabels, Counter>)>,
    /// PIN and code questions go out as forms; `None`: they are typed in the chat.
    forms: Option<Forms>,
    /// What a session's identity number is sealed with in the KV (`SECRETS_KEY`).
    sealing: Arc<crate::sealed::Keys>,
}

impl Conversations {
    /// Conversations on `bundle`, already compiled (and kept, if sessions must outlive it).
    pub fn new(
        bundle: Bundle,
        catalogue: Catalogue,
        kv: Arc<dyn Kv>,
        store: Arc<dyn SqlStore>,
        settings: Settings,
    ) -> Conversations {
        Conversations {
            current: RwLock::new(Arc::new(bundle)),
            pinned: Mutex::new(HashMap::new()),
            catalogue,
            kv,
            store,
            settings,
            customers: None,
            reader: Arc::new(Reader::rules_only()),
            limit: None,
            forms: None,
            // A key of this process alone until the configured one is given (`with_sealing`).
            sealing: Arc::new(crate::sealed::Keys::ephemeral()),
        }
    }

    /// Conversations that read free text with `reader` (the model and voice when configured),
    /// not the rules alone.
    pub fn with_reader(mut self, reader: Arc<Reader>) -> Conversations {
        self.reader = reader;
        self
    }

    /// Conversations that answer at most `per_minute` messages of each customer a minute
    /// (counted in the KV, so across instances; 0: no limit). The first message over it gets
    /// one polite "slow down"; the rest of that minute's are not answered at all. Refusals are
    /// counted in `counted` under `customer`.
    pub fn with_customer_limit(
        mut self,
        per_minute: u32,
        counted: Family<LimitLabels, Counter>,
    ) -> Conversations {
        self.limit = (per_minute > 0).then(|| (i64::from(per_minute), counted));
        self
    }

    /// Conversations that seal the identity numbers sessions hold with `keys` (`SECRETS_KEY`,
    /// the same on every instance).
    pub fn with_sealing(mut self, keys: Arc<crate::sealed::Keys>) -> Conversations {
        self.sealing = keys;
        self
    }

    /// Conversations that know who has registered: the unregistered are taken to
    /// registration. Without this, everyone counts as registered.
    pub fn with_customers(mut self, customers: Arc<dyn Customers>) -> Conversations {
        self.customers = Some(customers);
        self
    }

    /// The session kept for `key`.
    pub async fn record(&self, key: &str) -> anyhow::Result<Option<Record>> {
        Ok(self.kv.get(&format!("{SESSION_PREFIX}{key}")).await?.and_then(|bytes| self.read_record(&bytes)))
    }

    /// A session as the simulator shows it: identity numbers and phone numbers masked (PINs
    /// and OTPs are never in a session at all).
    pub fn describe(&self, session: &Session) -> serde_json::Value {
        let current = self.current();
        let sensitive = |var: &str| {
            current.flows.values().flat_map(|f| f.steps.values()).any(|step| match &step.kind {
                flows::graph::Kind::Ask(q) => {
                    q.save.as_deref() == Some(var)
                        && matches!(q.kind, flows::input::Kind::IdNumber(_) | flows::input::Kind::Phone)
                }
                _ => false,
            })
        };
        let vars: serde_json::Map<String, serde_json::Value> = session
            .vars
            .iter()
            .map(|(k, v)| {
                let long_digits = v.len() >= 8 && v.bytes().all(|b| b.is_ascii_digit());
                let shown = if sensitive(k) || long_digits { crate::phone::mask(v) } else { v.clone() };
                (k.clone(), serde_json::Value::String(shown))
            })
            .collect();
        // The question on screen takes a PIN, a code or an identity number: the simulator keeps
        // no copy of the answer.
        let private = secrets::asks_private(session, Some(&current));
        serde_json::json!({
            "flow": session.flow,
            "step": session.step,
            "private": private,
            "status": session.status,
            "language": session.language,
            "version": session.version,
            "vars": vars,
            "expires_at": session.expires_at,
        })
    }

    /// Handles `event` from customer `key` (whose WhatsApp number is `phone`), the effect of
    /// inbound message `message_id`; returns the replies.
    pub async fn converse(
        &self,
        key: &str,
        phone: &str,
        message_id: &str,
        event: Event,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<Outbound>> {
        Ok(self.answer(key, phone, message_id, event, now).await?.replies)
    }

    /// [`Conversations::converse`], also saying whether the message answered a PIN or a code
    /// question (so what carried it is not kept).
    pub async fn answer(
        &self,
        key: &str,
        phone: &str,
        message_id: &str,
        event: Event,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        self.answer_known((key, phone, message_id), event, now, Read::default()).await
    }

    /// [`Conversations::answer`], given what was read of the customer already.
    async fn answer_known(
        &self,
        (key, phone, message_id): (&str, &str, &str),
        event: Event,
        now: DateTime<Utc>,
        read: Read<'_>,
    ) -> anyhow::Result<Handled> {
        // `again`: the bot handled this very message before (a redelivery), and answers it again.
        let (session, lost, again) = self.starting(key, message_id, now, read.session, read.standing).await?;
        let language_before = session.language.clone();
        let starting = session.clone();
        let current = self.current();
        let pinned = if session.is_active() { self.pinned(&session.version).await? } else { None };
        let (registered, linked) = self.standing(key, read.standing).await?;
        let on = if session.version == current.version { Some(&*current) } else { pinned.as_deref() };
        let (private, slip) = self.secrecy(key, message_id, &event, &session, on, registered, now).await?;
        let secret = private || slip.pin;
        // A customer handed over to a person writes to their ticket, not the bot (a form they
        // completed answers the bot's question, whose ticket was checked to still be on screen).
        if registered
            && !again
            && event != Event::Checked
            && let Some(handled) = self.care(key, message_id, &event, secret, &session.language).await?
        {
            return Ok(handled);
        }
        let fresh_id = fresh_id(key, message_id);
        let text = match &event {
            Event::Text(text) if !private => Some(text.clone()),
            _ => None,
        };
        // Words without a digit typed at a private question hold no PIN, code or identity
        // number: the rules, which run here, read them for a request ("I forgot my PIN"); the
        // model, elsewhere, never sees them.
        let readable = match &event {
            Event::Text(words) if private && !flows::input::has_digit(words) => Some(words),
            _ => text.as_ref(),
        };
        let understood = match readable {
            Some(text) => {
                Some(self.read(key, self.reader.rules(text, &self.settings.country_code), registered).await?)
            }
            None => None,
        };
        let modelled: Option<Understanding>;
        let mut context = self.context(Who { phone, registered, linked, fresh_id: &fresh_id }, now);
        context.understood = understood.as_ref();

        let mut turn = engine::handle(&current, pinned.as_deref(), session.clone(), event.clone(), &context);
        // The rules were not sure and the engine fell back to the menu: the model may read it.
        if turn.unsure
            && registered
            && understood.as_ref().is_some_and(|u| u.decided().is_none())
            && let (Some(text), Some(model)) = (&text, self.reader.model())
        {
            match model.understand(text, &session.language, &self.settings.country_code).await {
                Ok(reading) if reading.decided().is_some() => {
                    let country_code = &self.settings.country_code;
                    let reading = reading
                        .for_own_line(|| crate::nlu::rules::names_own_line(text))
                        .with_second_number(|| crate::nlu::rules::names_two_numbers(text, country_code))
                        .with_second_amount(|| crate::nlu::rules::names_two_amounts(text, country_code));
                    modelled = Some(self.read(key, reading, registered).await?);
                    context.understood = modelled.as_ref();
                    turn = engine::handle(&current, pinned.as_deref(), session, event, &context);
                }
                Ok(_) => {}
                Err(err) => tracing::info!(error = %err, "the model did not help: the rules' reading stands"),
            }
        }
        let mut messages = preface(&current.phrases, &turn.session.language, lost, slip.remind);
        messages.append(&mut turn.messages);
        let turn =
            self.run_actions(key, turn, (&current, pinned.as_deref()), &context, &mut messages).await?;
        let on = if turn.session.version == current.version { Some(&*current) } else { pinned.as_deref() };
        // Whether they were registered before the turn: one who registered in it is asked no
        // date of birth after, and a stale "no" would only keep a question typed.
        let asking = (&turn.session, Some(registered));
        self.offer_form((key, phone, message_id), asking, on, &mut messages, now).await?;
        let kept = Kept { message_id, starting, language_before: &language_before, now };
        let question = self.keep(key, turn.session, kept, (&current, pinned.as_deref())).await?;
        Ok(Handled { replies: messages, secret, question })
    }
}

/// Whom the engine answers: their number, standing, and the run id a flow they start gets.
pub(super) struct Who<'a> {
    pub(super) phone: &'a str,
    pub(super) registered: bool,
    pub(super) linked: bool,
    pub(super) fresh_id: &'a str,
}

impl Conversations {
    /// What the engine needs besides flows and session, for `who` at `now` (nothing
    /// understood from free text yet).
    pub(super) fn context<'a>(&'a self, who: Who<'a>, now: DateTime<Utc>) -> Context<'a> {
        Context {
            now,
            phone: who.phone,
            currency: &self.settings.currency,
            country_code: &self.settings.country_code,
            bank_name: &self.settings.bank_name,
            registered: who.registered,
            linked: who.linked,
            fresh_id: who.fresh_id,
            understood: None,
        }
    }

    /// Whether `event` answers a PIN, code or identity question (then it is never read for
    /// requests, nor sent anywhere, nor kept), and what a PIN typed at another moment means
    /// (it is not kept either).
    #[allow(clippy::too_many_arguments)]
    async fn secrecy(
        &self,
        key: &str,
        message_id: &str,
        event: &Event,
        session: &Session,
        on: Option<&Bundle>,
        registered: bool,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(bool, secrets::Slip)> {
        let private = matches!(event, Event::Text(_)) && secrets::asks_private(session, on);
        let slip = match (event, &self.customers) {
            (Event::Text(text), Some(customers)) if !private && registered => {
                let typed = secrets::Typed { key, message_id, text, now };
                secrets::slip(customers.as_ref(), self.kv.as_ref(), &typed, session, on).await?
            }
            _ => secrets::Slip::default(),
        };
        Ok((private, slip))
    }
}

/// What goes before a turn's replies: that the session was lost, a reminder about a PIN typed
/// out of turn.
fn preface(
    words: &crate::flows::phrasebook::Phrasebook,
    language: &str,
    lost: bool,
    remind: bool,
) -> Vec<Outbound> {
    let mut messages = Vec::new();
    if lost {
        tracing::warn!("a customer who wrote recently had no session: the KV lost it; they are told");
        messages.extend(text_replies(words.say(language, flows::phrases::Phrase::SessionLost)));
    }
    if remind {
        messages.extend(text_replies(words.say(language, flows::phrases::Phrase::PinReminder)));
    }
    messages
}

impl Conversations {
    /// `understood`, with a recipient named by name ("send 2k to Ada") turned into the phone
    /// number of the one recent payee of that name, when there is exactly one.
    async fn read(
        &self,
        key: &str,
        mut understood: Understanding,
        registered: bool,
    ) -> anyhow::Result<Understanding> {
        let (Some(name), None, true, Some(customers)) =
            (&understood.recipient, &understood.phone, registered, &self.customers)
        else {
            return Ok(understood);
        };
        let payees = customers.recent_payees(key).await?;
        let named: Vec<&String> = payees
            .iter()
            .filter(|(_, payee)| {
                let payee = payee.to_lowercase();
                payee == *name || payee.split_whitespace().next() == Some(name.as_str())
            })
            .map(|(phone, _)| phone)
            .collect();
        if let [phone] = named.as_slice() {
            understood.phone = Some((*phone).clone());
        }
        Ok(understood)
    }

    /// The language to speak to the customer behind `key` in: their session's, else the one
    /// they chose, else the bank's default.
    async fn language(&self, key: &str, session: Option<&Session>) -> anyhow::Result<String> {
        Ok(match session {
            Some(session) => session.language.clone(),
            None => self
                .store
                .customer_language(key)
                .await?
                .unwrap_or_else(|| self.settings.default_language.clone()),
        })
    }

    /// Counts `message_id` against its sender's limit for the minute it was `sent` in (the
    /// customer's pace, not ours: a backlog handled quickly after an outage is not a flood):
    /// under it, with the customer's session as read with the count; or over
    /// it, with what to answer instead (one "slow down" for the first over the limit, nothing
    /// for the rest).
    async fn over_limit(&self, key: &str, message_id: &str, now: DateTime<Utc>) -> anyhow::Result<Limited> {
        let Some((per_minute, counted)) = &self.limit else {
            return Ok(Limited::Under(self.record(key).await?.map(Box::new)));
        };
        let minute = now.timestamp().div_euclid(60);
        // The customer's session is read with the count: the turn that follows needs it.
        let (count, session) = self
            .kv
            .increment_and_get(
                &format!("rate:customer:{key}:{minute}"),
                1,
                Duration::from_secs(120),
                &format!("{SESSION_PREFIX}{key}"),
            )
            .await?;
        if count <= *per_minute {
            return Ok(Limited::Under(session.and_then(|bytes| self.read_record(&bytes)).map(Box::new)));
        }
        counted.get_or_create(&LimitLabels { limit: "customer" }).inc();
        // Told once per flood, not once per minute of it.
        if count > per_minute + 1
            || !self.kv.set_if_absent(&format!("rate:told:{key}"), b"1", SLOW_DOWN_ONCE).await?
        {
            return Ok(Limited::Over(Handled::default()));
        }
        tracing::warn!(message_id, "a customer is over the per-minute message limit: told once to slow down");
        let session = session.and_then(|bytes| self.read_record(&bytes)).map(|r| r.session);
        let language = self.language(key, session.as_ref()).await?;
        Ok(Limited::Over(Handled {
            replies: text_replies(&self.say(&language, flows::phrases::Phrase::SlowDown)),
            ..Handled::default()
        }))
    }

    /// Answers a voice note: transcribed and handled as text, after an "I heard: …" echo; or
    /// the customer is asked to type (no transcription here, it failed, or a PIN is expected).
    async fn voice_note(
        &self,
        key: &str,
        phone: &str,
        message_id: &str,
        media_id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        let session = self.record(key).await?.and_then(|r| r.start_for(message_id));
        let language = self.language(key, session.as_ref()).await?;
        let say =
            |phrase| Handled { replies: text_replies(&self.say(&language, phrase)), ..Handled::default() };
        if let Some(session) = &session {
            let bundle = self.pinned(&session.version).await?;
            if secrets::asks_private(session, bundle.as_deref()) {
                return Ok(say(flows::phrases::Phrase::VoiceForSecret));
            }
        }
        let Some(voice) = self.reader.voice() else {
            return Ok(say(flows::phrases::Phrase::VoiceUnavailable));
        };
        let heard = match voice.transcribe(media_id, &language).await {
            Ok(heard) => heard.chars().take(HEARD_MAX).collect::<String>(),
            Err(err) => {
                tracing::warn!(error = %err, "a voice note could not be heard: the customer is asked to type");
                return Ok(say(flows::phrases::Phrase::VoiceUnavailable));
            }
        };
        let mut handled = self.answer(key, phone, message_id, Event::Text(heard.clone()), now).await?;
        let echo = format!("{} “{heard}”", self.say(&language, flows::phrases::Phrase::Heard));
        let mut replies = text_replies(&echo);
        replies.append(&mut handled.replies);
        handled.replies = replies;
        Ok(handled)
    }
}

impl Conversations {
    /// A tap on a button of an earlier question (see [`taps`]): refused with a clear line,
    /// the session left as it is; `None` for any other message.
    async fn stale_tap(&self, key: &str, message: &InboundMessage) -> anyhow::Result<Option<Handled>> {
        let tapped = matches!(
            message.content,
            Content::ButtonReply { .. } | Content::ListReply { .. } | Content::QuickReply { .. }
        );
        let Some(context) = message.reply_to.as_deref().filter(|_| tapped) else { return Ok(None) };
        let asked = self.store.question_of(context).await?;
        let session = self.record(key).await?.and_then(|r| r.start_for(message.id.as_str()));
        let current = session.as_ref().and_then(taps::question_of);
        if taps::answers(asked, current.as_deref()) {
            return Ok(None);
        }
        tracing::info!("a tap on an earlier message was refused; nothing changed");
        let language = self.language(key, session.as_ref()).await?;
        Ok(Some(Handled {
            replies: text_replies(&self.say(&language, flows::phrases::Phrase::StaleTap)),
            question: current,
            ..Handled::default()
        }))
    }
}

/// The longest transcript handled (a request to a bank is short).
const HEARD_MAX: usize = 500;

fn text_replies(text: &str) -> Vec<Outbound> {
    crate::whatsapp::outbound::Text::new(text).map(|t| vec![t.into()]).unwrap_or_default()
}

/// When a session left as it is counts as abandoned (Unix seconds): a flow that moves money
/// at its expiry (it cannot be resumed), any other once the offer to resume has lapsed too.
fn abandon_at(session: &Session, bundle: Option<&Bundle>) -> i64 {
    let flow = bundle.and_then(|b| b.flows.get(&session.flow));
    if flow.is_some_and(|f| f.moves_money) {
        session.expires_at
    } else {
        session.expires_at + engine::resume_window_secs(flow.map_or(0, |f| f.session_minutes))
    }
}

/// A run id for a flow that `message_id` starts: the same every time that message is handled.
fn fresh_id(key: &str, message_id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{key}\0{message_id}").as_bytes());
    hex::encode(&digest[..8])
}

/// A message counted against its sender's per-minute limit.
enum Limited {
    /// It may be answered; the customer's session, read with the count.
    Under(Option<Box<Record>>),
    /// It is answered with this instead.
    Over(Handled),
}

impl Conversations {
    /// A kept session from its bytes, its identity numbers opened; `None` for one written by
    /// an incompatible version, which starts over rather than failing forever.
    fn read_record(&self, bytes: &[u8]) -> Option<Record> {
        serde_json::from_slice(bytes)
            .map_err(|err| tracing::warn!(error = %err, "an unreadable session is dropped"))
            .ok()
            .map(|record| sealing::opened(record, &self.sealing))
    }

    /// `record` as the KV keeps it, its identity numbers sealed.
    fn kept_bytes(&self, record: Record) -> anyhow::Result<Vec<u8>> {
        Ok(serde_json::to_vec(&sealing::sealed(record, &self.sealing))?)
    }
}

/// What an inbound message means to the engine; `None` for messages that need no answer
/// (reactions, system notices).
pub fn event_of(content: &Content) -> Option<Event> {
    Some(match content {
        Content::Text { body } => Event::Text(body.clone()),
        Content::ButtonReply { id, title } | Content::ListReply { id, title } => {
            Event::Choice { id: id.clone(), title: title.clone() }
        }
        Content::QuickReply { payload, text } => Event::Choice { id: payload.clone(), title: text.clone() },
        Content::Reaction { .. } | Content::System { .. } => return None,
        Content::Media { .. }
        | Content::Location { .. }
        | Content::Contacts(_)
        | Content::FlowReply { .. }
        | Content::Unsupported { .. }
        | Content::Other { .. } => Event::Unreadable,
    })
}

/// What was read of a customer before their turn, so the turn does not read it again.
#[derive(Default)]
struct Read<'a> {
    /// Their kept session: `Some(None)` when it was read and there is none.
    session: Option<Option<Record>>,
    /// Whether they are a customer, their language and when they last wrote, as the
    /// dispatcher's claim found them.
    standing: Option<&'a Standing>,
}

#[async_trait]
impl Handler for Conversations {
    async fn handle(
        &self,
        message: &InboundMessage,
        mut standing: Option<&Standing>,
    ) -> anyhow::Result<Handled> {
        let key = message.sender.key();
        let now = Utc::now();
        let mut known = None;
        if !matches!(message.content, Content::System { .. }) {
            match self.over_limit(&key, message.id.as_str(), message.sent_at.unwrap_or(now)).await? {
                Limited::Over(refused) => return Ok(refused),
                Limited::Under(session) => known = Some(session.map(|record| *record)),
            }
        }
        if let Content::System { new_wa_id: Some(new_wa_id), .. } = &message.content
            && let Some(customers) = &self.customers
        {
            customers.number_changed(&key, new_wa_id.as_str()).await?;
            standing = None; // the customer's keys changed since the claim read them
        }
        if let (Some(wa_id), Some(bsuid), Some(customers)) =
            (&message.sender.wa_id, &message.sender.bsuid, &self.customers)
            && self.link_once(customers.as_ref(), wa_id.as_str(), bsuid.as_str()).await?
        {
            standing = None; // linked now: the sender may be a customer under this key since the claim
        }
        if let Some(refused) = self.stale_tap(&key, message).await? {
            return Ok(refused);
        }
        let phone = message.sender.wa_id.as_ref().map_or("", |w| w.as_str());
        if let Content::FlowReply { response, .. } = &message.content
            && self.forms.is_some()
            && let Some(token) = response.get("flow_token").and_then(serde_json::Value::as_str)
        {
            return self.form_completed((&key, phone, message.id.as_str()), token, now).await;
        }
        if let Content::Media { kind, media_id, .. } = &message.content
            && kind == "audio"
        {
            return self.voice_note(&key, phone, message.id.as_str(), media_id, now).await;
        }
        let Some(event) = event_of(&message.content) else { return Ok(Handled::default()) };
        let read = Read { session: known, standing };
        self.answer_known((&key, phone, message.id.as_str()), event, now, read).await
    }
}
