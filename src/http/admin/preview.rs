//! `POST /admin/api/drafts/{id}/preview`: one message to a draft, as the admin's preview
//! customer ([`crate::admin::preview`] does the work).

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::AdminSession;
use crate::admin::Capability;
use crate::admin::preview::{Said, Setting};
use crate::flows::engine::Event;
use crate::http::{ApiError, AppState};
use crate::releases::{self, Releases};

/// The preview route.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/api/drafts/{id}/preview", post(preview))
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
