//! Chatting with a draft before any customer sees it.
//!
//! The preview runs the draft through the same engine and actions as customers, against a
//! bank of its own: a private SQLite file (deleted when teller stops), an in-memory KV and the
//! simulated rail. So an admin can register, check a balance or try a transfer end to end,
//! and nothing touches real customers, real money, WhatsApp or the payment rail. The bank is
//! made on first use and shared by this instance's previews; each admin chats from a phone
//! number of their own. Once registered, that test customer can be given money (through the
//! same credit path as the payment provider's) and an older account, so an admin can try a
//! loan, whose rules ask for both.
//!
//! Imports: the bank, conversations and releases (use cases beside it), the ports and leaves.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::bank::{Bank, Callback};
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

/// The longest an admin may age a test account: ten years.
pub const MAX_AGE_DAYS: u32 = 3_650;

/// What became of a change to an admin's test customer.
#[derive(Debug)]
pub enum Tested {
    /// Done: what was done, in words, and the customer's balance and account age after.
    Done(Value),
    /// The test customer has not opened an account in the preview yet.
    NotRegistered,
    /// Refused, in words safe to show.
    Refused(String),
}

/// The preview bank and its stores.
struct World {
    sqlite: Arc<SqliteStore>,
    store: Arc<dyn SqlStore>,
    kv: Arc<dyn Kv>,
    bank: Arc<Bank>,
    /// What the preview's sessions seal identity numbers with: the world's own, as its bank's.
    sealing: Arc<crate::sealed::Keys>,
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
    /// The preview bank, once a preview has made it: for checks of its books.
    pub fn bank(&self) -> Option<Arc<Bank>> {
        self.world.get().map(|w| w.bank.clone())
    }

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
                let sqlite = Arc::new(SqliteStore::connect(&database).await?);
                let store: Arc<dyn SqlStore> = sqlite.clone();
                store.migrate().await.context("cannot prepare the preview bank")?;
                let kv: Arc<dyn Kv> = Arc::new(MemoryKv::new(PREVIEW_KEYS));
                let mut config = setting.config.clone();
                // The preview never reaches a real rail, provider or biller.
                config.payment_rail_url = None;
                config.paystack = None;
                config.biller_url = None;
                let wake = Arc::new(crate::wake::Wake::default());
                let bank = crate::bank::setup::open(&config, &store, &kv, &wake, setting.clock)
                    .await?
                    .with_hasher(setting.hasher.clone());
                let sealing = Arc::new(crate::sealed::Keys::ephemeral());
                let bank = Arc::new(bank);
                Ok::<World, anyhow::Error>(World { sqlite, store, kv, bank, sealing, file })
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
                .with_customers(world.bank.clone())
                .with_sealing(world.sealing.clone());
        let phone = test_phone(setting, admin);
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

    /// Adds `amount` (as a customer writes it: "50000", "₦50,000") to admin `admin`'s test
    /// customer, through the bank's credit path: the same limits, posting and notice.
    pub async fn fund(&self, setting: &Setting<'_>, admin: i64, amount: &str) -> anyhow::Result<Tested> {
        let world = self.world(setting).await?;
        let currency = world.bank.currency().to_owned();
        let minor = match crate::money::parse_amount_in(amount, &currency) {
            Ok(minor) => minor,
            Err(e) => return Ok(Tested::Refused(format!("{amount:?} was not added: {e}."))),
        };
        let phone = test_phone(setting, admin);
        let reference = format!("PREVIEW-{}", uuid::Uuid::new_v4().simple());
        let said = crate::money::format_money(minor, &currency);
        match world.bank.credit(&reference, &phone, minor, &currency, "Preview").await? {
            Callback::Applied | Callback::Duplicate => {
                test_customer(world, setting, &phone, format!("Added {said}.")).await
            }
            Callback::Unknown => Ok(Tested::NotRegistered),
            Callback::Refused => Ok(Tested::Refused(format!(
                "{said} would take the test customer above their tier's maximum balance."
            ))),
        }
    }

    /// Makes admin `admin`'s test customer's account `days` old, as if opened that many days ago.
    pub async fn age(&self, setting: &Setting<'_>, admin: i64, days: u32) -> anyhow::Result<Tested> {
        if days > MAX_AGE_DAYS {
            return Ok(Tested::Refused(format!("An account can be made at most {MAX_AGE_DAYS} days old.")));
        }
        let world = self.world(setting).await?;
        let phone = test_phone(setting, admin);
        let Some(customer) = world.bank.customer(&crate::phone::customer_key(&phone)).await? else {
            return Ok(Tested::NotRegistered);
        };
        let opened = setting.clock.now() - chrono::Duration::days(i64::from(days));
        world.sqlite.backdate_customer(customer.id, opened).await?;
        test_customer(world, setting, &phone, format!("The account is now {days} days old.")).await
    }
}

/// The WhatsApp number admin `admin`'s test customer chats from.
fn test_phone(setting: &Setting<'_>, admin: i64) -> String {
    format!("{}9{:08}", setting.config.bank.country_code, admin.rem_euclid(100_000_000))
}

/// The test customer behind `phone` as the console shows them, after `done`.
async fn test_customer(
    world: &World,
    setting: &Setting<'_>,
    phone: &str,
    done: String,
) -> anyhow::Result<Tested> {
    let key = crate::phone::customer_key(phone);
    let (Some(customer), Ok((balance, account))) =
        (world.bank.customer(&key).await?, world.bank.balance(&key).await?)
    else {
        return Ok(Tested::NotRegistered);
    };
    let zone: chrono_tz::Tz = setting.config.bank.timezone.parse().unwrap_or(chrono_tz::UTC);
    let now = setting.clock.now();
    let opened = customer.created_at.with_timezone(&zone).date_naive();
    let age = (now.with_timezone(&zone).date_naive() - opened).num_days();
    Ok(Tested::Done(json!({
        "done": done,
        "phone": phone,
        "account": account,
        "balance": crate::money::format_money(balance.available, world.bank.currency()),
        "opened_on": opened.to_string(),
        "age_days": age,
    })))
}
