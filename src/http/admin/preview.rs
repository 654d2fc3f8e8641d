//! `POST /admin/api/drafts/{id}/preview`: one message to a draft, as the admin's preview
//! customer; `POST /admin/api/preview/credit` and `/admin/api/preview/age`: money for that test
//! customer and an older account, to try a loan ([`crate::admin::preview`] does the work).

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::AdminSession;
use crate::admin::Capability;
use crate::admin::preview::{Said, Setting, Tested};
use crate::flows::engine::Event;
use crate::http::{ApiError, AppState};
use crate::releases::{self, Releases};

/// The preview route.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/drafts/{id}/preview", post(preview))
        .route("/admin/api/preview/credit", post(credit))
        .route("/admin/api/preview/age", post(age))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Say {
    /// Typed text.
    #[serde(default)]
    text: Option<String>,
    /// A tapped button or list row.
    #[serde(default)]
    reply: Option<Tapped>,
    /// Start over: forget this admin's preview session first.
    #[serde(default)]
    reset: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tapped {
    id: String,
    title: String,
}

/// Sends one message to draft `id` as this admin's preview customer; answers the replies
/// (as the Graph API would receive them) and the session after.
async fn preview(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    Json(say): Json<Say>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let event = match (say.text, say.reply) {
        (Some(text), None) if !text.trim().is_empty() && text.len() <= 4096 => Some(Event::Text(text)),
        (None, Some(tapped)) => Some(Event::Choice { id: tapped.id, title: tapped.title }),
        (None, None) if say.reset => None,
        _ => return Err(ApiError::BadRequest("send text (1 to 4096 characters) or a reply".into())),
    };
    let lifecycle = Releases::new(state.store.as_ref(), state.conversations.catalogue());
    let (_, files) = lifecycle.draft(id).await?;
    let setting = Setting { config: &state.config, clock: &state.clock, hasher: &state.hasher };
    match state
        .previews
        .say(&setting, &files, session.id, event, say.reset)
        .await
        .map_err(ApiError::Internal)?
    {
        Said::Answered(answer) => Ok(Json(answer)),
        Said::DoesNotCompile(report) => Err(ApiError::Unprocessable {
            message: "the draft has errors: fix them to try it".into(),
            details: json!({ "diagnostics": releases::diagnostics(&report) }),
        }),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Credit {
    /// As a customer writes it: "50000", "₦50,000".
    amount: String,
}

/// Adds money to this admin's test customer in the preview bank.
async fn credit(
    State(state): State<AppState>,
    session: AdminSession,
    Json(credit): Json<Credit>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    if credit.amount.chars().count() > 40 {
        return Err(ApiError::BadRequest("amount: at most 40 characters".into()));
    }
    let setting = Setting { config: &state.config, clock: &state.clock, hasher: &state.hasher };
    let tested =
        state.previews.fund(&setting, session.id, &credit.amount).await.map_err(ApiError::Internal)?;
    answer(tested)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Age {
    /// How many days ago the account was opened.
    days: u32,
}

/// Makes this admin's test customer's account `days` old.
async fn age(
    State(state): State<AppState>,
    session: AdminSession,
    Json(age): Json<Age>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let setting = Setting { config: &state.config, clock: &state.clock, hasher: &state.hasher };
    answer(state.previews.age(&setting, session.id, age.days).await.map_err(ApiError::Internal)?)
}

fn answer(tested: Tested) -> Result<Json<Value>, ApiError> {
    match tested {
        Tested::Done(customer) => Ok(Json(customer)),
        Tested::NotRegistered => Err(ApiError::Conflict(
            "The test customer has no account yet: open one by chatting with a draft first.".into(),
        )),
        Tested::Refused(why) => Err(ApiError::Unprocessable { message: why, details: json!({}) }),
    }
}
