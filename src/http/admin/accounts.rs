//! `/admin/api/admins` and `/admin/api/setup`: owners run the admin accounts
//! ([`crate::admin::accounts`] does the work), and the person a setup link is for sets their
//! password and authenticator without being signed in.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{AdminSession, limit_per_address};
use crate::admin::Capability;
use crate::admin::accounts::{self, AccountError, Actor, Reset, SetupAnswer};
use crate::http::limit::ClientAddress;
use crate::http::{ApiError, AppState};

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/admins", get(list).post(invite))
        .route("/admin/api/admins/{id}/role", put(change_role))
        .route("/admin/api/admins/{id}/disable", post(disable))
        .route("/admin/api/admins/{id}/enable", post(enable))
        .route("/admin/api/admins/{id}/reset", post(reset))
        .route("/admin/api/setup", post(setup_view))
        .route("/admin/api/setup/complete", post(complete_setup))
}

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::NotFound => ApiError::NotFound,
            AccountError::Invalid(message) => ApiError::Unprocessable { message, details: json!({}) },
            AccountError::Conflict(message) => ApiError::Conflict(message),
            AccountError::Store(err) => super::store_error(err),
            AccountError::Unexpected(err) => ApiError::Internal(err),
        }
    }
}

fn actor(session: &AdminSession) -> Actor {
    Actor { admin: Some(session.id), name: session.actor(), email: Some(session.email.clone()) }
}

async fn list(State(state): State<AppState>, session: AdminSession) -> Result<Json<Value>, ApiError> {
    session.require(Capability::ManageAdmins)?;
    let admins = accounts::list(state.store.as_ref()).await?;
    Ok(Json(json!({ "admins": admins })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Invite {
    email: String,
    role: String,
}

async fn invite(
    State(state): State<AppState>,
    session: AdminSession,
    Json(invite): Json<Invite>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    session.require(Capability::ManageAdmins)?;
    let now = state.clock.now();
    let (admin, link) = accounts::invite(
        state.store.as_ref(),
        &state.sealing,
        &actor(&session),
        &invite.email,
        &invite.role,
        now,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "admin": admin, "setup": link }))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleChange {
    role: String,
}

async fn change_role(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    Json(change): Json<RoleChange>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::ManageAdmins)?;
    let now = state.clock.now();
    let admin = accounts::change_role(state.store.as_ref(), &actor(&session), id, &change.role, now).await?;
    Ok(Json(json!({ "admin": admin })))
}

async fn disable(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    set_disabled(state, session, id, true).await
}

async fn enable(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    set_disabled(state, session, id, false).await
}

async fn set_disabled(
    state: AppState,
    session: AdminSession,
    id: i64,
    disabled: bool,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::ManageAdmins)?;
    let now = state.clock.now();
    let admin = accounts::set_disabled(state.store.as_ref(), &actor(&session), id, disabled, now).await?;
    Ok(Json(json!({ "admin": admin })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    /// `password` or `authenticator`.
    what: String,
}

async fn reset(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    Json(request): Json<ResetRequest>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::ManageAdmins)?;
    let what = Reset::parse(&request.what)
        .ok_or_else(|| ApiError::BadRequest("what is password or authenticator".into()))?;
    let now = state.clock.now();
    let link = accounts::reset(state.store.as_ref(), &state.sealing, &actor(&session), id, what, now).await?;
    Ok(Json(json!({ "setup": link })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetupToken {
    token: String,
}

/// What a setup link asks for. Not signed in: the token is the credential, and attempts are
/// limited per client address like logins.
async fn setup_view(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Json(request): Json<SetupToken>,
) -> Result<Json<Value>, ApiError> {
    limit_per_address(&state, &address).await?;
    let now = state.clock.now();
    let view = accounts::setup_view(
        state.store.as_ref(),
        &state.sealing,
        &state.config.bank.name,
        &request.token,
        now,
    )
    .await
    .map_err(expired)?;
    Ok(Json(json!({ "setup": view })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetupDone {
    token: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    code: String,
}

impl std::fmt::Debug for SetupDone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupDone").finish_non_exhaustive()
    }
}

async fn complete_setup(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Json(done): Json<SetupDone>,
) -> Result<Json<Value>, ApiError> {
    limit_per_address(&state, &address).await?;
    let now = state.clock.now();
    let answer = SetupAnswer { token: done.token, password: done.password, code: done.code };
    let bank = &state.config.bank.name;
    let admin =
        accounts::complete_setup(state.store.as_ref(), &state.sealing, &state.hasher, bank, answer, now)
            .await
            .map_err(expired)?;
    Ok(Json(json!({ "admin": admin, "next": "sign in with your email, your new password and a code" })))
}

/// An unknown, used, replaced or expired link, said the same way whichever it is.
fn expired(err: AccountError) -> ApiError {
    match err {
        AccountError::NotFound => {
            ApiError::Gone("this link has expired or was used already: ask an owner for a new one".into())
        }
        other => other.into(),
    }
}
