//! `/admin/api/drafts/{id}/texts`: a draft's texts for people who do not write YAML
//! ([`crate::releases::texts`] does the work): listed by flow and step, tried (limit, new
//! compiler findings, a preview), and saved as an edit of the file.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::AdminSession;
use super::flows::lifecycle;
use crate::admin::Capability;
use crate::flows::template::RenderContext;
use crate::http::{ApiError, AppState};
use crate::locale::LANGUAGES;
use crate::releases;
use crate::releases::texts::TextEdit;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/drafts/{id}/texts", get(list).put(save))
        .route("/admin/api/drafts/{id}/texts/try", post(try_text))
}

async fn list(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let (revision, texts) = lifecycle(&state).texts(id).await?;
    // The languages no native speaker on the bank's staff has reviewed yet, by name.
    let unreviewed: Vec<&str> = LANGUAGES
        .iter()
        .filter_map(|l| crate::locale::about(l).filter(|a| !a.reviewed).map(|a| a.name.as_str()))
        .collect();
    Ok(Json(
        json!({ "revision": revision, "languages": LANGUAGES, "unreviewed": unreviewed, "texts": texts }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    #[serde(default)]
    revision: Option<i64>,
    file: String,
    at: String,
    language: String,
    text: String,
}

impl Edit {
    fn edit(&self) -> TextEdit<'_> {
        TextEdit { file: &self.file, at: &self.at, language: &self.language, text: &self.text }
    }
}

/// What saving would do: the length against the limit, what the compiler would newly find,
/// and a preview. Nothing changes.
async fn try_text(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    Json(edit): Json<Edit>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let bank = &state.config.bank;
    let context = RenderContext {
        currency: &bank.currency,
        country_code: &bank.country_code,
        language: &edit.language,
    };
    let trial = lifecycle(&state).try_text(id, &edit.edit(), context).await?;
    Ok(Json(json!({ "trial": trial })))
}

/// Writes one text into the draft at the revision given.
async fn save(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    Json(edit): Json<Edit>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::EditDrafts)?;
    let revision = edit.revision.ok_or_else(|| ApiError::BadRequest("revision is required".into()))?;
    let lifecycle = lifecycle(&state);
    let (revision, files) =
        lifecycle.edit_text(id, revision, &edit.edit(), &session.actor(), state.clock.now()).await?;
    let (report, _) = lifecycle.compile(&files);
    Ok(Json(json!({
        "revision": revision,
        "valid": !report.has_errors(),
        "diagnostics": releases::diagnostics(&report),
    })))
}
