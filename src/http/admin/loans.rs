//! The loan book for admins: what is lent, owed, late and earned, whether the ledger agrees,
//! the decisions and offers of the last 30 days, and the products in force. No customer is
//! named: who owes what is the operators' customer view.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::auth::AdminSession;
use crate::admin::Capability;
use crate::http::ApiError;
use crate::http::AppState;

/// The route `/admin/api/loans`.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/api/loans", get(book))
}

async fn book(State(state): State<AppState>, session: AdminSession) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let book = state.bank.loan_book().await.map_err(ApiError::Internal)?;
    let products: Vec<Value> = state
        .bank
        .loan_rules()
        .products
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.name,
                "tiers": p.tiers,
                "min": p.min,
                "max": p.max,
                "every": p.every.code(),
                "tenors": p.tenors,
                "fee": { "flat": p.fee.flat, "percent": p.fee.percent.normalize().to_string() },
                "interest_percent": p.interest_percent.normalize().to_string(),
                "late_fee": { "flat": p.late_fee.flat, "percent": p.late_fee.percent.normalize().to_string() },
                "grace_days": p.grace_days,
            })
        })
        .collect();
    let mut body = serde_json::to_value(&book).map_err(|e| ApiError::Internal(e.into()))?;
    body["catalogue"] = Value::Array(products);
    Ok(Json(body))
}
