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

use super::{Finish, NewOutboxMessage, SqlStore, StoreError};

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
    let finishing: Vec<(i64, Finish)> = round.finishing.iter().map(|f| (f.seq, f.finish)).collect();
    let mut tx = store.begin().await?;
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

/// A round in one statement (PostgreSQL): the function `record_round` (migration 33), given
/// `$1` the finished messages' seqs, `$2` their states, `$3` their redacted forms (NULL for
/// none); `$4` the lease, `$5` now, `$6` the marker a redacted message's webhook body becomes;
/// `$7`, `$8` the retried messages' seqs and times; then each reply's columns from `$9` to
/// `$18`, the first the seq of the message it answers. Returns the seqs whose lease held. The
/// parts touch different rows (a message is finished or retried, not both), and replies are
/// inserted in the order given, so their ids rise in it.
///
/// Its commit does not wait for the disk (`synchronous_commit` off for its own transaction, so
/// for nothing after it). A round lost with the database server is a round whose dispatcher
/// died before recording it: its messages are claimed and handled again, and handling is built
/// to be repeated (the session in the KV keeps the one before the message it last answered).
/// Nothing of a round reaches a customer before its replies are claimed to be sent, and that
/// claim is a commit that waits for the disk, which makes every commit before it durable too:
/// this one included, since the claim could not see the replies before it.
///
/// Its rows are taken by key, planned by index alone: see the PostgreSQL store's notes on
/// queue rows by key.
pub(super) const RECORD_ROUND: &str = "SELECT * FROM record_round($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                                  $11, $12, $13, $14, $15, $16, $17, $18)";
