//! Admin accounts, login and sessions.
//!
//! - Login is email + password (argon2id, through the shared [`crate::hashing::Hasher`], no
//!   connection held meanwhile) + a TOTP code (each code once). Every failure answers the same
//!   401. `ADMIN_LOGIN_MAX_FAILURES` failures to one account from one client address lock that
//!   address out of that account for `ADMIN_LOCKOUT_SECS`, so a stranger cannot lock a real
//!   admin out; unknown emails are counted alike, so the lock reveals nothing. Attempts per
//!   client address are limited across instances by a KV counter.
//! - A session is a random token; the KV keeps only its SHA-256, with the admin's id, their
//!   session epoch and a CSRF token, for `ADMIN_SESSION_SECS`. The console gets it as an
//!   httpOnly, `SameSite=Strict` cookie (`Secure` behind TLS) and never sees it; API clients ask
//!   for it as a bearer token instead.
//! - Every request re-reads the admin: a role change applies at once, and a logout, a reset or
//!   disabling the account (each raises the epoch) ends all of the admin's sessions on every
//!   instance.
//! - A cookie-authenticated request that changes anything must carry `X-CSRF-Token` (given at
//!   login and by `/admin/api/me`), and a cross-site `Origin` is refused outright.

use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::store_error;
use crate::admin::{Capability, Role, totp_for};
use crate::http::limit::ClientAddress;
use crate::http::{ApiError, AppState};
use crate::store::{AdminRow, NewAuditEvent};

/// The console's session cookie.
pub const COOKIE: &str = "teller_admin";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
const SESSION_PREFIX: &str = "admin_session:";

/// A session as the KV keeps it (under the token's hash).
#[derive(Debug, Serialize, Deserialize)]
struct StoredSession {
    admin_id: i64,
    epoch: i64,
    csrf: String,
    bearer: bool,
    expires_at: DateTime<Utc>,
}

/// The signed-in admin behind a request. Extracting it authenticates the request (401), and
/// for a cookie session that changes anything, checks CSRF (403).
#[derive(Debug, Clone)]
pub struct AdminSession {
    /// The admin's id.
    pub id: i64,
    /// Their email.
    pub email: String,
    /// Their role, as stored now.
    pub role: Role,
    /// The session's CSRF token.
    pub csrf: String,
    /// Whether the session is a bearer token (else the console's cookie).
    pub bearer: bool,
    token_hash: String,
}

impl AdminSession {
    /// Refuses (403) unless the admin's role allows `capability`.
    pub fn require(&self, capability: Capability) -> Result<(), ApiError> {
        if self.role.can(capability) {
            Ok(())
        } else {
            tracing::warn!(
                admin = self.id,
                role = self.role.name(),
                ?capability,
                "an admin was refused an action"
            );
            Err(ApiError::Forbidden)
        }
    }

    /// How the audit trail names this admin.
    pub fn actor(&self) -> String {
        format!("admin:{}", self.id)
    }

    /// An audit event by this admin.
    pub fn event(&self, action: &str, subject: &str, now: DateTime<Utc>, mut detail: Value) -> NewAuditEvent {
        if let Value::Object(map) = &mut detail {
            map.insert("admin_email".into(), json!(self.email));
        }
        NewAuditEvent {
            occurred_at: now,
            actor: self.actor(),
            action: action.to_owned(),
            subject: subject.to_owned(),
            detail,
        }
    }
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (token, bearer) = match bearer_token(&parts.headers) {
            Some(token) => (token, true),
            None => (cookie(&parts.headers, COOKIE).ok_or(ApiError::Unauthorized)?, false),
        };
        let token_hash = hash_token(&token);
        let Some(raw) = state.kv.get(&format!("{SESSION_PREFIX}{token_hash}")).await.map_err(kv_error)?
        else {
            return Err(ApiError::Unauthorized);
        };
        let stored: StoredSession = serde_json::from_slice(&raw).map_err(|_| ApiError::Unauthorized)?;
        if stored.bearer != bearer || stored.expires_at <= state.clock.now() {
            return Err(ApiError::Unauthorized);
        }
        let admin = admin_by_id(state, stored.admin_id).await?.ok_or(ApiError::Unauthorized)?;
        if admin.session_epoch != stored.epoch || admin.disabled_at.is_some() {
            return Err(ApiError::Unauthorized);
        }
        let role = Role::parse(&admin.role).ok_or(ApiError::Forbidden)?;
        if !bearer && changes_state(&parts.method) {
            check_csrf(&parts.headers, &stored.csrf)?;
        }
        Ok(AdminSession { id: admin.id, email: admin.email, role, csrf: stored.csrf, bearer, token_hash })
    }
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A cookie request that changes state: same-origin and carrying the session's CSRF token.
fn check_csrf(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split("://").nth(1).unwrap_or("");
        if origin_host != host {
            tracing::warn!(origin, "a cross-site admin request was refused");
            return Err(ApiError::Forbidden);
        }
    }
    let given = headers.get(CSRF_HEADER).map(HeaderValue::as_bytes).unwrap_or_default();
    if given.is_empty() || !bool::from(given.ct_eq(expected.as_bytes())) {
        tracing::warn!("an admin request without a valid CSRF token was refused");
        return Err(ApiError::Forbidden);
    }
    Ok(())
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn kv_error(err: crate::kv::KvError) -> ApiError {
    ApiError::Unavailable(err.into())
}

async fn admin_by_id(state: &AppState, id: i64) -> Result<Option<AdminRow>, ApiError> {
    let mut tx = state.store.begin().await.map_err(store_error)?;
    tx.admin().admin_by_id(id).await.map_err(store_error)
}

/// The login, logout and "who am I" routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/login", post(login))
        .route("/admin/api/logout", post(logout))
        .route("/admin/api/me", get(me))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
    code: String,
    /// `cookie` (the console, default) or `bearer` (API clients).
    #[serde(default)]
    session: Option<String>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login").field("email", &self.email).finish_non_exhaustive()
    }
}

async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Json(login): Json<Login>,
) -> Result<Response, ApiError> {
    let bearer = match login.session.as_deref() {
        None | Some("cookie") => false,
        Some("bearer") => true,
        Some(_) => return Err(ApiError::BadRequest("session is cookie or bearer".into())),
    };
    limit_per_address(&state, &address).await?;
    let now = state.clock.now();
    let email = login.email.trim().to_lowercase();
    // Failures are counted per account and address, whether or not the account exists: a
    // stranger who guesses locks out only their own address, and learns nothing from it.
    let failures = failures_key(&email, &address);
    let failed_before = state.kv.get(&failures).await.map_err(kv_error)?;
    if failed_before.as_deref().and_then(|f| std::str::from_utf8(f).ok()?.parse::<i32>().ok())
        >= Some(state.config.admin.max_failures)
    {
        tracing::warn!("a login from an address locked out of that account was refused");
        return Err(ApiError::Unauthorized);
    }
    // Read, then let go of the connection: nothing is held while the password is hashed.
    let admin = admin_by_email(&state, &email).await?;
    // A disabled account, or one waiting for its setup link, cannot sign in.
    let usable = admin.as_ref().is_some_and(|a| a.disabled_at.is_none() && a.is_set_up());
    let hash = match &admin {
        Some(admin) if usable => admin.password_hash.clone(),
        _ => DUMMY_HASH.to_owned(),
    };
    // An unknown email costs the same check, so timing does not tell which emails exist.
    let password_ok = state.hasher.matches(login.password, hash).await.map_err(hash_error)?;
    let admin = match admin {
        Some(admin)
            if usable && password_ok && code_matches(&state, &admin, login.code.trim(), now).await? =>
        {
            admin
        }
        admin => return Err(failed(&state, admin.as_ref(), &failures, &address, now).await),
    };
    state.kv.delete(&failures).await.map_err(kv_error)?;
    let mut tx = state.store.begin().await.map_err(store_error)?;
    tx.admin().admin_logged_in(admin.id, now).await.map_err(store_error)?;
    let session = if bearer { "bearer" } else { "cookie" };
    let detail = json!({ "session": session, "address": address });
    tx.append_audit(&account_event(&admin, "admin.login", now, detail)).await.map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    start_session(&state, &admin, bearer, behind_tls(&headers), now).await
}

/// The KV counter of failed logins to the account `email` from `address` (the email hashed,
/// so the key's length is bounded whatever was typed).
fn failures_key(email: &str, address: &str) -> String {
    format!("admin_login_failures:{}:{address}", &hash_token(email)[..32])
}

/// The admin with `email`, read in a unit of work of its own.
async fn admin_by_email(state: &AppState, email: &str) -> Result<Option<AdminRow>, ApiError> {
    let mut tx = state.store.begin().await.map_err(store_error)?;
    let admin = tx.admin().admin_by_email(email).await.map_err(store_error)?;
    tx.rollback().await.map_err(store_error)?;
    Ok(admin)
}

/// A hash that could not be checked now: 503 with `Retry-After`, so the client tries again.
fn hash_error(err: crate::hashing::HashError) -> ApiError {
    match err {
        crate::hashing::HashError::Busy => ApiError::Overloaded,
        other => ApiError::Internal(other.into()),
    }
}

/// Counts a failed login from `address` (locking that address out of the account at the
/// limit, for `ADMIN_LOCKOUT_SECS`) and audits it when the account exists; the answer is the
/// same 401 whatever went wrong.
async fn failed(
    state: &AppState,
    admin: Option<&AdminRow>,
    failures: &str,
    address: &str,
    now: DateTime<Utc>,
) -> ApiError {
    let recorded = async {
        let count = state.kv.increment(failures, 1, state.config.admin.lockout).await?;
        let locked = count >= i64::from(state.config.admin.max_failures);
        if let Some(admin) = admin {
            let action = if locked { "admin.locked" } else { "admin.login_failed" };
            let detail = json!({ "address": address, "failures_from_address": count, "locked_out": locked });
            let mut tx = state.store.begin().await?;
            tx.append_audit(&account_event(admin, action, now, detail)).await?;
            tx.commit().await?;
            tracing::warn!(admin = admin.id, locked, "an admin login failed");
        }
        Ok::<(), anyhow::Error>(())
    };
    match recorded.await {
        Ok(()) => ApiError::Unauthorized,
        Err(err) if crate::store::is_outage(&err) => ApiError::Unavailable(err),
        Err(err) => ApiError::Internal(err),
    }
}

/// An audit event about an admin's own account (they are its actor and its subject).
fn account_event(admin: &AdminRow, action: &str, now: DateTime<Utc>, mut detail: Value) -> NewAuditEvent {
    detail["admin_email"] = json!(admin.email);
    NewAuditEvent {
        occurred_at: now,
        actor: format!("admin:{}", admin.id),
        action: action.into(),
        subject: format!("admin:{}", admin.id),
        detail,
    }
}

/// Keeps a new session for `admin` in the KV and hands it out: a bearer token in the body, or
/// the console's cookie with the CSRF token in the body.
async fn start_session(
    state: &AppState,
    admin: &AdminRow,
    bearer: bool,
    tls: bool,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let token = hex::encode(crate::bank::secrets::random_bytes::<32>());
    let csrf = hex::encode(crate::bank::secrets::random_bytes::<16>());
    let ttl = state.config.admin.session;
    let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or_default();
    let stored = StoredSession {
        admin_id: admin.id,
        epoch: admin.session_epoch,
        csrf: csrf.clone(),
        bearer,
        expires_at,
    };
    let key = format!("{SESSION_PREFIX}{}", hash_token(&token));
    let value = serde_json::to_vec(&stored).map_err(anyhow::Error::from)?;
    state.kv.set(&key, &value, ttl).await.map_err(kv_error)?;
    tracing::info!(admin = admin.id, bearer, "an admin logged in");
    let role = Role::parse(&admin.role).ok_or(ApiError::Forbidden)?;
    let mut body = json!({
        "admin": { "id": admin.id, "email": admin.email, "role": role, "capabilities": role.capabilities(),
                   "timezone": state.config.bank.timezone },
        "expires_at": expires_at,
    });
    if bearer {
        body["token"] = json!(token);
        return Ok(Json(body).into_response());
    }
    body["csrf_token"] = json!(csrf);
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&token, ttl, tls));
    Ok(response)
}

/// A valid hash of nothing anyone knows, to spend the same time on an unknown email.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8Cq0bVrAsJ3GPQR3vmR0cZxKv3pCl7xzT0rS3Xl4Jm8";

/// Whether `code` is the admin's TOTP code now (or one step either side), never used before.
async fn code_matches(
    state: &AppState,
    admin: &AdminRow,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    if admin.totp_secret.is_empty() {
        return Ok(false); // reset: the link enrols a new one
    }
    let secret = state
        .sealing
        .open(&admin.totp_secret, &crate::sealed::admin_totp(admin.id))
        .map_err(|e| ApiError::Internal(e.into()))?;
    let totp = totp_for(&secret, &admin.email, &state.config.bank.name)?;
    let at = u64::try_from(now.timestamp()).unwrap_or(0);
    if !totp.check(code, at) {
        return Ok(false);
    }
    let used = format!("admin_totp_used:{}:{code}", admin.id);
    state.kv.set_if_absent(&used, b"1", Duration::from_secs(120)).await.map_err(kv_error)
}

/// A second check before a change that must be the signed-in admin themselves (unfreezing a
/// customer): a fresh code from their authenticator, never used before.
pub(super) async fn second_check(
    state: &AppState,
    session: &AdminSession,
    code: &str,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(super::store_error)?;
    let admin = tx.admin().admin_by_id(session.id).await.map_err(super::store_error)?;
    tx.rollback().await.map_err(super::store_error)?;
    let Some(admin) = admin else { return Err(ApiError::Unauthorized) };
    if code_matches(state, &admin, code.trim(), now).await? {
        Ok(())
    } else {
        Err(ApiError::Unprocessable {
            message: "that authenticator code is not right (or was used already): enter the current one"
                .into(),
            details: json!({}),
        })
    }
}

/// Counts a login attempt from the client's address; 429 past the limit for this minute.
pub(super) async fn limit_per_address(state: &AppState, address: &str) -> Result<(), ApiError> {
    let minute = state.clock.now().timestamp() / 60;
    let key = format!("admin_login_ip:{address}:{minute}");
    let count = state.kv.increment(&key, 1, Duration::from_secs(120)).await.map_err(kv_error)?;
    if count > state.config.admin.logins_per_ip_per_minute {
        return Err(ApiError::TooManyRequests(
            "too many login attempts from this address: wait a minute".into(),
        ));
    }
    Ok(())
}

/// Whether the client reached us over TLS (App Platform terminates it and says so).
pub fn behind_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

fn session_cookie(token: &str, ttl: Duration, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        ttl.as_secs()
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("teller_admin=; Max-Age=0"))
}

/// Ends every session of the admin, on every instance.
async fn logout(State(state): State<AppState>, session: AdminSession) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(store_error)?;
    tx.admin().end_admin_sessions(session.id).await.map_err(store_error)?;
    tx.append_audit(&session.event("admin.logout", &session.actor(), now, json!({})))
        .await
        .map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    state.kv.delete(&format!("{SESSION_PREFIX}{}", session.token_hash)).await.map_err(kv_error)?;
    let mut response = Json(json!({ "ended": "every session of this admin" })).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("teller_admin=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

async fn me(State(state): State<AppState>, session: AdminSession) -> Json<Value> {
    Json(json!({
        "id": session.id,
        "email": session.email,
        "role": session.role,
        "capabilities": session.role.capabilities(),
        // Times are shown in the bank's zone, named, whatever the admin's computer says.
        "timezone": state.config.bank.timezone,
        "csrf_token": if session.bearer { Value::Null } else { json!(session.csrf) },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_allow_what_the_issue_says_and_nothing_more() {
        assert!(Role::Viewer.can(Capability::Read));
        assert!(!Role::Viewer.can(Capability::Publish) && !Role::Viewer.can(Capability::EditDrafts));
        assert!(Role::Editor.can(Capability::EditDrafts) && !Role::Editor.can(Capability::Publish));
        assert!(!Role::Editor.can(Capability::SupportCustomers));
        assert!(
            Role::Publisher.can(Capability::Publish) && !Role::Publisher.can(Capability::SupportCustomers)
        );
        assert!(
            Role::Operator.can(Capability::SupportCustomers) && !Role::Operator.can(Capability::EditDrafts)
        );
        assert_eq!(Role::parse("publisher"), Some(Role::Publisher));
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn cookies_and_bearer_tokens_are_read_from_their_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; teller_admin=abc; b=2"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer tok"));
        assert_eq!(cookie(&headers, COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
        assert_eq!(bearer_token(&headers).as_deref(), Some("tok"));
    }

    #[test]
    fn a_state_change_without_the_csrf_token_or_from_another_site_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("bank.example"));
        assert!(check_csrf(&headers, "t0k").is_err());
        headers.insert(CSRF_HEADER, HeaderValue::from_static("t0k"));
        assert!(check_csrf(&headers, "t0k").is_ok());
        assert!(check_csrf(&headers, "other").is_err());
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(check_csrf(&headers, "t0k").is_err());
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://bank.example"));
        assert!(check_csrf(&headers, "t0k").is_ok());
    }

    #[test]
    fn the_dummy_hash_is_a_valid_argon2_hash() {
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
