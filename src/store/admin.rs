//! The admin console's part of the store: admin accounts, flow releases and drafts.
//!
//! Like the bank's, the SQL is written once in the common dialect and implemented once for
//! both adapters, generically over `backend::Backend` (admin_sql.rs).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// An admin account as stored. Its secrets (`password_hash`, `totp_secret`) never leave the
/// admin module; `Debug` leaves them out.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AdminRow {
    /// Internal id.
    pub id: i64,
    /// Login name, lower case.
    pub email: String,
    /// `owner`, `viewer`, `editor`, `publisher`, `operator` or `agent`.
    pub role: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Base32 TOTP secret.
    pub totp_secret: String,
    /// Failed logins since the last success or lock.
    pub failed_logins: i32,
    /// Until when logins are refused.
    pub locked_until: Option<DateTime<Utc>>,
    /// Raised by a logout: sessions from an older epoch are over.
    pub session_epoch: i64,
    /// The last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
    /// When an owner disabled it: it cannot sign in and has no sessions.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl AdminRow {
    /// Whether the account was set up (an invitation not yet accepted has no password).
    pub fn is_set_up(&self) -> bool {
        !self.password_hash.is_empty()
    }
}

impl std::fmt::Debug for AdminRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminRow")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("locked_until", &self.locked_until)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

/// A published flow version.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ReleaseRow {
    /// 1, 2, 3 … in order of publication.
    pub number: i64,
    /// The content hash of its sources (in `flow_versions`).
    pub version: String,
    /// `baseline` (from `flows/` on first start), `draft` or `rollback`.
    pub kind: String,
    /// The draft it was published from.
    pub draft_id: Option<i64>,
    /// The release a rollback republished.
    pub rollback_of: Option<i64>,
    /// Who published it (`admin:<id>`, `system:baseline`).
    pub published_by: String,
    /// When.
    pub published_at: DateTime<Utc>,
}

/// A draft set of flow files.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DraftRow {
    /// Its id.
    pub id: i64,
    /// What it is for, in the author's words.
    pub title: String,
    /// Its files: a JSON array of `{"file", "text"}`.
    pub sources: String,
    /// The release it started from.
    pub base_release: i64,
    /// `open`, `published` or `discarded`.
    pub state: String,
    /// Rises with every edit.
    pub revision: i64,
    /// The release it became, once published.
    pub release: Option<i64>,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Who changed it last.
    pub updated_by: String,
    /// When.
    pub updated_at: DateTime<Utc>,
    /// Who approved it last (`admin:<id>`), for four eyes on money flows.
    pub approved_by: Option<String>,
    /// The revision they approved: an approval covers nothing edited after it.
    pub approved_revision: Option<i64>,
    /// When.
    pub approved_at: Option<DateTime<Utc>>,
}

/// A draft to create.
#[derive(Debug, Clone)]
pub struct NewDraft<'a> {
    /// Its title.
    pub title: &'a str,
    /// Its files, as JSON.
    pub sources: &'a str,
    /// The release it starts from.
    pub base_release: i64,
    /// For a draft made from `flows/`: that content's hash (proposed once).
    pub files_version: Option<&'a str>,
    /// Who makes it.
    pub by: &'a str,
    /// When.
    pub now: DateTime<Utc>,
}

/// A release to record.
#[derive(Debug, Clone)]
pub struct NewRelease<'a> {
    /// Its number: the head's plus one.
    pub number: i64,
    /// The content hash (already in `flow_versions`).
    pub version: &'a str,
    /// `baseline`, `draft` or `rollback`.
    pub kind: &'a str,
    /// The draft published.
    pub draft_id: Option<i64>,
    /// The release republished.
    pub rollback_of: Option<i64>,
    /// Who.
    pub by: &'a str,
    /// When.
    pub now: DateTime<Utc>,
}

/// A sealed secret and the row it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SealedSecret {
    /// The row's id.
    pub id: i64,
    /// The secret as kept.
    pub secret: String,
}

/// A link that sets an admin's account up (`invite`), or resets its `password` or
/// `authenticator`.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SetupRow {
    /// The SHA-256 of the link's token.
    pub token_hash: String,
    /// Whose account.
    pub admin_id: i64,
    /// `invite`, `password` or `authenticator`.
    pub kind: String,
    /// The authenticator secret it enrols (sealed), for `invite` and `authenticator`.
    pub totp_secret: Option<String>,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used (or replaced by a newer link).
    pub used_at: Option<DateTime<Utc>>,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for SetupRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupRow")
            .field("admin_id", &self.admin_id)
            .field("kind", &self.kind)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The admin console's part of a unit of work.
#[async_trait]
pub trait AdminTx: Send {
    /// Creates an admin; `None` when the email is taken.
    async fn create_admin(
        &mut self,
        email: &str,
        role: &str,
        password_hash: &str,
        totp_secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError>;

    /// Replaces the admin's authenticator secret (as sealed).
    async fn set_admin_totp(&mut self, id: i64, totp_secret: &str) -> Result<(), StoreError>;

    /// Every admin's authenticator secret, as kept.
    async fn admin_totp_secrets(&mut self) -> Result<Vec<SealedSecret>, StoreError>;

    /// The admin with this (lower-case) email.
    async fn admin_by_email(&mut self, email: &str) -> Result<Option<AdminRow>, StoreError>;

    /// The admin with this id.
    async fn admin_by_id(&mut self, id: i64) -> Result<Option<AdminRow>, StoreError>;

    /// Records a successful login: failures forgotten, lock lifted.
    async fn admin_logged_in(&mut self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Ends every session of the admin (raises their epoch).
    async fn end_admin_sessions(&mut self, id: i64) -> Result<(), StoreError>;

    /// Every admin, in order of creation.
    async fn admins(&mut self) -> Result<Vec<AdminRow>, StoreError>;

    /// Gives the admin `role`.
    async fn set_admin_role(&mut self, id: i64, role: &str) -> Result<(), StoreError>;

    /// Disables the admin at `at` (and ends their sessions), or enables them with `None`.
    async fn set_admin_disabled(&mut self, id: i64, at: Option<DateTime<Utc>>) -> Result<(), StoreError>;

    /// Replaces the admin's password hash (empty: no password until a setup link sets one).
    async fn set_admin_password(&mut self, id: i64, password_hash: &str) -> Result<(), StoreError>;

    /// How many owners can sign in (set up, not disabled), every owner's row locked for the
    /// rest of the unit of work.
    async fn active_owners(&mut self) -> Result<i64, StoreError>;

    /// Records a setup link, retiring the admin's older unused ones at `setup.created_at`.
    async fn insert_admin_setup(&mut self, setup: &SetupRow) -> Result<(), StoreError>;

    /// The setup link with this token hash.
    async fn admin_setup(&mut self, token_hash: &str) -> Result<Option<SetupRow>, StoreError>;

    /// Marks an unused setup link used; false when it was used already.
    async fn use_admin_setup(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// The setup links not used yet (for rotation).
    async fn open_admin_setups(&mut self) -> Result<Vec<SetupRow>, StoreError>;

    /// Replaces a setup link's authenticator secret (as sealed).
    async fn set_setup_totp(&mut self, token_hash: &str, totp_secret: &str) -> Result<(), StoreError>;

    /// The newest release, under a lock that serialises publishers (PostgreSQL; SQLite's
    /// writer lock does the same).
    async fn lock_head(&mut self) -> Result<Option<ReleaseRow>, StoreError>;

    /// Every release, newest first.
    async fn releases(&mut self) -> Result<Vec<ReleaseRow>, StoreError>;

    /// One release.
    async fn release(&mut self, number: i64) -> Result<Option<ReleaseRow>, StoreError>;

    /// Records a release unless its number is taken; true when recorded.
    async fn insert_release(&mut self, release: &NewRelease<'_>) -> Result<bool, StoreError>;

    /// Creates a draft; `None` when one with the same `files_version` exists.
    async fn create_draft(&mut self, draft: &NewDraft<'_>) -> Result<Option<i64>, StoreError>;

    /// One draft.
    async fn draft(&mut self, id: i64) -> Result<Option<DraftRow>, StoreError>;

    /// Drafts, newest first; only open ones unless `all`.
    async fn drafts(&mut self, all: bool) -> Result<Vec<DraftRow>, StoreError>;

    /// Replaces an open draft's files if it is still at `revision`; false otherwise.
    async fn update_draft(
        &mut self,
        id: i64,
        revision: i64,
        sources: &str,
        base_release: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Closes an open draft as `published` (with its release) or `discarded`; false when it was
    /// not open.
    async fn close_draft(
        &mut self,
        id: i64,
        state: &str,
        release: Option<i64>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records `by`'s approval of open draft `id` at `revision`; false when the draft is not open
    /// or is at another revision.
    async fn approve_draft(
        &mut self,
        id: i64,
        revision: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Keeps flow sources by content hash; a version kept already is left as it is.
    async fn save_flow_version(
        &mut self,
        version: &str,
        sources: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The sources kept for `version`.
    async fn flow_version(&mut self, version: &str) -> Result<Option<String>, StoreError>;

    /// Audit events, newest first, older than `before` (an id) when given.
    async fn audit_page(
        &mut self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<super::AuditEvent>, StoreError>;
}

/// The columns of [`AdminRow`].
macro_rules! admin_columns {
    () => {
        "id, email, role, password_hash, totp_secret, failed_logins, locked_until, session_epoch,
         last_login_at, created_at, disabled_at"
    };
}

/// The columns of [`ReleaseRow`].
macro_rules! release_columns {
    () => {
        "number, version, kind, draft_id, rollback_of, published_by, published_at"
    };
}

/// The columns of [`DraftRow`].
macro_rules! draft_columns {
    () => {
        "id, title, sources, base_release, state, revision, release, created_by, created_at, updated_by,
         updated_at, approved_by, approved_revision, approved_at"
    };
}

/// The columns of [`SetupRow`].
macro_rules! setup_columns {
    () => {
        "token_hash, admin_id, kind, totp_secret, expires_at, used_at, created_by, created_at"
    };
}

pub(crate) use {admin_columns, draft_columns, release_columns, setup_columns};
