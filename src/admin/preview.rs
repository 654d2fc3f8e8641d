//! Chatting with a draft before any customer sees it.
//!
//! The preview runs the draft through the same engine and actions as customers, against a
//! bank of its own: a private SQLite file (deleted when teller stops), an in-memory KV and the
//! simulated rail. So an admin can register, check a balance or try a transfer end to end,
//! and nothing touches real customers, real money, WhatsApp or the payment rail. The bank is
//! made on first use and shared by this instance's previews; each admin chats from a phone
//! number of their own.
//!
//! Imports: the bank, conversations and releases (use cases beside it), the ports and leaves.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::bank::Bank;
use crate::clock::Clock;
use crate::config::{Config, DatabaseConfig, SqlBackend};
use crate::conversation::{Conversations, Settings};
use crate::flows::Report;
use crate::flows::engine::Event;
use crate::hashing::Hasher;
use crate::kv::Kv;
use crate::kv::memory::MemoryKv;
use crate::releases::{self, Files};
use crate::store::SqlStore;
use crate::store::sqlite::SqliteStore;

/// Keys the preview KV may hold.
const PREVIEW_KEYS: usize = 100_000;

/// This instance's preview bank, made on first use.
#[derive(Default)]
pub struct Previews {
    world: OnceCell<World>,
}

/// What the preview bank is made from: the running app's settings, time and hasher.
pub struct Setting<'a> {
    /// The configuration (its rail is never used: the preview has the simulated one).
    pub config: &'a Config,
    /// The time.
    pub clock: &'a Arc<dyn Clock>,
    /// Where PIN checks run.
    pub hasher: &'a Arc<Hasher>,
}

/// What a preview message got.
#[derive(Debug)]
pub enum Said {
    /// The replies (as the Graph API would receive them), the bank's notices and the session.
    Answered(Value),
    /// The draft does not compile.
    DoesNotCompile(Report),
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
    async fn world(&self, setting: &Setting<'_>) -> anyhow::Result<&World> {
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
                let mut config = setting.config.clone();
                // The preview never reaches the real rail.
                config.payment_rail_url = None;
                let wake = Arc::new(tokio::sync::Notify::new());
                let bank = crate::bank::setup::open(&config, &store, &kv, &wake, setting.clock)
                    .await?
                    .with_hasher(setting.hasher.clone());
                Ok::<World, anyhow::Error>(World { store, kv, bank: Arc::new(bank), file })
            })
            .await
    }

    /// Sends `event` to the draft made of `files` as admin `admin`'s preview customer; with
    /// `reset`, forgets that customer's session first (and with no event, only that).
    pub async fn say(
        &self,
        setting: &Setting<'_>,
        files: &Files,
        admin: i64,
        event: Option<Event>,
        reset: bool,
    ) -> anyhow::Result<Said> {
        let world = self.world(setting).await?;
        let catalogue = crate::bank::actions::register(crate::bank::actions::declared(), &world.bank);
        let (report, bundle) = crate::flows::compile(&releases::as_paths(files), &catalogue);
        let Some(bundle) = bundle else { return Ok(Said::DoesNotCompile(report)) };
        // Sessions pin the draft's version: keep its sources where the preview looks them up.
        world
            .store
            .save_flow_version(&bundle.version, &releases::to_json(files)?, setting.clock.now())
            .await?;
        let bank = &setting.config.bank;
        let settings = Settings {
            currency: bank.currency.clone(),
            country_code: bank.country_code.clone(),
            default_language: bank.default_language.clone(),
            bank_name: bank.name.clone(),
        };
        let conversations =
            Conversations::new(bundle, catalogue, world.kv.clone(), world.store.clone(), settings)
                .with_customers(world.bank.clone());
        let phone = format!("{}9{:08}", bank.country_code, admin.rem_euclid(100_000_000));
        let key = crate::phone::customer_key(&phone);
        if reset {
            world.kv.delete(&format!("{}{key}", crate::conversation::SESSION_PREFIX)).await?;
        }
        let Some(event) = event else {
            return Ok(Said::Answered(json!({ "replies": [], "session": null, "phone": phone })));
        };
        let message_id = format!("wamid.preview.{}", uuid::Uuid::new_v4().simple());
        let replies = conversations.converse(&key, &phone, &message_id, event, setting.clock.now()).await?;
        // What the bank sent on its own (a one-time code, a notice) goes through its outbox.
        let notices = world.store.outbox_for_recipient(&key).await?;
        let replies: Vec<Value> = replies.iter().map(|r| r.to_body()).collect();
        let notices: Vec<Value> =
            notices.iter().rev().take(5).map(|m| json!({ "id": m.id, "body": m.body.0 })).collect();
        let record = conversations.record(&key).await?;
        Ok(Said::Answered(json!({
            "replies": replies,
            "notices": notices,
            "session": record.map(|r| conversations.describe(&r.session)),
            "phone": phone,
        })))
    }
}
