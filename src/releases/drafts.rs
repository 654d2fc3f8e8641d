//! Drafts: made from the published flows, edited file by file at a revision (a stale one is
//! refused), rebased on the newest release, discarded; every change audited.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use serde_json::json;

use crate::store::{DraftRow, NewDraft};

use super::compare::merge;
use super::{
    Files, LifecycleError, MAX_FILE_BYTES, MAX_FILES, Releases, audit, changed_meanwhile, checked_file_name,
    from_json, open_draft, to_json,
};

impl<'a> Releases<'a> {
    /// One draft and its files.
    pub async fn draft(&self, id: i64) -> Result<(DraftRow, Files), LifecycleError> {
        let mut tx = self.store.begin().await?;
        let draft = tx.admin().draft(id).await?.ok_or(LifecycleError::NotFound("draft"))?;
        let files = from_json(&draft.sources)?;
        Ok((draft, files))
    }

    /// Drafts, newest first (open ones only unless `all`).
    pub async fn drafts(&self, all: bool) -> Result<Vec<DraftRow>, LifecycleError> {
        let mut tx = self.store.begin().await?;
        Ok(tx.admin().drafts(all).await?)
    }

    /// A new draft from release `from` (the newest when `None`).
    pub async fn create_draft(
        &self,
        title: &str,
        from: Option<i64>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, LifecycleError> {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 120 {
            return Err(LifecycleError::Invalid("a draft's title is 1 to 120 characters".into()));
        }
        let mut tx = self.store.begin().await?;
        let head = tx.admin().lock_head().await?.ok_or(LifecycleError::NotFound("release"))?;
        let from = match from {
            Some(number) => tx.admin().release(number).await?.ok_or(LifecycleError::NotFound("release"))?,
            None => head.clone(),
        };
        let sources =
            tx.admin().flow_version(&from.version).await?.ok_or(LifecycleError::NotFound("flow version"))?;
        // A draft of an older release is based on the newest: publishing it is a rollback
        // with edits, which the diff against the newest shows.
        let draft =
            NewDraft { title, sources: &sources, base_release: head.number, files_version: None, by, now };
        let id =
            tx.admin().create_draft(&draft).await?.context("a draft without files_version always inserts")?;
        let event = audit(
            by,
            "flow.draft_created",
            &format!("draft:{id}"),
            now,
            json!({
                "after": { "title": title, "from_release": from.number, "base_release": head.number },
            }),
        );
        tx.append_audit(&event).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Writes (or, with `None`, deletes) one file of an open draft at `revision`; returns the
    /// new revision and the draft's files after the edit.
    pub async fn edit_file(
        &self,
        id: i64,
        revision: i64,
        file: &str,
        text: Option<&str>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(i64, Files), LifecycleError> {
        checked_file_name(file)?;
        if text.is_some_and(|t| t.len() > MAX_FILE_BYTES) {
            return Err(LifecycleError::Invalid(format!("a flow file is at most {MAX_FILE_BYTES} bytes")));
        }
        let mut tx = self.store.begin().await?;
        let draft = open_draft(tx.as_mut(), id, revision).await?;
        let mut files = from_json(&draft.sources)?;
        let before = files.get(file).cloned();
        match text {
            Some(text) => {
                files.insert(file.to_owned(), text.to_owned());
            }
            None => {
                files.remove(file);
            }
        }
        if files.len() > MAX_FILES {
            return Err(LifecycleError::Invalid(format!("a set of flows has at most {MAX_FILES} files")));
        }
        if before.as_deref() == text {
            return Ok((draft.revision, files));
        }
        let sources = to_json(&files)?;
        if !tx.admin().update_draft(id, revision, &sources, draft.base_release, by, now).await? {
            return Err(changed_meanwhile());
        }
        let event = audit(
            by,
            "flow.draft_edited",
            &format!("draft:{id}"),
            now,
            json!({
                "file": file, "before": before, "after": text, "revision": revision + 1,
            }),
        );
        tx.append_audit(&event).await?;
        tx.commit().await?;
        Ok((revision + 1, files))
    }

    /// Moves open draft `id` onto the newest release: files changed only in the draft keep the
    /// draft's text, files changed only since its base take the newest text; a file changed on
    /// both sides (differently) is a conflict and nothing changes. Returns the new revision.
    pub async fn rebase(
        &self,
        id: i64,
        revision: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, LifecycleError> {
        let mut tx = self.store.begin().await?;
        let head = tx.admin().lock_head().await?.ok_or(LifecycleError::NotFound("release"))?;
        let draft = open_draft(tx.as_mut(), id, revision).await?;
        if draft.base_release == head.number {
            return Ok(draft.revision);
        }
        let base =
            tx.admin().release(draft.base_release).await?.ok_or(LifecycleError::NotFound("release"))?;
        let mut kept = Vec::with_capacity(2);
        for version in [&base.version, &head.version] {
            let sources =
                tx.admin().flow_version(version).await?.ok_or(LifecycleError::NotFound("flow version"))?;
            kept.push(from_json(&sources)?);
        }
        let (base_files, head_files) = (&kept[0], &kept[1]);
        let merged = merge(base_files, &from_json(&draft.sources)?, head_files)?;
        let sources = to_json(&merged)?;
        if !tx.admin().update_draft(id, revision, &sources, head.number, by, now).await? {
            return Err(changed_meanwhile());
        }
        let event = audit(
            by,
            "flow.draft_rebased",
            &format!("draft:{id}"),
            now,
            json!({
                "before": { "base_release": draft.base_release }, "after": { "base_release": head.number },
            }),
        );
        tx.append_audit(&event).await?;
        tx.commit().await?;
        Ok(revision + 1)
    }

    /// Discards open draft `id`.
    pub async fn discard(&self, id: i64, by: &str, now: DateTime<Utc>) -> Result<(), LifecycleError> {
        let mut tx = self.store.begin().await?;
        if !tx.admin().close_draft(id, "discarded", None, by, now).await? {
            return Err(LifecycleError::Conflict("this draft is not open".into()));
        }
        let event = audit(by, "flow.draft_discarded", &format!("draft:{id}"), now, json!({}));
        tx.append_audit(&event).await?;
        tx.commit().await?;
        Ok(())
    }
}
