//! The inbox's door: a verified webhook stored once — the payload, each message once per id,
//! each status that moves a message forward — all in one unit of work (one statement, for
//! webhooks of new messages only).
//!
//! Imports: the notification types and the SQL store port.

use chrono::{DateTime, Utc};

use super::notification::{Content, Notification, StatusUpdate};
use crate::store::{DeliveryStatus, NewInboxMessage, NewWebhookPayload, SqlStore, SqlTx, StoreError};

/// Longest problem report kept with a payload; the payload itself is kept whole.
const MAX_PROBLEMS_LEN: usize = 4096;

/// What one webhook changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// Messages seen for the first time.
    pub new_messages: u64,
    /// Messages already in the inbox (redeliveries).
    pub duplicates: u64,
    /// Statuses that moved a message forward.
    pub statuses_applied: u64,
}

/// A verified webhook to store.
pub struct Incoming<'a> {
    /// The bytes exactly as received.
    pub body: &'a [u8],
    /// What they say.
    pub notification: &'a Notification,
    /// Why parts of it could not be used, if so.
    pub problems: Option<&'a str>,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
}

/// Stores a verified webhook: the payload, each message once per id, each status that moves a
/// message forward. All of it or none of it.
pub async fn accept(
    store: &dyn SqlStore,
    body: &[u8],
    notification: &Notification,
    problems: Option<String>,
    now: DateTime<Utc>,
) -> Result<Accepted, StoreError> {
    let incoming = Incoming { body, notification, problems: problems.as_deref(), received_at: now };
    let accepted = accept_all(store, std::slice::from_ref(&incoming)).await?;
    Ok(accepted.into_iter().next().unwrap_or_default())
}

/// [`accept`] for each of `webhooks`, all of them or none: in one statement when they carry
/// only new messages ([`record_new`]), else in one unit of work ([`record`]). What each webhook
/// changed, in their order.
pub async fn accept_all(
    store: &dyn SqlStore,
    webhooks: &[Incoming<'_>],
) -> Result<Vec<Accepted>, StoreError> {
    // Both ways store the same payloads and messages: a repeat, which fails the first, is not
    // prepared twice.
    let (payloads, keys) = (payloads(webhooks), sender_keys(webhooks));
    if let Some(accepted) = record_new(store, webhooks, &payloads, &keys).await? {
        return Ok(accepted);
    }
    let mut tx = store.begin().await?;
    let accepted = record(tx.as_mut(), webhooks, &payloads, &keys).await?;
    tx.commit().await?;
    Ok(accepted)
}

/// [`accept`] for each of `webhooks` at once, in the common case: they carry messages only (no
/// statuses), none of which is in the inbox yet (see `SqlStore::enqueue_new_webhooks`). What
/// each webhook changed, in their order; `None`, with nothing stored, when they are not such
/// webhooks, and [`record`] must store them. `payloads` and `keys` are theirs ([`payloads`],
/// [`sender_keys`]).
async fn record_new(
    store: &dyn SqlStore,
    webhooks: &[Incoming<'_>],
    payloads: &[NewWebhookPayload<'_>],
    keys: &[Vec<String>],
) -> Result<Option<Vec<Accepted>>, StoreError> {
    let only_messages =
        |w: &Incoming<'_>| w.notification.statuses.is_empty() && !w.notification.messages.is_empty();
    if !webhooks.iter().all(only_messages) {
        return Ok(None);
    }
    let places = (0_i64..).take(webhooks.len());
    if !store.enqueue_new_webhooks(payloads, &inbox_rows(webhooks, places, keys)).await? {
        return Ok(None);
    }
    let accepted = |w: &Incoming<'_>| Accepted {
        new_messages: w.notification.messages.len() as u64,
        ..Accepted::default()
    };
    Ok(Some(webhooks.iter().map(accepted).collect()))
}

/// [`accept`] for each of `webhooks` within unit of work `tx`, which the caller commits: their
/// `payloads` in one statement, then all their messages (senders' `keys`) in one; what each
/// webhook changed, in their order.
async fn record(
    tx: &mut dyn SqlTx,
    webhooks: &[Incoming<'_>],
    payloads: &[NewWebhookPayload<'_>],
    keys: &[Vec<String>],
) -> Result<Vec<Accepted>, StoreError> {
    let payload_ids = tx.record_webhooks(payloads).await?;
    let rows = inbox_rows(webhooks, payload_ids.iter().copied(), keys);
    let mut new = tx.enqueue_inbound_all(&rows).await?.into_iter();
    let mut accepted = Vec::with_capacity(webhooks.len());
    for (webhook, payload_id) in webhooks.iter().zip(payload_ids) {
        let notification = webhook.notification;
        let mut this = Accepted::default();
        let mut repeated = Vec::new();
        for message in &notification.messages {
            if new.next() == Some(true) {
                this.new_messages += 1;
            } else {
                this.duplicates += 1;
                repeated.push(message.id.as_str());
            }
        }
        this.statuses_applied = apply_statuses(tx, notification, webhook.received_at).await?;
        // A message is kept once, with the body it first came in: a redelivery keeps no second
        // copy of it, so a PIN sent once and delivered five times is not kept five times over.
        if !repeated.is_empty() {
            if this.new_messages == 0 && notification.statuses.is_empty() && webhook.problems.is_none() {
                tx.drop_webhook(payload_id).await?;
            } else {
                tx.replace_webhook_body(payload_id, &without_messages(webhook.body, &repeated)).await?;
            }
        }
        accepted.push(this);
    }
    Ok(accepted)
}

/// The payloads of `webhooks` to keep, in their order.
fn payloads<'a>(webhooks: &[Incoming<'a>]) -> Vec<NewWebhookPayload<'a>> {
    webhooks
        .iter()
        .map(|w| NewWebhookPayload {
            received_at: w.received_at,
            body: w.body,
            problems: w.problems.map(within_problems_limit),
        })
        .collect()
}

/// The ordering key of each message's sender, webhook by webhook.
fn sender_keys(webhooks: &[Incoming<'_>]) -> Vec<Vec<String>> {
    webhooks.iter().map(|w| w.notification.messages.iter().map(|m| m.sender.key()).collect()).collect()
}

/// The inbox rows of every message of `webhooks`, in their order, each naming its webhook's
/// payload by the id `payload_ids` gives in turn; `keys` are [`sender_keys`].
fn inbox_rows<'a>(
    webhooks: &[Incoming<'a>],
    payload_ids: impl Iterator<Item = i64>,
    keys: &'a [Vec<String>],
) -> Vec<NewInboxMessage<'a>> {
    let mut rows = Vec::new();
    for ((webhook, payload_id), keys) in webhooks.iter().zip(payload_ids).zip(keys) {
        for (message, sender_key) in webhook.notification.messages.iter().zip(keys) {
            rows.push(NewInboxMessage {
                payload_id,
                message_id: message.id.as_str(),
                sender_key,
                phone_number_id: message.phone_number_id.as_deref(),
                kind: content_kind(&message.content),
                sent_at: message.sent_at,
                received_at: webhook.received_at,
                message: &message.raw,
            });
        }
    }
    rows
}

/// A problem report cut to [`MAX_PROBLEMS_LEN`] (the payload itself is kept whole).
fn within_problems_limit(problems: &str) -> String {
    let cut =
        (0..=MAX_PROBLEMS_LEN.min(problems.len())).rev().find(|i| problems.is_char_boundary(*i)).unwrap_or(0);
    problems[..cut].to_owned()
}

/// Records each status of `notification` that moves a message forward; how many did.
async fn apply_statuses(
    tx: &mut dyn SqlTx,
    notification: &Notification,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut applied = 0;
    for status in &notification.statuses {
        if tx.apply_delivery_status(&status_row(status, now)).await? {
            applied += 1;
            // Meta's late word that the window had closed: the reply never reached the customer.
            if let (Some(error), Some(id)) = (&status.error, status.callback_data.as_deref())
                && error.code == super::graph::OUTSIDE_WINDOW_CODE
                && let Ok(id) = id.parse::<i64>()
            {
                tx.outbound_outside_window(id, error.code).await?;
            }
        }
    }
    Ok(applied)
}

/// `body` without the messages whose ids are in `ids` (the rest of it as Meta sent it); a
/// marker when it cannot be read as JSON at all.
fn without_messages(body: &[u8], ids: &[&str]) -> Vec<u8> {
    let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return br#"{"redacted":"a redelivery of messages already kept"}"#.to_vec();
    };
    let changes = json
        .get_mut("entry")
        .and_then(|e| e.as_array_mut())
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get_mut("changes")?.as_array_mut())
        .flatten();
    for change in changes {
        if let Some(messages) = change.pointer_mut("/value/messages").and_then(|m| m.as_array_mut()) {
            messages.retain(|m| !m["id"].as_str().is_some_and(|id| ids.contains(&id)));
        }
    }
    serde_json::to_vec(&json).unwrap_or_default()
}

fn status_row(status: &StatusUpdate, now: DateTime<Utc>) -> DeliveryStatus {
    DeliveryStatus {
        message_id: status.message_id.as_str().to_owned(),
        status: status.delivery.as_str().to_owned(),
        rank: status.delivery.rank(),
        status_at: status.at,
        error_code: status.error.as_ref().map(|e| e.code),
        error_title: status.error.as_ref().and_then(|e| e.title.clone()),
        callback_data: status.callback_data.clone(),
        updated_at: now,
    }
}

/// The kind stored with an inbox row, for routing and inspection.
pub fn content_kind(content: &Content) -> &str {
    match content {
        Content::Text { .. } => "text",
        Content::ButtonReply { .. } => "button_reply",
        Content::ListReply { .. } => "list_reply",
        Content::FlowReply { .. } => "flow_reply",
        Content::QuickReply { .. } => "quick_reply",
        Content::Media { kind, .. } => kind,
        Content::Location { .. } => "location",
        Content::Contacts(_) => "contacts",
        Content::Reaction { .. } => "reaction",
        Content::System { .. } => "system",
        Content::Unsupported { .. } => "unsupported",
        Content::Other { kind } => kind,
    }
}
