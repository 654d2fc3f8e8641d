//! Session cleanup: sessions abandoned mid-flow lose what they held.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{
    Conversations, REMEMBERED, Record, SESSION_INDEX, SESSION_INDEX_TTL, SESSION_PREFIX, SWEEP_PAGE,
    abandon_at,
};

/// What one session cleanup did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    /// Sessions abandoned mid-flow that lost what they held.
    pub abandoned: u64,
    /// Index entries dropped: the session ended, expired or was cleaned already.
    pub pruned: u64,
    /// Index entries moved to a later time (the session's flow now allows longer).
    pub rescheduled: u64,
}

impl Conversations {
    /// Session cleanup: every session abandoned mid-flow by `now` loses what it held (the
    /// flow's answers, a draft transfer among them, and what the bank kept waiting for it),
    /// keeping only where it stood, so the customer's next message is still told it timed
    /// out. Index entries of sessions that ended or are gone are pruned. Stops between pages
    /// when `stop` says so.
    pub async fn sweep(&self, now: DateTime<Utc>, stop: &(dyn Fn() -> bool + Sync)) -> anyhow::Result<Sweep> {
        let mut done = Sweep::default();
        let mut seen = std::collections::HashSet::new();
        loop {
            let due = self.kv.index_due(SESSION_INDEX, now.timestamp(), SWEEP_PAGE).await?;
            let fresh: Vec<_> = due.into_iter().filter(|(key, _)| seen.insert(key.clone())).collect();
            if fresh.is_empty() {
                return Ok(done);
            }
            for (key, score) in fresh {
                self.sweep_one(&key, score, now, &mut done).await?;
            }
            if stop() {
                return Ok(done);
            }
        }
    }

    pub(super) async fn sweep_one(
        &self,
        key: &str,
        score: i64,
        now: DateTime<Utc>,
        done: &mut Sweep,
    ) -> anyhow::Result<()> {
        let session_key = format!("{SESSION_PREFIX}{key}");
        let raw = self.kv.get(&session_key).await?.unwrap_or_default();
        let record = serde_json::from_slice::<Record>(&raw).ok();
        let Some(mut record) = record.filter(|r| r.session.is_active()) else {
            done.pruned += u64::from(self.kv.index_remove(SESSION_INDEX, key, score).await?);
            return Ok(());
        };
        let bundle = self.pinned(&record.session.version).await?;
        let at = abandon_at(&record.session, bundle.as_deref());
        if at > now.timestamp() {
            self.kv.index_add(SESSION_INDEX, key, at, SESSION_INDEX_TTL).await?;
            done.rescheduled += 1;
            return Ok(());
        }
        if !record.session.vars.is_empty() || record.previous.is_some() || record.session.aside.is_some() {
            record.session.vars.clear();
            record.session.private.clear();
            record.session.aside = None;
            record.session.page = 0;
            record.previous = None;
            let ttl = self.kv.ttl(&session_key).await?.unwrap_or(REMEMBERED).max(Duration::from_secs(1));
            // Only if the customer did not write meanwhile: never overwrite a newer session.
            if !self.kv.compare_and_set(&session_key, &raw, &serde_json::to_vec(&record)?, ttl).await? {
                return Ok(());
            }
        }
        if let Some(customers) = &self.customers {
            customers.abandoned(key).await?;
        }
        done.abandoned += 1;
        self.kv.index_remove(SESSION_INDEX, key, score).await?;
        Ok(())
    }
}
