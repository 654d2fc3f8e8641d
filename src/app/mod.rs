//! The application wired: configuration turned into running adapters, the HTTP state, and
//! the processes (`serve`, `teller worker`). Only `main`/`cli` import it.
//!
//! Imports: anything; only `main` and `cli/` import it.

mod customers;
mod worker;

pub use worker::run_worker;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::bank;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, SqlBackend};
use crate::conversation::{Conversations, Settings};
use crate::dispatch::{self, Dispatcher};

use crate::conversation::Forms;
use crate::hashing::Hasher;
use crate::http::AppState;
use crate::http::limit::PerAddress;
use crate::http::state::Shared;
use crate::kv;
use crate::metrics::Metrics;
use crate::nlu::Reader;
use crate::outbox::Sender;
use crate::shutdown;
use crate::store;
use crate::wake::Wake;
use crate::whatsapp::flow_crypto::FlowsKey;
use crate::whatsapp::graph::{GraphApi, Sandbox, Transport};
use crate::whatsapp::intake::Intake;
use secrecy::ExposeSecret;

/// Connects both stores and settles the schema.
///
/// On SQLite (the embedded default) this applies pending migrations itself, since there is no
/// separate deploy step on a laptop. On PostgreSQL it only checks: production migrates in its
/// pre-deploy job, and a web instance that found the schema behind would rather refuse to start
/// than serve against tables it does not expect.
pub async fn connect(config: Config) -> anyhow::Result<AppState> {
    let store = store::connect(&config.database).await.context("cannot open the SQL store")?;
    if store.backend() == SqlBackend::Sqlite {
        let applied = store.migrate().await.context("cannot migrate the SQLite database")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied migrations");
        }
    } else {
        let status = store.schema_status().await.context("cannot read the schema version")?;
        status.ensure_current()?;
        if !status.unknown.is_empty() {
            tracing::warn!(unknown = ?status.unknown, "the database has migrations newer than this binary");
        }
    }
    let sealing = Arc::new(config.secrets_keys()?);
    let kv = kv::connect(&config.kv).context("cannot open the KV store")?;
    let transport: Arc<dyn Transport> = match GraphApi::from_config(&config.whatsapp)? {
        Some(graph) => Arc::new(graph),
        None => Arc::new(Sandbox),
    };
    let outbox_wake = Arc::new(Wake::default());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let hasher = Arc::new(hasher(&config));
    let bank = Arc::new(
        bank::setup::open(&config, &store, &kv, &outbox_wake, &clock)
            .await?
            .with_hasher(hasher.clone())
            .with_sealing(sealing.clone()),
    );
    let settings = Settings {
        currency: config.bank.currency.clone(),
        country_code: config.bank.country_code.clone(),
        default_language: config.bank.default_language.clone(),
        bank_name: config.bank.name.clone(),
    };
    let catalogue = bank::actions::register(crate::bank::actions::declared(), &bank);
    let metrics = Arc::new(Metrics::new());
    let reader = Reader::from_config(&config.openai, &config.whatsapp)?.counting_into(metrics.nlu.clone());
    tracing::info!(
        model = reader.model().is_some(),
        voice = reader.voice().is_some(),
        "free text is read by the rules{}",
        if reader.model().is_some() { ", and by the model when they are unsure" } else { " alone" }
    );
    let conversations =
        Conversations::load(&config.flows_dir, catalogue, kv.clone(), store.clone(), settings)
            .await?
            .with_customers(bank.clone())
            .with_sealing(sealing.clone())
            .with_reader(Arc::new(reader))
            .with_customer_limit(config.limits.customer_messages_per_minute, metrics.rate_limited.clone());
    let flows_key = flows_key(&config.whatsapp)?;
    let conversations = match (&flows_key, transport.name()) {
        (Some(key), _) => conversations
            .with_forms(Forms::new(config.whatsapp.flows_name.clone(), key.derived_secret("flow tokens"))),
        // The simulator plays WhatsApp's part: forms to try, typed answers still taken.
        (None, "sandbox") => {
            let secret: [u8; 32] = std::array::from_fn(|_| fastrand::u8(..));
            conversations.with_forms(Forms::drawn_here(config.whatsapp.flows_name.clone(), secret))
        }
        (None, _) => conversations,
    };
    let payments_limit = Arc::new(PerAddress::per_minute(config.limits.payments_per_ip_per_minute));
    let wake = Arc::new(Wake::default());
    let intake =
        Arc::new(Intake::start(store.clone(), intake_writers(config.database.backend), wake.clone()));
    Ok(AppState::from(Shared {
        intake,
        sealing,
        flows_key,
        hasher,
        payments_limit,
        conversations: Arc::new(conversations),
        bank,
        clock,
        config: Arc::new(config),
        store,
        kv,
        metrics,
        wake,
        wake_published: Arc::default(),
        outbox_wake,
        transport,
        previews: Arc::default(),
    }))
}

/// The Flows endpoint's key, when `WHATSAPP_FLOWS_PRIVATE_KEY` is set: a key that does not
/// read refuses the start, saying why (never what it holds).
/// How many commits of webhooks may be in flight at once: SQLite has one writer, so more than
/// one would only queue for its lock; PostgreSQL commits several at once.
fn intake_writers(backend: SqlBackend) -> usize {
    match backend {
        SqlBackend::Sqlite => 1,
        SqlBackend::Postgres => 3,
    }
}

fn flows_key(config: &crate::config::WhatsAppConfig) -> anyhow::Result<Option<Arc<FlowsKey>>> {
    let Some(pem) = &config.flows_private_key else { return Ok(None) };
    let passphrase = config.flows_private_key_passphrase.as_ref().map(|p| p.expose_secret());
    Ok(Some(Arc::new(FlowsKey::from_pem(pem.expose_secret(), passphrase)?)))
}

/// The process's hasher, within `HASH_MEMORY_MIB`.
pub fn hasher(config: &Config) -> Hasher {
    let budget =
        usize::try_from(config.limits.hash_memory_mib).unwrap_or(usize::MAX).saturating_mul(1024 * 1024);
    let hasher = Hasher::within(budget);
    tracing::debug!(concurrent = hasher.concurrent(), "argon2 checks at once at most");
    hasher
}

/// A connected application bound to its port, ready to serve.
pub struct App {
    state: AppState,
    listener: TcpListener,
}

impl App {
    /// Connects, settles the schema and binds `0.0.0.0:PORT` (port 0 picks a free one).
    ///
    /// Refuses a sandbox nobody asked for: with the data on PostgreSQL (a deployment, not a
    /// laptop) and no `WHATSAPP_ACCESS_TOKEN`, replies would go to the simulator, whose
    /// unauthenticated API shows every customer's messages, codes included.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        if config.database.backend == SqlBackend::Postgres
            && config.whatsapp.access_token.is_none()
            && !config.whatsapp.sandbox
        {
            anyhow::bail!(
                "WHATSAPP_ACCESS_TOKEN is not set with the data on PostgreSQL: set it to reach WhatsApp, or set WHATSAPP_SANDBOX=true to run the sandbox (the simulator shows every customer's messages, codes included)"
            );
        }
        let port = config.http.port;
        let state = connect(config).await?;
        let listener = TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port)))
            .await
            .with_context(|| format!("cannot listen on port {port}"))?;
        Ok(App { state, listener })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The shared state, e.g. for a test to inspect the stores.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves the standard router until `stop` resolves, then drains and closes the stores.
    pub async fn run(self, stop: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let router = crate::http::router(self.state.clone());
        self.run_with(router, stop).await
    }

    /// Serves `router` (the standard one, possibly with extra routes) until `stop` resolves.
    ///
    /// After the stop: no new connections are accepted, requests in flight may finish within
    /// `SHUTDOWN_GRACE_SECS`, then the pools close. Returns an error only if serving failed.
    pub async fn run_with(
        self,
        router: crate::http::Router,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let App { state, listener } = self;
        let grace = state.config.http.shutdown_grace;
        let (stopping_tx, stopping_rx) = watch::channel(false);
        let stopping_tx = Arc::new(stopping_tx);
        let background = spawn_background(&state, &stopping_rx);

        let signal = stopping_tx.clone();
        let signalled = async move {
            stop.await;
            signal.send_replace(true);
        };
        let server = crate::http::serve::until(listener, router, signalled);
        let mut stopped_rx = stopping_rx.clone();
        let stopped = async move {
            let _ = stopped_rx.wait_for(|stopping| *stopping).await;
        };
        let served = shutdown::drain(server, stopped, grace).await;
        // However serving ended, background work stops too, finishing the round it is in.
        stopping_tx.send_replace(true);
        if tokio::time::timeout(grace, background).await.is_err() {
            tracing::warn!("the dispatcher or sender did not finish its round within the grace period");
        }
        close(&state).await;
        match served {
            Some(result) => result.context("the HTTP server failed"),
            None => Ok(()),
        }
    }
}

/// Customers per dispatch or send round: one transaction records a round.
const ROUND_BATCH: u32 = 128;

/// Starts the dispatcher, the sender, the relay of other instances' wake-ups and the keeper of
/// the queues' statistics; resolves when all have stopped.
fn spawn_background(state: &AppState, stopping: &watch::Receiver<bool>) -> impl Future<Output = ()> + use<> {
    let config = &state.config;
    let sender = Sender::new(
        state.store.clone(),
        state.transport.clone(),
        state.metrics.clone(),
        config.outbox.clone(),
        config.whatsapp.send_timeout,
        ROUND_BATCH,
    );
    let dispatcher =
        Dispatcher::new(state.store.clone(), state.conversations.clone(), config.dispatch_lease, ROUND_BATCH)
            .with_receipts(sender.receipts())
            .with_outbox_wake(state.outbox_wake.clone())
            .answering_for(config.whatsapp.phone_number_id.clone());
    let send = tokio::spawn({
        let (wake, stop) = (state.outbox_wake.clone(), stopping.clone());
        let workers = config.outbox.workers;
        async move { sender.run(workers, wake, stop).await }
    });
    let dispatch = tokio::spawn({
        let (wake, stop) = (state.wake.clone(), stopping.clone());
        let workers = config.dispatch_workers;
        async move { dispatcher.run(workers, wake, stop).await }
    });
    let relay = tokio::spawn(dispatch::relay_wakeups(state.kv.clone(), state.wake.clone(), stopping.clone()));
    let statistics = tokio::spawn(dispatch::keep_queue_statistics(state.store.clone(), stopping.clone()));
    let releases =
        tokio::spawn(state.conversations.clone().follow_releases(config.admin.flows_poll, stopping.clone()));
    // On the embedded default there is no worker process: the jobs run here.
    let jobs = config.worker.in_serve.then(|| {
        let worker = Arc::new(worker::build(state));
        tracing::info!(jobs = ?worker.job_names(), "running the worker's jobs in this process");
        tokio::spawn(worker.run(stopping.clone()))
    });
    async move {
        let _ = dispatch.await;
        let _ = send.await;
        let _ = relay.await;
        let _ = statistics.await;
        let _ = releases.await;
        if let Some(jobs) = jobs {
            let _ = jobs.await;
        }
    }
}

/// Closes the pools, within a bound of its own so a wedged connection cannot hold up the exit.
async fn close(state: &AppState) {
    if tokio::time::timeout(Duration::from_secs(5), state.store.close()).await.is_err() {
        tracing::warn!("the SQL pool did not close within 5 s");
    }
}
