//! A dispatcher round's outcome, recorded all at once: each message finished, fenced by its
//! lease; its replies queued and its secret removed only where the fence held; the messages to
//! try again after an outage given an earlier end to their lease.
//!
//! A round is what every message waits for between its handling and its reply, so how many
//! round trips it takes is latency every customer feels once the database is across a network.
//! On PostgreSQL it is one statement ([`RECORD_ROUND`]), which is atomic without a unit of
//! work around it; elsewhere it is a unit of work of the same steps ([`in_unit_of_work`]).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Finish, NewOutboxMessage, SqlStore, SqlTx, StoreError};

/// What one dispatcher round decided, for [`SqlStore::record_round`].
#[derive(Debug, Clone)]
pub struct RoundRecord<'a> {
    /// The round's lease name: each message is finished only if its lease is still this.
    pub owner: &'a str,
    /// When the round is recorded.
    pub now: DateTime<Utc>,
    /// The messages handled, in the order their replies are queued.
    pub finishing: Vec<Finishing<'a>>,
    /// The messages whose handling failed for an outage: `seq`, and when to try again.
    pub retries: Vec<(i64, DateTime<Utc>)>,
}

/// One handled message of a round.
#[derive(Debug, Clone)]
pub struct Finishing<'a> {
    /// The message.
    pub seq: i64,
    /// How it ended.
    pub finish: Finish,
    /// Its stored form with its secret text removed, kept in place of the one received (and the
    /// raw webhook body replaced by [`super::REDACTED_PAYLOAD`]).
    pub redacted: Option<&'a Value>,
    /// Its replies, in order.
    pub replies: Vec<NewOutboxMessage<'a>>,
}

/// [`SqlStore::record_round`] as a unit of work of one step after another: any backend.
pub(super) async fn in_unit_of_work<S: SqlStore + ?Sized>(
    store: &S,
    round: &RoundRecord<'_>,
) -> Result<Vec<bool>, StoreError> {
    record(store.begin().await?, round).await
}

/// [`SqlStore::record_round`] in the unit of work `tx`, which it commits.
pub(super) async fn record(mut tx: Box<dyn SqlTx>, round: &RoundRecord<'_>) -> Result<Vec<bool>, StoreError> {
    let finishing: Vec<(i64, Finish)> = round.finishing.iter().map(|f| (f.seq, f.finish)).collect();
    let held = tx.finish_inbound_all(round.owner, round.now, &finishing).await?;
    for (seq, at) in &round.retries {
        tx.retry_inbound_at(*seq, round.owner, *at).await?;
    }
    let mut replies = Vec::new();
    for (finished, held) in round.finishing.iter().zip(&held) {
        if !held {
            continue;
        }
        if let Some(redacted) = finished.redacted {
            tx.redact_inbound(finished.seq, redacted).await?;
        }
        replies.extend(finished.replies.iter().cloned());
    }
    tx.enqueue_outbound_all(&replies).await?;
    tx.commit().await?;
    Ok(held)
}

/// A round in one statement (PostgreSQL): `$1` the finished messages' seqs, `$2` their states,
/// `$3` their redacted forms (NULL for none); `$4` the lease, `$5` now, `$6` the marker a
/// redacted message's webhook body becomes; `$7`, `$8` the retried messages' seqs and times;
/// then each reply's columns from `$9` to `$18`, the first the seq of the message it answers.
/// Returns the seqs whose lease held. The parts touch different rows (a message is finished or
/// retried, not both), and replies are inserted in the order given, so their ids rise in it.
///
/// Its commit does not wait for the disk (`quick`: `synchronous_commit` off for the statement's
/// own transaction, so for nothing after it). A round lost with the database server is a round
/// whose dispatcher died before recording it: its messages are claimed and handled again, and
/// handling is built to be repeated (the session in the KV keeps the one before the message it
/// last answered). Nothing of a round reaches a customer before its replies are claimed to be
/// sent, and that claim is a commit that waits for the disk, which makes every commit before it
/// durable too: this one included, since the claim could not see the replies before it.
///
/// Its rows are taken by key, with the state compared as `(state || '')`: see the PostgreSQL
/// store's notes on queue rows by key.
pub(super) const RECORD_ROUND: &str = "WITH
     quick AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)),
     finished AS (
         UPDATE inbox_messages m
         SET state = f.state, processed_at = $5, lease_owner = NULL, leased_until = NULL,
             message = COALESCE(f.redacted, m.message)
         FROM unnest($1::bigint[], $2::text[], $3::jsonb[]) AS f(seq, state, redacted)
         WHERE m.seq = f.seq AND m.lease_owner = $4 AND (m.state || '') = 'pending'
         RETURNING m.seq, m.payload_id, f.redacted IS NOT NULL AS secret
     ),
     scrubbed AS (
         UPDATE webhook_payloads p SET body = $6
         FROM finished WHERE finished.secret AND p.id = finished.payload_id
     ),
     retried AS (
         UPDATE inbox_messages m SET leased_until = r.at
         FROM unnest($7::bigint[], $8::timestamptz[]) AS r(seq, at)
         WHERE m.seq = r.seq AND m.lease_owner = $4 AND (m.state || '') = 'pending' AND m.leased_until > r.at
     ),
     queued AS (
         INSERT INTO outbox_messages (recipient_key, wa_id, bsuid, in_reply_to, body, window_from,
                                      created_at, scrub_after, question)
         SELECT r.recipient_key, r.wa_id, r.bsuid, r.in_reply_to, r.body, r.window_from,
                r.created_at, r.scrub_after, r.question
         FROM unnest($9::bigint[], $10::text[], $11::text[], $12::text[], $13::text[], $14::jsonb[],
                     $15::timestamptz[], $16::timestamptz[], $17::timestamptz[], $18::text[])
              WITH ORDINALITY AS r(answers, recipient_key, wa_id, bsuid, in_reply_to, body, window_from,
                                   created_at, scrub_after, question, place)
         WHERE r.answers IN (SELECT seq FROM finished)
         ORDER BY r.place
     )
     SELECT seq FROM finished WHERE EXISTS (SELECT FROM quick)";
