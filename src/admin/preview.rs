//! Chatting with a draft before any customer sees it.
//!
//! The preview runs the draft through the same engine and actions as customers, against a
//! bank of its own: a private SQLite file (deleted when teller stops), an in-memory KV and the
//! simulated rail. So an admin can register, check a balance or try a transfer end to end,
//! and nothing touches real customers, real money, WhatsApp or the payment rail. The bank is
//! made on first use and shared by this instance's previews; each admin chats from a phone
//! number of their own.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::auth::{AdminSession, Capability};
use crate::app::AppState;
use crate::bank::Bank;
use crate::config::{DatabaseConfig, SqlBackend};
use crate::conversation::{Conversations, Settings};
use crate::flows::engine::Event;
use crate::http::ApiError;
use crate::kv::Kv;
use crate::kv::memory::MemoryKv;
use crate::releases::{self, Releases};
use crate::store::SqlStore;
use crate::store::sqlite::SqliteStore;

/// Keys the preview KV may hold.
const PREVIEW_KEYS: usize = 100_000;

/// This instance's preview bank, made on first use.
#[derive(Default)]
pub struct Previews {
    world: OnceCell<World>,
}

/// The preview bank and its stores.
struct World {
    store: Arc<dyn SqlStore>,
    kv: Arc<dyn Kv>,
    bank: Arc<Bank>,
    file: PathBuf,
}

impl Drop for World {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.file.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Previews {
    async fn world(&self, state: &AppState) -> anyhow::Result<&World> {
        self.world
            .get_or_try_init(|| async {
                let file = std::env::temp_dir().join(format!(
                    "teller-preview-{}-{}.db",
                    std::process::id(),
                    uuid::Uuid::new_v4().simple()
                ));
                let database = DatabaseConfig {
                    url: SecretString::from(format!("sqlite://{}", file.display())),
                    backend: SqlBackend::Sqlite,
                    max_connections: 2,
                };
                let store: Arc<dyn SqlStore> = Arc::new(SqliteStore::connect(&database).await?);
                store.migrate().await.context("cannot prepare the preview bank")?;
                let kv: Arc<dyn Kv> = Arc::new(MemoryKv::new(PREVIEW_KEYS));
                let mut config = (*state.config).clone();
                // The preview never reaches the real rail.
                config.payment_rail_url = None;
                let wake = Arc::new(tokio::sync::Notify::new());
                let bank = crate::app::open_bank(&config, &store, &kv, &wake, &state.clock)
                    .await?
                    .with_hasher(state.hasher.clone());
                Ok::<World, anyhow::Error>(World { store, kv, bank: Arc::new(bank), file })
            })
            .await
    }
}

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
    let world = state.previews.world(&state).await?;
    let catalogue = crate::bank::actions::register(crate::flows::actions::standard(), &world.bank);
    let (report, bundle) = crate::flows::compile(&releases::as_paths(&files), &catalogue);
    let Some(bundle) = bundle else {
        return Err(ApiError::Unprocessable {
            message: "the draft has errors: fix them to try it".into(),
            details: json!({ "diagnostics": releases::diagnostics(&report) }),
        });
    };
    // Sessions pin the draft's version: keep its sources where the preview looks them up.
    world
        .store
        .save_flow_version(&bundle.version, &releases::to_json(&files)?, state.clock.now())
        .await
        .map_err(internal)?;
    let settings = Settings {
        currency: state.config.bank.currency.clone(),
        country_code: state.config.bank.country_code.clone(),
        default_language: state.config.bank.default_language.clone(),
    };
    let conversations =
        Conversations::new(bundle, catalogue, world.kv.clone(), world.store.clone(), settings)
            .with_customers(world.bank.clone());
    let phone = format!("{}9{:08}", state.config.bank.country_code, session.id.rem_euclid(100_000_000));
    let key = format!("wa:{phone}");
    if say.reset {
        world.kv.delete(&format!("{}{key}", crate::conversation::SESSION_PREFIX)).await.map_err(internal)?;
    }
    let Some(event) = event else {
        return Ok(Json(json!({ "replies": [], "session": null, "phone": phone })));
    };
    let message_id = format!("wamid.preview.{}", uuid::Uuid::new_v4().simple());
    let replies = conversations.converse(&key, &phone, &message_id, event, state.clock.now()).await?;
    // What the bank sent on its own (a one-time code, a notice) goes through its outbox.
    let notices = world.store.outbox_for_recipient(&key).await.map_err(internal)?;
    let replies: Vec<Value> = replies.iter().map(|r| r.to_body()).collect();
    let notices: Vec<Value> =
        notices.iter().rev().take(5).map(|m| json!({ "id": m.id, "body": m.body.0 })).collect();
    let record = conversations.record(&key).await?;
    Ok(Json(json!({
        "replies": replies,
        "notices": notices,
        "session": record.map(|r| conversations.describe(&r.session)),
        "phone": phone,
    })))
}

/// A failure of the preview's own stores: a bug here, not an outage.
fn internal(err: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(err.into())
}
