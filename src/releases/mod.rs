//! The flow lifecycle in the SQL store: baseline, drafts, publication, rollback.
//!
//! - On first start, the flows in `flows/` become release 1. A later change to `flows/` becomes
//!   a draft for a publisher to publish: what admins published is never overwritten silently.
//! - A draft is a whole set of flow files, edited file by file. Each edit names the draft's
//!   revision it was made on, so two editors cannot overwrite each other unknowingly.
//! - Publishing compiles the draft and is refused while the compiler reports an error, or while
//!   the draft is based on an older release than the newest (rebase it first: files changed on
//!   one side only are merged, a file changed on both is a conflict to resolve by hand).
//! - A release is immutable. A rollback publishes an older release's version as a new release;
//!   history is never rewritten.
//! - Sources are kept by content hash in `flow_versions`, where sessions pinned to a version
//!   find them: a customer mid-flow finishes on the version they began.
//!
//! Every change is audited in the same unit of work, with who, what, and before and after.
//!
//! Imports: the ports (store, flows) and the leaves.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::flows::actions::Catalogue;
use crate::flows::{self, Report, Severity};

pub mod approval;
mod compare;
mod drafts;
pub mod texts;

use crate::store::{DraftRow, NewAuditEvent, NewDraft, NewRelease, ReleaseRow, SqlStore, SqlTx, StoreError};
pub use compare::{diagnostics, diff, merge};

/// Who made a change nobody typed: the baseline from `flows/`.
pub const SYSTEM_FILES: &str = "system:flows_dir";
/// The largest flow file accepted (the shipped ones are under 10 KB).
pub const MAX_FILE_BYTES: usize = 64 * 1024;
/// The most files a set may have.
pub const MAX_FILES: usize = 64;

/// One flow file as kept with a version or a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Its file name (`transfer.yaml`).
    pub file: String,
    /// Its YAML.
    pub text: String,
}

/// A set of flow files by name.
pub type Files = BTreeMap<String, String>;

/// What went wrong with a lifecycle request.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// No such draft or release.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request is malformed (a bad file name, a file too large).
    #[error("{0}")]
    Invalid(String),
    /// It conflicts with what is there now (changed meanwhile, stale base, already closed).
    #[error("{0}")]
    Conflict(String),
    /// The flows do not compile; the report says where.
    #[error("the flows have {} errors", errors(.0))]
    DoesNotCompile(Report),
    /// It changes flows that move money, and no second admin approved it (see [`approval`]).
    #[error("{message}")]
    NeedsApproval {
        /// What to do, in words safe to show.
        message: String,
        /// The money flows it changes, by file.
        flows: Vec<String>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

fn errors(report: &Report) -> usize {
    report.diagnostics.iter().filter(|d| d.severity == Severity::Error).count()
}

/// Files as the compiler takes them.
pub fn as_paths(files: &Files) -> Vec<(PathBuf, String)> {
    files.iter().map(|(name, text)| (PathBuf::from(name), text.clone())).collect()
}

/// Files from the compiler's form, by file name.
pub fn from_paths(files: &[(PathBuf, String)]) -> Files {
    files
        .iter()
        .map(|(path, text)| {
            (path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), text.clone())
        })
        .collect()
}

/// Files as kept (a JSON array of [`Source`]).
pub fn to_json(files: &Files) -> anyhow::Result<String> {
    let sources: Vec<Source> =
        files.iter().map(|(file, text)| Source { file: file.clone(), text: text.clone() }).collect();
    Ok(serde_json::to_string(&sources)?)
}

/// Files from their kept form.
pub fn from_json(json: &str) -> anyhow::Result<Files> {
    let sources: Vec<Source> = serde_json::from_str(json).context("kept flow sources are unreadable")?;
    Ok(sources.into_iter().map(|s| (s.file, s.text)).collect())
}

/// The content hash of a set of files: the version sessions pin.
pub fn version_of(files: &Files) -> String {
    flows::version(&as_paths(files))
}

/// A file name an admin may use: lower-case letters, digits and `_`, ending `.yaml`.
pub fn checked_file_name(name: &str) -> Result<&str, LifecycleError> {
    let stem = name.strip_suffix(".yaml").unwrap_or("");
    let ok = !stem.is_empty()
        && stem.len() <= 64
        && stem.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(name)
    } else {
        Err(LifecycleError::Invalid(format!(
            "{name:?} is not a flow file name: use lower-case letters, digits and _ ending in .yaml"
        )))
    }
}

/// What the newest release serves.
#[derive(Debug, Clone)]
pub struct Head {
    /// The release.
    pub release: ReleaseRow,
    /// Its files.
    pub files: Files,
}

/// The flow lifecycle over the SQL store, compiling against the bank's catalogue.
pub struct Releases<'a> {
    store: &'a dyn SqlStore,
    catalogue: &'a Catalogue,
}

impl<'a> Releases<'a> {
    /// The lifecycle over `store`, compiling with `catalogue`.
    pub fn new(store: &'a dyn SqlStore, catalogue: &'a Catalogue) -> Releases<'a> {
        Releases { store, catalogue }
    }

    /// Compiles `files` as a complete set.
    pub fn compile(&self, files: &Files) -> (Report, Option<flows::graph::Bundle>) {
        flows::compile(&as_paths(files), self.catalogue)
    }

    /// Settles `flows/` against what is published: release 1 when nothing is; a draft when
    /// `files` differ from the newest release (once per content); nothing otherwise. Returns
    /// the newest release.
    pub async fn sync_baseline(&self, files: &Files, now: DateTime<Utc>) -> Result<Head, LifecycleError> {
        let version = version_of(files);
        let mut tx = self.store.begin().await?;
        let head = tx.admin().lock_head().await?;
        let Some(head) = head else {
            let (report, bundle) = self.compile(files);
            if bundle.is_none() {
                return Err(LifecycleError::DoesNotCompile(report));
            }
            let sources = to_json(files)?;
            tx.admin().save_flow_version(&version, &sources, now).await?;
            let release = NewRelease {
                number: 1,
                version: &version,
                kind: "baseline",
                draft_id: None,
                rollback_of: None,
                by: SYSTEM_FILES,
                now,
            };
            if tx.admin().insert_release(&release).await? {
                let event = audit(
                    SYSTEM_FILES,
                    "flow.published",
                    "release:1",
                    now,
                    json!({
                        "after": { "release": 1, "version": version, "kind": "baseline" },
                    }),
                );
                tx.append_audit(&event).await?;
                tx.commit().await?;
                tracing::info!(%version, "the flows in flows/ are release 1");
            } else {
                // Another instance published the baseline first.
                tx.rollback().await?;
            }
            return self.head().await?.ok_or(LifecycleError::NotFound("release"));
        };
        if head.version != version {
            self.propose_files(tx.as_mut(), files, &version, &head, now).await?;
        }
        tx.commit().await?;
        let files = self.files_of(&head.version).await?;
        Ok(Head { release: head, files })
    }

    /// `flows/` changed: a draft for a publisher, unless proposed before or broken.
    async fn propose_files(
        &self,
        tx: &mut dyn SqlTx,
        files: &Files,
        version: &str,
        head: &ReleaseRow,
        now: DateTime<Utc>,
    ) -> Result<(), LifecycleError> {
        if let (report, None) = self.compile(files) {
            tracing::warn!(
                errors = errors(&report),
                "flows/ differs from the published flows but has errors: not proposed as a draft"
            );
            return Ok(());
        }
        let sources = to_json(files)?;
        let title = format!("Changes in flows/ ({version})");
        let draft = NewDraft {
            title: &title,
            sources: &sources,
            base_release: head.number,
            files_version: Some(version),
            by: SYSTEM_FILES,
            now,
        };
        if let Some(id) = tx.admin().create_draft(&draft).await? {
            let event = audit(
                SYSTEM_FILES,
                "flow.draft_created",
                &format!("draft:{id}"),
                now,
                json!({
                    "after": { "title": title, "base_release": head.number, "origin": "flows/" },
                }),
            );
            tx.append_audit(&event).await?;
            tracing::warn!(
                draft = id,
                release = head.number,
                "flows/ differs from the published flows: kept as a draft for a publisher to publish"
            );
        }
        Ok(())
    }

    /// The newest release and its files.
    pub async fn head(&self) -> Result<Option<Head>, LifecycleError> {
        let mut tx = self.store.begin().await?;
        let Some(release) = tx.admin().lock_head().await? else { return Ok(None) };
        tx.rollback().await?;
        let files = self.files_of(&release.version).await?;
        Ok(Some(Head { release, files }))
    }

    /// The files of a kept version.
    pub async fn files_of(&self, version: &str) -> Result<Files, LifecycleError> {
        let sources =
            self.store.flow_version(version).await?.ok_or(LifecycleError::NotFound("flow version"))?;
        Ok(from_json(&sources)?)
    }

    /// Every release, newest first.
    pub async fn releases(&self) -> Result<Vec<ReleaseRow>, LifecycleError> {
        let mut tx = self.store.begin().await?;
        Ok(tx.admin().releases().await?)
    }

    /// One release and its files.
    pub async fn release(&self, number: i64) -> Result<(ReleaseRow, Files), LifecycleError> {
        let mut tx = self.store.begin().await?;
        let release = tx.admin().release(number).await?.ok_or(LifecycleError::NotFound("release"))?;
        tx.rollback().await?;
        let files = self.files_of(&release.version).await?;
        Ok((release, files))
    }

    /// Publishes open draft `id` at `revision` as the next release.
    pub async fn publish(
        &self,
        id: i64,
        revision: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<ReleaseRow, LifecycleError> {
        let mut tx = self.store.begin().await?;
        let head = tx.admin().lock_head().await?.ok_or(LifecycleError::NotFound("release"))?;
        let draft = open_draft(tx.as_mut(), id, revision).await?;
        if draft.base_release != head.number {
            return Err(LifecycleError::Conflict(format!(
                "release {} was published after this draft began (from release {}): rebase the draft first",
                head.number, draft.base_release
            )));
        }
        let files = from_json(&draft.sources)?;
        let (report, bundle) = self.compile(&files);
        if bundle.is_none() {
            return Err(LifecycleError::DoesNotCompile(report));
        }
        let version = version_of(&files);
        if version == head.version {
            return Err(LifecycleError::Conflict("this draft is what customers already see".into()));
        }
        let published = from_json(&tx.admin().flow_version(&head.version).await?.unwrap_or_default())?;
        let money = approval::money_files(&published, &files, bundle.as_ref(), self.catalogue);
        let approved_by = approval::check(&draft, &money, by)?;
        tx.admin().save_flow_version(&version, &draft.sources, now).await?;
        let number = head.number + 1;
        let release = NewRelease {
            number,
            version: &version,
            kind: "draft",
            draft_id: Some(id),
            rollback_of: None,
            by,
            now,
        };
        if !tx.admin().insert_release(&release).await?
            || !tx.admin().close_draft(id, "published", Some(number), by, now).await?
        {
            return Err(LifecycleError::Conflict(
                "another publication happened at the same time: try again".into(),
            ));
        }
        let event = audit(
            by,
            "flow.published",
            &format!("release:{number}"),
            now,
            json!({
                "draft": id,
                "before": { "release": head.number, "version": head.version },
                "after": { "release": number, "version": version },
                "money_flows": money,
                "approved_by": approved_by,
            }),
        );
        tx.append_audit(&event).await?;
        tx.commit().await?;
        self.release(number).await.map(|(release, _)| release)
    }

    /// Publishes release `to`'s version again, as the next release.
    pub async fn rollback(
        &self,
        to: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<ReleaseRow, LifecycleError> {
        let mut tx = self.store.begin().await?;
        let head = tx.admin().lock_head().await?.ok_or(LifecycleError::NotFound("release"))?;
        let target = tx.admin().release(to).await?.ok_or(LifecycleError::NotFound("release"))?;
        if target.version == head.version {
            return Err(LifecycleError::Conflict(format!(
                "release {to} is what customers already see (release {})",
                head.number
            )));
        }
        let sources = tx
            .admin()
            .flow_version(&target.version)
            .await?
            .ok_or(LifecycleError::NotFound("flow version"))?;
        // Compiled against today's actions: a version whose actions are gone cannot come back.
        if let (report, None) = self.compile(&from_json(&sources)?) {
            return Err(LifecycleError::DoesNotCompile(report));
        }
        let number = head.number + 1;
        let release = NewRelease {
            number,
            version: &target.version,
            kind: "rollback",
            draft_id: None,
            rollback_of: Some(to),
            by,
            now,
        };
        if !tx.admin().insert_release(&release).await? {
            return Err(LifecycleError::Conflict(
                "another publication happened at the same time: try again".into(),
            ));
        }
        let event = audit(
            by,
            "flow.rolled_back",
            &format!("release:{number}"),
            now,
            json!({
                "to_release": to,
                "before": { "release": head.number, "version": head.version },
                "after": { "release": number, "version": target.version },
            }),
        );
        tx.append_audit(&event).await?;
        tx.commit().await?;
        self.release(number).await.map(|(release, _)| release)
    }
}

/// The draft, if open and still at `revision`.
pub(crate) async fn open_draft(
    tx: &mut dyn SqlTx,
    id: i64,
    revision: i64,
) -> Result<DraftRow, LifecycleError> {
    let draft = tx.admin().draft(id).await?.ok_or(LifecycleError::NotFound("draft"))?;
    if draft.state != "open" {
        return Err(LifecycleError::Conflict(format!("this draft is {}, not open", draft.state)));
    }
    if draft.revision != revision {
        return Err(changed_meanwhile());
    }
    Ok(draft)
}

pub(crate) fn changed_meanwhile() -> LifecycleError {
    LifecycleError::Conflict(
        "the draft changed since you opened it: reload it and apply your change again".into(),
    )
}

pub(crate) fn audit(
    actor: &str,
    action: &str,
    subject: &str,
    now: DateTime<Utc>,
    detail: serde_json::Value,
) -> NewAuditEvent {
    NewAuditEvent::new(actor, action, subject, now, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain_yaml_names() {
        for good in ["transfer.yaml", "loan_2.yaml"] {
            assert!(checked_file_name(good).is_ok(), "{good}");
        }
        for bad in ["../x.yaml", "X.yaml", ".yaml", "a.yml", "a b.yaml", "a/b.yaml", ""] {
            assert!(checked_file_name(bad).is_err(), "{bad}");
        }
    }
}
