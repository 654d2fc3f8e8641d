//! Admin accounts run by the bank's own people: an owner invites admins, changes their roles,
//! disables and enables accounts, and resets a password or an authenticator. The console and
//! `teller admin …` both come here; every change is audited in the unit of work that makes it.
//!
//! - An invitation or a reset is a **setup link** (`/admin/#/setup/<token>`), good for
//!   [`SETUP_TTL`]. Only the token's SHA-256 is kept. The person it is for chooses a password
//!   and, for an invitation or an authenticator reset, enrols the authenticator secret the link
//!   carries (sealed at rest) by typing a code from it. A newer link replaces an older one.
//! - A reset takes effect at once: the old password or authenticator stops working and every
//!   session of the account ends, before anyone opens the link.
//! - Disabling an account ends its sessions at once, on every instance (the epoch rises).
//! - There is always an owner who can sign in: the last one cannot be disabled, demoted or
//!   reset from the console, and nobody changes their own account there.
//!
//! Imports: the store (port), the sealing and hashing leaves, and the roles.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::create::MIN_PASSWORD;
use super::roles::{Role, totp_for};
use crate::bank::secrets;
use crate::hashing::Hasher;
use crate::sealed::{Keys, admin_totp};
use crate::store::{AdminRow, NewAuditEvent, SetupRow, SqlStore, SqlTx, StoreError};

/// How long a setup link works.
pub const SETUP_TTL: Duration = Duration::hours(72);

/// Who is acting: an admin in the console, or the command line.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The admin's id, when it is one (the command line has none).
    pub admin: Option<i64>,
    /// How the audit trail names them (`admin:<id>`, `system:cli`).
    pub name: String,
    /// Their email, for the audit trail.
    pub email: Option<String>,
}

impl Actor {
    /// The command line (`teller admin …`), which may change any account.
    pub fn cli() -> Actor {
        Actor { admin: None, name: "system:cli".into(), email: None }
    }

    fn event(
        &self,
        action: &str,
        subject: &AdminRow,
        now: DateTime<Utc>,
        mut detail: Value,
    ) -> NewAuditEvent {
        detail["email"] = json!(subject.email);
        if let Some(email) = &self.email {
            detail["admin_email"] = json!(email);
        }
        NewAuditEvent::new(&self.name, action, &format!("admin:{}", subject.id), now, detail)
    }
}

/// Why an account change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// No such admin (or setup link).
    #[error("no such admin")]
    NotFound,
    /// The request is wrong, in words safe to show.
    #[error("{0}")]
    Invalid(String),
    /// Not allowed now, in words safe to show.
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// What a reset replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reset {
    /// The password: the account has none until the link sets one.
    Password,
    /// The authenticator: the old one stops working; the link enrols a new one.
    Authenticator,
}

impl Reset {
    /// `password` or `authenticator`.
    pub fn parse(name: &str) -> Option<Reset> {
        match name {
            "password" => Some(Reset::Password),
            "authenticator" => Some(Reset::Authenticator),
            _ => None,
        }
    }

    /// `password` or `authenticator`, as links and messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Reset::Password => "password",
            Reset::Authenticator => "authenticator",
        }
    }
}

/// A setup link made now. The token is shown once, to be handed to the person it is for.
#[derive(Debug, Clone, Serialize)]
pub struct SetupLink {
    /// The token, in the link's fragment (never sent to a server in a URL).
    pub token: String,
    /// The console path that opens it.
    pub path: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// An admin as the Admins page shows them.
#[derive(Debug, Clone, Serialize)]
pub struct AdminView {
    /// Id.
    pub id: i64,
    /// Email.
    pub email: String,
    /// Role.
    pub role: String,
    /// `active`, `invited` (not set up yet), `reset` (waiting for a new password or
    /// authenticator) or `disabled`.
    pub status: &'static str,
    /// The last login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
    /// When it was disabled.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl AdminView {
    /// `row` for the page.
    pub fn of(row: &AdminRow) -> AdminView {
        let status = if row.disabled_at.is_some() {
            "disabled"
        } else if row.last_login_at.is_none() && !row.is_set_up() {
            "invited"
        } else if !row.is_set_up() || row.totp_secret.is_empty() {
            "reset"
        } else {
            "active"
        };
        AdminView {
            id: row.id,
            email: row.email.clone(),
            role: row.role.clone(),
            status,
            last_login_at: row.last_login_at,
            created_at: row.created_at,
            disabled_at: row.disabled_at,
        }
    }
}

/// Every admin.
pub async fn list(store: &dyn SqlStore) -> Result<Vec<AdminView>, AccountError> {
    let mut tx = store.begin().await?;
    let admins = tx.admin().admins().await?;
    tx.rollback().await?;
    Ok(admins.iter().map(AdminView::of).collect())
}

/// The admin with `email` (lower-cased).
pub async fn by_email(store: &dyn SqlStore, email: &str) -> Result<AdminView, AccountError> {
    let mut tx = store.begin().await?;
    let admin = tx.admin().admin_by_email(&email.trim().to_lowercase()).await?;
    tx.rollback().await?;
    admin.as_ref().map(AdminView::of).ok_or(AccountError::NotFound)
}

/// Invites `email` as `role`: the account exists at once, without a password or authenticator,
/// and the link sets both.
pub async fn invite(
    store: &dyn SqlStore,
    keys: &Keys,
    actor: &Actor,
    email: &str,
    role: &str,
    now: DateTime<Utc>,
) -> Result<(AdminView, SetupLink), AccountError> {
    let email = email.trim().to_lowercase();
    if !super::create::email_looks_valid(&email) {
        return Err(AccountError::Invalid(format!("{email:?} is not an email address")));
    }
    let role = parse_role(role)?;
    let mut tx = store.begin().await?;
    let Some(id) = tx.admin().create_admin(&email, role.name(), "", "", now).await? else {
        return Err(AccountError::Conflict(format!("{email} has an account already")));
    };
    let admin = tx.admin().admin_by_id(id).await?.ok_or(AccountError::NotFound)?;
    let link = new_link(tx.as_mut(), keys, &admin, "invite", actor, now).await?;
    let detail = json!({ "after": { "role": role.name() }, "expires_at": link.expires_at });
    tx.append_audit(&actor.event("admin.invited", &admin, now, detail)).await?;
    tx.commit().await?;
    Ok((AdminView::of(&admin), link))
}

/// Gives admin `id` the role `role`.
pub async fn change_role(
    store: &dyn SqlStore,
    actor: &Actor,
    id: i64,
    role: &str,
    now: DateTime<Utc>,
) -> Result<AdminView, AccountError> {
    let role = parse_role(role)?;
    let mut tx = store.begin().await?;
    let mut admin = someone_else(tx.as_mut(), actor, id).await?;
    if admin.role == role.name() {
        return Ok(AdminView::of(&admin));
    }
    if admin.role == Role::Owner.name() {
        keep_an_owner(tx.as_mut(), &admin, "another role").await?;
    }
    tx.admin().set_admin_role(id, role.name()).await?;
    let detail = json!({ "before": { "role": admin.role }, "after": { "role": role.name() } });
    tx.append_audit(&actor.event("admin.role_changed", &admin, now, detail)).await?;
    tx.commit().await?;
    role.name().clone_into(&mut admin.role);
    Ok(AdminView::of(&admin))
}

/// Disables admin `id` (their sessions end at once, on every instance), or enables them.
pub async fn set_disabled(
    store: &dyn SqlStore,
    actor: &Actor,
    id: i64,
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<AdminView, AccountError> {
    let mut tx = store.begin().await?;
    let mut admin = someone_else(tx.as_mut(), actor, id).await?;
    if admin.disabled_at.is_some() == disabled {
        return Ok(AdminView::of(&admin));
    }
    if disabled && admin.role == Role::Owner.name() {
        keep_an_owner(tx.as_mut(), &admin, "disabled").await?;
    }
    let at = disabled.then_some(now);
    tx.admin().set_admin_disabled(id, at).await?;
    let action = if disabled { "admin.disabled" } else { "admin.enabled" };
    tx.append_audit(&actor.event(action, &admin, now, json!({ "sessions_ended": disabled }))).await?;
    tx.commit().await?;
    admin.disabled_at = at;
    Ok(AdminView::of(&admin))
}

/// Resets admin `id`'s password or authenticator: the old one stops working and their sessions
/// end now; the link sets the new one.
pub async fn reset(
    store: &dyn SqlStore,
    keys: &Keys,
    actor: &Actor,
    id: i64,
    what: Reset,
    now: DateTime<Utc>,
) -> Result<SetupLink, AccountError> {
    let mut tx = store.begin().await?;
    let admin = someone_else(tx.as_mut(), actor, id).await?;
    if admin.disabled_at.is_some() {
        return Err(AccountError::Conflict(format!("{} is disabled: enable the account first", admin.email)));
    }
    if admin.role == Role::Owner.name() {
        keep_an_owner(tx.as_mut(), &admin, "reset").await?;
    }
    match what {
        Reset::Password => tx.admin().set_admin_password(id, "").await?,
        Reset::Authenticator => tx.admin().set_admin_totp(id, "").await?,
    }
    tx.admin().end_admin_sessions(id).await?;
    // An invitation not yet accepted stays one: its link sets both.
    let kind = if AdminView::of(&admin).status == "invited" { "invite" } else { what.name() };
    let link = new_link(tx.as_mut(), keys, &admin, kind, actor, now).await?;
    let detail = json!({ "reset": what, "expires_at": link.expires_at, "sessions_ended": true });
    tx.append_audit(&actor.event("admin.reset", &admin, now, detail)).await?;
    tx.commit().await?;
    Ok(link)
}

/// What a setup link asks of the person who opens it.
#[derive(Debug, Clone, Serialize)]
pub struct SetupView {
    /// Whose account.
    pub email: String,
    /// `invite`, `password` or `authenticator`.
    pub kind: String,
    /// Whether a password is to be chosen.
    pub needs_password: bool,
    /// The `otpauth://` URI to enrol, when an authenticator is.
    pub otpauth_uri: Option<String>,
    /// The same secret in base32, for typing in by hand.
    pub secret: Option<String>,
    /// The URI as a QR code: rows of `1` (dark) and `0` (light), for the console to draw.
    pub qr: Option<Vec<String>>,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

/// What the link with `token` asks for; `NotFound` when it is unknown, used, replaced or
/// expired, or the account is disabled (all alike, to say nothing about other links).
pub async fn setup_view(
    store: &dyn SqlStore,
    keys: &Keys,
    bank: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<SetupView, AccountError> {
    let (setup, admin, secret) = pending(store, keys, token, now).await?;
    let otpauth_uri = match &secret {
        Some(secret) => Some(totp_for(secret, &admin.email, bank)?.get_url()),
        None => None,
    };
    let qr = otpauth_uri.as_deref().map(super::create::qr_rows).transpose()?;
    Ok(SetupView {
        qr,
        email: admin.email,
        needs_password: setup.kind != "authenticator",
        kind: setup.kind,
        otpauth_uri,
        secret,
        expires_at: setup.expires_at,
    })
}

/// The open link with `token`, its account, and the authenticator secret it enrols (opened).
async fn pending(
    store: &dyn SqlStore,
    keys: &Keys,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(SetupRow, AdminRow, Option<String>), AccountError> {
    let mut tx = store.begin().await?;
    let (setup, admin) = open_link(tx.as_mut(), token, now).await?;
    tx.rollback().await?;
    let secret = match &setup.totp_secret {
        Some(sealed) => Some(keys.open(sealed, &admin_totp(admin.id)).map_err(anyhow::Error::from)?),
        None => None,
    };
    Ok((setup, admin, secret))
}

/// What the person with a setup link answers.
pub struct SetupAnswer {
    /// The link's token.
    pub token: String,
    /// The password chosen, when the link asks for one.
    pub password: Option<String>,
    /// The code from the authenticator just enrolled, when it enrols one.
    pub code: String,
}

/// Completes a setup link with `answer`: the link is spent, the password and authenticator set,
/// and any session of the account ended.
pub async fn complete_setup(
    store: &dyn SqlStore,
    keys: &Keys,
    hasher: &Hasher,
    bank: &str,
    answer: SetupAnswer,
    now: DateTime<Utc>,
) -> Result<AdminView, AccountError> {
    let SetupAnswer { token, password, code } = answer;
    let token = token.as_str();
    // The link as setup_view reads it, without drawing a QR code no one will see.
    let (link, holder, secret) = pending(store, keys, token, now).await?;
    let hash = if link.kind != "authenticator" {
        let password = password.unwrap_or_default();
        if password.chars().count() < MIN_PASSWORD {
            return Err(AccountError::Invalid(format!(
                "choose a password of at least {MIN_PASSWORD} characters"
            )));
        }
        if password.trim().eq_ignore_ascii_case(&holder.email) {
            return Err(AccountError::Invalid("choose a password that is not your email".into()));
        }
        Some(hasher.hash(password).await.map_err(anyhow::Error::from)?)
    } else {
        None
    };
    if let Some(secret) = &secret {
        let at = u64::try_from(now.timestamp()).unwrap_or(0);
        if !totp_for(secret, &holder.email, bank)?.check(code.trim(), at) {
            return Err(AccountError::Invalid(
                "that code is not the one your authenticator app shows now: scan the code again and type the six digits"
                    .into(),
            ));
        }
    }
    let mut tx = store.begin().await?;
    let (setup, admin) = open_link(tx.as_mut(), token, now).await?;
    if !tx.admin().use_admin_setup(&setup.token_hash, now).await? {
        return Err(AccountError::NotFound);
    }
    if let Some(hash) = &hash {
        tx.admin().set_admin_password(admin.id, hash).await?;
    }
    if let Some(sealed) = &setup.totp_secret {
        tx.admin().set_admin_totp(admin.id, sealed).await?;
    }
    tx.admin().end_admin_sessions(admin.id).await?;
    let by_self = Actor { admin: Some(admin.id), name: format!("admin:{}", admin.id), email: None };
    let detail = json!({ "kind": setup.kind, "set_by": setup.created_by });
    tx.append_audit(&by_self.event("admin.setup_completed", &admin, now, detail)).await?;
    let admin = tx.admin().admin_by_id(admin.id).await?.ok_or(AccountError::NotFound)?;
    tx.commit().await?;
    Ok(AdminView::of(&admin))
}

fn parse_role(name: &str) -> Result<Role, AccountError> {
    Role::parse(name.trim()).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
        AccountError::Invalid(format!("{name:?} is not a role; use one of {}", names.join(", ")))
    })
}

/// Admin `id`, who must not be the actor: nobody locks themselves out from the console.
async fn someone_else(tx: &mut dyn SqlTx, actor: &Actor, id: i64) -> Result<AdminRow, AccountError> {
    if actor.admin == Some(id) {
        return Err(AccountError::Conflict(
            "you cannot change your own account here: ask another owner, or use `teller admin`".into(),
        ));
    }
    tx.admin().admin_by_id(id).await?.ok_or(AccountError::NotFound)
}

/// Refuses when `owner` is the last owner who can sign in.
async fn keep_an_owner(tx: &mut dyn SqlTx, owner: &AdminRow, change: &str) -> Result<(), AccountError> {
    let usable = owner.disabled_at.is_none() && owner.is_set_up();
    if usable && tx.admin().active_owners().await? <= 1 {
        return Err(AccountError::Conflict(format!(
            "{} is the last owner who can sign in and cannot be {change}: make another owner first",
            owner.email
        )));
    }
    Ok(())
}

async fn new_link(
    tx: &mut dyn SqlTx,
    keys: &Keys,
    admin: &AdminRow,
    kind: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<SetupLink, AccountError> {
    let token = hex::encode(secrets::random_bytes::<32>());
    let totp_secret = (kind != "password").then(|| {
        let secret = totp_rs::Secret::Raw(secrets::random_bytes::<20>().to_vec()).to_encoded().to_string();
        keys.seal(&secret, &admin_totp(admin.id))
    });
    let setup = SetupRow {
        token_hash: token_hash(&token),
        admin_id: admin.id,
        kind: kind.into(),
        totp_secret,
        expires_at: now + SETUP_TTL,
        used_at: None,
        created_by: actor.name.clone(),
        created_at: now,
    };
    tx.admin().insert_admin_setup(&setup).await?;
    Ok(SetupLink { path: format!("/admin/#/setup/{token}"), token, expires_at: setup.expires_at })
}

/// The unused, unexpired link with `token` and its account, if that account is not disabled.
async fn open_link(
    tx: &mut dyn SqlTx,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(SetupRow, AdminRow), AccountError> {
    let token = token.trim();
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AccountError::NotFound);
    }
    let setup = tx.admin().admin_setup(&token_hash(token)).await?.ok_or(AccountError::NotFound)?;
    if setup.used_at.is_some() || setup.expires_at <= now {
        return Err(AccountError::NotFound);
    }
    let admin = tx.admin().admin_by_id(setup.admin_id).await?.ok_or(AccountError::NotFound)?;
    if admin.disabled_at.is_some() {
        return Err(AccountError::NotFound);
    }
    Ok((setup, admin))
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
