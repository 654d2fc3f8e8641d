//! The WhatsApp account's health for admins: each template's review status and quality, and
//! each number's quality rating and messaging limit, as Meta last reported them, with what
//! each means for sending.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::auth::AdminSession;
use super::store_error;
use crate::admin::Capability;
use crate::http::ApiError;
use crate::http::AppState;
use crate::whatsapp::account::sendable;

/// The route `/admin/api/whatsapp`.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/api/whatsapp", get(health))
}

async fn health(State(state): State<AppState>, session: AdminSession) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let mut tx = state.store.begin().await.map_err(store_error)?;
    let templates = tx.whatsapp().templates().await.map_err(store_error)?;
    let numbers = tx.whatsapp().numbers().await.map_err(store_error)?;
    tx.rollback().await.map_err(store_error)?;
    let templates: Vec<Value> = templates
        .into_iter()
        .map(|t| {
            let mut row = serde_json::to_value(&t).unwrap_or_default();
            row["sending"] = json!(if sendable(&t.status) { "sent" } else { "held until approved" });
            row
        })
        .collect();
    Ok(Json(json!({ "templates": templates, "numbers": numbers })))
}
