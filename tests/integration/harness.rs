//! The test harness: fresh stores per test, the app served on port 0, fake HTTP servers.
//!
//! PostgreSQL and Redis come from `TEST_DATABASE_URL` and `TEST_REDIS_URL`, which `scripts/test`
//! sets after starting private instances. Each PostgreSQL test gets a database of its own (dropped
//! afterwards), each SQLite test a file in a temporary directory, each Redis test a key prefix of
//! its own (its keys all expire, as every KV key does, and the private instance is discarded).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use secrecy::SecretString;
use sqlx::Connection;
use teller::app::App;
use teller::config::{Config, DatabaseConfig, KvConfig, SqlBackend};
use teller::http::AppState;
use teller::kv::Kv;
use teller::store::SqlStore;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Generates one test per SQL backend from `async fn $name(backend: SqlBackend)`.
macro_rules! on_both_sql_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn postgres() {
                super::$name(teller::config::SqlBackend::Postgres).await
            }
            #[tokio::test]
            async fn sqlite() {
                super::$name(teller::config::SqlBackend::Sqlite).await
            }
        }
    )+};
}
pub(crate) use on_both_sql_backends;

/// Generates one test per KV adapter from `async fn $name(kind: KvKind)`.
macro_rules! on_both_kv_adapters {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn redis() {
                super::$name($crate::harness::KvKind::Redis).await
            }
            #[tokio::test]
            async fn memory() {
                super::$name($crate::harness::KvKind::Memory).await
            }
        }
    )+};
}
pub(crate) use on_both_kv_adapters;

pub fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/test, which starts private PostgreSQL and Redis instances")
    })
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// A database that exists for one test.
pub struct TestDb {
    /// Connection settings for the app or an adapter.
    pub config: DatabaseConfig,
    /// The URL in the clear, for tests that reach around the port.
    pub url: String,
    _cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin_url, name } = self else { return };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop runs outside async context; a short-lived runtime on its own thread does the work.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await?;
                Ok::<_, anyhow::Error>(())
            })
        })
        .join();
    }
}

impl TestDb {
    /// A new, empty database on `backend` (no migrations applied).
    pub async fn new(backend: SqlBackend) -> TestDb {
        match backend {
            SqlBackend::Postgres => {
                let admin_url = required_env("TEST_DATABASE_URL");
                let name = unique("teller_test_");
                let mut conn =
                    sqlx::PgConnection::connect(&admin_url).await.expect("connect to test PostgreSQL");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                let url = url.to_string();
                TestDb {
                    config: db_config(&url, backend),
                    url,
                    _cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
            SqlBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("teller.db").display());
                TestDb { config: db_config(&url, backend), url, _cleanup: Cleanup::Sqlite(dir) }
            }
        }
    }

    /// The adapter for this database, migrated.
    pub async fn store(&self) -> Arc<dyn SqlStore> {
        let store = teller::store::connect(&self.config).await.expect("open store");
        store.migrate().await.expect("migrate");
        store
    }
}

pub fn db_config(url: &str, backend: SqlBackend) -> DatabaseConfig {
    DatabaseConfig { url: SecretString::from(url.to_owned()), backend, max_connections: 8 }
}

/// Which KV adapter a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvKind {
    /// The shared test Redis, under a prefix of the test's own.
    Redis,
    /// A fresh in-process store.
    Memory,
}

/// KV settings isolated to one test.
pub fn kv_config(kind: KvKind) -> KvConfig {
    let redis_url = match kind {
        KvKind::Redis => Some(SecretString::from(required_env("TEST_REDIS_URL"))),
        KvKind::Memory => None,
    };
    KvConfig { redis_url, prefix: unique("test:") + ":", tls_ca_cert: None, memory_max_keys: 100_000 }
}

/// A KV adapter isolated to one test.
pub fn kv(kind: KvKind) -> Arc<dyn Kv> {
    teller::kv::connect(&kv_config(kind)).expect("open KV")
}

/// A bank over `store` and `kv` with the shipped rules, the simulated rail and `clock` (its
/// system accounts not yet opened).
pub fn bank(
    store: Arc<dyn SqlStore>,
    kv: Arc<dyn Kv>,
    clock: Arc<dyn teller::clock::Clock>,
) -> Arc<teller::bank::Bank> {
    bank_with(store, kv, clock, teller::bank::rules::Rules::load(None).expect("the shipped rules"))
}

/// A bank like [`bank`], with `rules`.
pub fn bank_with(
    store: Arc<dyn SqlStore>,
    kv: Arc<dyn Kv>,
    clock: Arc<dyn teller::clock::Clock>,
    rules: teller::bank::rules::Rules,
) -> Arc<teller::bank::Bank> {
    bank_on_rail(store, kv, clock, rules, Arc::new(teller::bank::rail::SimulatedRail))
}

/// A bank like [`bank_with`], on `rail`.
pub fn bank_on_rail(
    store: Arc<dyn SqlStore>,
    kv: Arc<dyn Kv>,
    clock: Arc<dyn teller::clock::Clock>,
    rules: teller::bank::rules::Rules,
    rail: Arc<dyn teller::bank::rail::Rail>,
) -> Arc<teller::bank::Bank> {
    Arc::new(new_bank(store, kv, clock, rules, rail))
}

/// A bank like [`bank_on_rail`], not yet shared: for adding a funding provider or a biller.
pub fn new_bank(
    store: Arc<dyn SqlStore>,
    kv: Arc<dyn Kv>,
    clock: Arc<dyn teller::clock::Clock>,
    rules: teller::bank::rules::Rules,
    rail: Arc<dyn teller::bank::rail::Rail>,
) -> teller::bank::Bank {
    let settings = teller::bank::BankSettings {
        currency: "NGN".into(),
        timezone: chrono_tz::Africa::Lagos,
        otp_template: None,
        issuer: "teller".into(),
    };
    teller::bank::Bank::new(
        store,
        kv,
        rules,
        settings,
        clock,
        rail,
        b"test code key".to_vec(),
        Arc::new(teller::wake::Wake::default()),
    )
    .with_sealing(Arc::new(teller::sealed::Keys::parse(TEST_SECRETS_KEY).expect("the test key reads")))
}

/// One round of the worker's `stuck_transfers` job at `now`, asking about every pending payment
/// (none is too recent), with suspense three days away: its report.
pub async fn stuck_round(
    bank: &Arc<teller::bank::Bank>,
    now: chrono::DateTime<chrono::Utc>,
) -> teller::worker::Report {
    use teller::worker::Job as _;
    let job = teller::worker::jobs::StuckTransfers {
        bank: bank.clone(),
        metrics: Arc::new(teller::metrics::Metrics::new()),
        after: std::time::Duration::ZERO,
        suspense_after: std::time::Duration::from_secs(3 * 24 * 3600),
    };
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    job.run(&teller::worker::JobContext::new(now + chrono::Duration::seconds(1), stopped))
        .await
        .expect("the job runs")
}

/// A customer at `phone` with a wallet, written straight to the store at `at` (identity and
/// account numbers from `n`; no usable PIN): for tests of the ledger, not of registration.
/// Returns the wallet's id.
pub async fn plain_customer(
    tx: &mut dyn teller::store::SqlTx,
    n: u64,
    phone: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> i64 {
    let new = teller::store::NewCustomer {
        first_name: "Test",
        last_name: "Customer",
        date_of_birth: "1990-01-01",
        id_number: &format!("1{n:010}"),
        id_number_sealed: None,
        phone,
        kyc_tier: 1,
        pin_hash: "unused",
        now: at,
    };
    let id = tx.customers().insert_customer(&new).await.unwrap().unwrap();
    tx.customers().insert_alias(&format!("wa:{phone}"), id, at).await.unwrap();
    tx.bank()
        .insert_account(&format!("9{n:09}"), "wallet", Some(id), "NGN", false, at)
        .await
        .unwrap()
        .unwrap()
}

/// The key test apps seal secrets with (`SECRETS_KEY`: required on PostgreSQL).
pub const TEST_SECRETS_KEY: &str = "test:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// The environment a test app starts from: port 0, quiet JSON logs.
pub fn base_env(db: &TestDb) -> HashMap<String, String> {
    HashMap::from([
        ("PORT".to_owned(), "0".to_owned()),
        ("DATABASE_URL".to_owned(), db.url.clone()),
        ("LOG_FORMAT".to_owned(), "json".to_owned()),
        // On PostgreSQL without an access token, serve runs the sandbox only when asked to.
        ("WHATSAPP_SANDBOX".to_owned(), "true".to_owned()),
        ("SECRETS_KEY".to_owned(), TEST_SECRETS_KEY.to_owned()),
        // The worker's jobs run only where a test runs them: on SQLite, serve would otherwise
        // run them itself, and a job (asking the rail about a test's pending transfer, say)
        // would race the test's own steps.
        ("WORKER_IN_SERVE".to_owned(), "false".to_owned()),
    ])
}

/// Configuration from `env`, with the KV settings of `kind` applied.
pub fn config(env: HashMap<String, String>, kv: KvConfig) -> Config {
    let mut config = Config::from_vars(env).expect("test configuration is valid");
    config.kv = kv;
    config
}

/// A running teller, served on a free port from the library.
pub struct TestApp {
    /// Where it listens (on loopback).
    pub addr: SocketAddr,
    /// Its stores and metrics.
    pub state: AppState,
    /// A client without connection reuse surprises: each test makes its own.
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<anyhow::Result<()>>,
    _db: Option<TestDb>,
}

impl TestApp {
    /// Serves the standard app on `sql` and `kv`, migrated.
    pub async fn spawn(sql: SqlBackend, kv: KvKind) -> TestApp {
        let db = TestDb::new(sql).await;
        db.store().await.close().await;
        let config = config(base_env(&db), kv_config(kv));
        Self::spawn_with(config, db, |router| router).await
    }

    /// Serves the standard app on `sql` (with Redis on PostgreSQL, memory on SQLite), checking
    /// Meta's signatures with `secret`, with `vars` on top.
    pub async fn spawn_signed(sql: SqlBackend, secret: &str, vars: &[(&str, &str)]) -> TestApp {
        let kv = if sql == SqlBackend::Postgres { KvKind::Redis } else { KvKind::Memory };
        let db = TestDb::new(sql).await;
        db.store().await.close().await;
        let mut env = base_env(&db);
        env.insert("WHATSAPP_APP_SECRET".into(), secret.into());
        env.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Self::spawn_with(config(env, kv_config(kv)), db, |router| router).await
    }

    /// Serves the app built from `config`, with `extend` applied to its routes (extra routes).
    pub async fn spawn_with(
        config: Config,
        db: TestDb,
        extend: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> TestApp {
        Self::start(config, Some(db), extend).await
    }

    /// Another instance on a database some other `TestApp` owns (several `serve`s, one store).
    pub async fn spawn_sharing(config: Config) -> TestApp {
        Self::start(config, None, |router| router).await
    }

    async fn start(
        config: Config,
        db: Option<TestDb>,
        extend: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> TestApp {
        let app = App::build(config).await.expect("app builds");
        let port = app.local_addr().expect("bound").port();
        let state = app.state().clone();
        let router = teller::http::layered(extend(teller::http::routes()), state.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_with(router, async move {
            let _ = stop_rx.await;
        }));
        TestApp {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            state,
            client: reqwest::Client::new(),
            stop: Some(stop_tx),
            server,
            _db: db,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GETs `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request reaches the app")
    }

    /// Starts shutdown without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Shuts down and returns how serving ended.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.begin_shutdown();
        (&mut self.server).await.expect("server task did not panic")
    }
}

/// A request a fake server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Its method.
    pub method: Method,
    /// Its path and query.
    pub uri: String,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body, whole.
    pub body: Bytes,
}

/// A fake external HTTP server (Graph API, payment rail, LLM) on loopback that records every
/// request it gets and answers with whatever `router` says.
pub struct FakeServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    received: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl FakeServer {
    /// Starts serving `router` on a free loopback port.
    pub async fn start(router: Router) -> FakeServer {
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let router = router.layer(middleware::from_fn(move |request: Request, next: Next| {
            let log = log.clone();
            async move { record(log, request, next).await }
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake server");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeServer { url, received, task }
    }

    /// Every request received so far, in arrival order.
    pub fn received(&self) -> Vec<Recorded> {
        self.received.lock().expect("lock").clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(log: Arc<Mutex<Vec<Recorded>>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    log.lock().expect("lock").push(Recorded {
        method: parts.method.clone(),
        uri: parts.uri.to_string(),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// A loopback port nothing in the suite listens on, for a database that is down. Not a port
/// picked free and released: another test's server could take it meanwhile, and the "down"
/// database would then answer as something else. Port 1 needs root to bind and no test does.
pub const CLOSED_PORT: u16 = 1;

/// A free loopback port (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("bound").port()
}

/// A Redis server of one test's own, so it can be stopped, restarted or run with TLS.
pub struct PrivateRedis {
    child: Option<std::process::Child>,
    /// Its working directory (and, with TLS, its certificates), removed when it stops.
    _dir: tempfile::TempDir,
}

impl PrivateRedis {
    /// Plain Redis on `port`.
    pub fn start(port: u16) -> PrivateRedis {
        Self::start_in(tempfile::tempdir().expect("temporary directory"), &["--port", &port.to_string()])
    }

    /// Redis accepting only TLS on `port`, with a certificate for 127.0.0.1 and localhost signed
    /// by a CA made for the test. Returns the server and the CA's PEM.
    pub fn start_tls(port: u16) -> (PrivateRedis, String) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let openssl = |args: &[&str]| {
            let out = std::process::Command::new("openssl").args(args).current_dir(dir.path()).output();
            let out = out.expect("openssl runs");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        openssl(
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt"]
                .into_iter()
                .chain(["-subj", "/CN=teller-test-ca", "-days", "2"])
                .collect::<Vec<_>>(),
        );
        openssl(
            &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr"]
                .into_iter()
                .chain(["-subj", "/CN=localhost"])
                .collect::<Vec<_>>(),
        );
        std::fs::write(dir.path().join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        let ca = std::fs::read_to_string(dir.path().join("ca.crt")).expect("CA written");
        let port = port.to_string();
        let args = [
            "--port",
            "0",
            "--tls-port",
            &port,
            "--tls-cert-file",
            "server.crt",
            "--tls-key-file",
            "server.key",
            "--tls-ca-cert-file",
            "ca.crt",
            "--tls-auth-clients",
            "no",
        ];
        (Self::start_in(dir, &args), ca)
    }

    fn start_in(dir: tempfile::TempDir, args: &[&str]) -> PrivateRedis {
        use std::io::{BufRead, BufReader};
        let bin = std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".into());
        let mut child = std::process::Command::new(&bin)
            .args(args)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin} (scripts/test installs it): {e}"));
        // Ready when it says so; the rest of its output is drained so the pipe never fills.
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let ready =
            lines.by_ref().map_while(Result::ok).any(|line| line.contains("Ready to accept connections"));
        assert!(ready, "redis-server {args:?} exited before it was ready");
        std::thread::spawn(move || lines.for_each(drop));
        PrivateRedis { child: Some(child), _dir: dir }
    }

    /// Kills the server (as a crash or an outage would).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// App state whose SQL store is a PostgreSQL that is not there (a lazily connecting pool to a
/// closed port), as after the database went down: for testing how the app answers then.
pub async fn state_with_unreachable_postgres(vars: &[(&str, &str)]) -> AppState {
    let mut env = vec![
        ("DATABASE_URL".to_owned(), format!("postgres://teller@127.0.0.1:{CLOSED_PORT}/teller")),
        ("LOG_FORMAT".to_owned(), "json".to_owned()),
    ];
    env.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let mut config = Config::from_vars(env).expect("valid configuration");
    config.database.max_connections = 1;
    let store = teller::store::connect(&config.database).await.expect("a lazy pool opens");
    let kv = kv(KvKind::Memory);
    let files = teller::flows::read_dir(&config.flows_dir).expect("the shipped flows");
    let bundle = teller::flows::compile(&files, &teller::bank::actions::declared()).1.expect("they compile");
    let settings = teller::conversation::Settings {
        currency: "NGN".into(),
        country_code: "234".into(),
        default_language: "en".into(),
        bank_name: "Teller Bank".into(),
    };
    let conversations = teller::conversation::Conversations::new(
        bundle,
        teller::bank::actions::declared(),
        kv.clone(),
        store.clone(),
        settings,
    );
    let bank = bank(store.clone(), kv.clone(), Arc::new(teller::clock::SystemClock));
    let wake = Arc::new(teller::wake::Wake::default());
    AppState::from(teller::http::state::Shared {
        intake: Arc::new(teller::whatsapp::intake::Intake::start(store.clone(), 1, wake.clone())),
        sealing: Arc::new(teller::sealed::Keys::ephemeral()),
        flows_key: None,
        conversations: Arc::new(conversations),
        bank,
        clock: Arc::new(teller::clock::SystemClock),
        store,
        kv,
        metrics: Arc::new(teller::metrics::Metrics::new()),
        config: Arc::new(config),
        wake,
        wake_published: Arc::default(),
        outbox_wake: Arc::new(teller::wake::Wake::default()),
        transport: Arc::new(teller::whatsapp::graph::Sandbox),
        previews: Arc::default(),
        payments_limit: Arc::new(teller::http::limit::PerAddress::per_minute(600)),
        hasher: Arc::default(),
    })
}

/// A one-message text notification as Meta sends it, from `wa_id`, sent `sent` seconds after a
/// fixed instant (so tests can order a customer's messages by when they were written).
pub fn text_notification(wa_id: &str, message_id: &str, body: &str, sent: i64) -> Vec<u8> {
    text_notification_at(wa_id, message_id, body, 1_795_000_000 + sent)
}

/// The same, sent at `unix` seconds: with the real clock, inside the 24-hour window.
pub fn text_notification_at(wa_id: &str, message_id: &str, body: &str, unix: i64) -> Vec<u8> {
    serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "100"},
        "contacts": [{"profile": {"name": "Ada"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": message_id, "timestamp": unix.to_string(),
                      "type": "text", "text": {"body": body}}]
    }}]}]})
    .to_string()
    .into_bytes()
}

/// POSTs `body` to `url` with Meta's signature under `secret`; returns the status.
pub async fn post_signed(
    client: reqwest::Client,
    url: String,
    secret: &str,
    body: Vec<u8>,
) -> reqwest::StatusCode {
    let signature = teller::signature::sign(secret.as_bytes(), &body);
    let response = client.post(url).header("x-hub-signature-256", signature).body(body).send().await;
    response.expect("request reaches the app").status()
}

/// How the fake Graph API answers one message send (read receipts are always accepted).
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// 200 with a fresh `wamid.fake.N`.
    Accept,
    /// `status` with Meta's error body for `code`.
    Error(u16, i64),
    /// Answers (accepting) only after this long: longer than the client's timeout is a timeout.
    Hang(std::time::Duration),
}

/// A fake Graph API: answers sends as scripted (then accepts), records everything.
pub struct FakeGraph {
    server: FakeServer,
    script: Arc<Mutex<std::collections::VecDeque<Answer>>>,
    hung: Arc<Mutex<Vec<String>>>,
}

/// The phone number id and API version the fake serves.
pub const FAKE_PHONE_NUMBER_ID: &str = "100";

impl FakeGraph {
    /// Starts it on a free port, accepting every send until scripted otherwise.
    pub async fn start() -> FakeGraph {
        use axum::extract::State;
        use axum::routing::post;
        type Script = Arc<Mutex<std::collections::VecDeque<Answer>>>;
        type Hung = Arc<Mutex<Vec<String>>>;
        let script: Script = Arc::default();
        let hung: Hung = Arc::default();
        let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let answer = move |State((script, sent, hung)): State<(
            Script,
            Arc<std::sync::atomic::AtomicU64>,
            Hung,
        )>,
                           axum::Json(body): axum::Json<serde_json::Value>| async move {
            use axum::response::IntoResponse;
            if body["status"] == "read" {
                return axum::Json(serde_json::json!({"success": true})).into_response();
            }
            let hangs = hung.lock().expect("lock").iter().any(|to| body["to"] == to.as_str());
            if hangs {
                // Never answers: the request is held until the client gives up.
                std::future::pending::<()>().await;
            }
            let next = script.lock().expect("lock").pop_front().unwrap_or(Answer::Accept);
            let accept = |n: u64| {
                axum::Json(serde_json::json!({
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                    "messages": [{"id": format!("wamid.fake.{n}")}],
                }))
                .into_response()
            };
            match next {
                Answer::Accept => accept(sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst)),
                Answer::Hang(delay) => {
                    tokio::time::sleep(delay).await;
                    accept(sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
                }
                Answer::Error(status, code) => {
                    let status = axum::http::StatusCode::from_u16(status).expect("a status code");
                    let error = serde_json::json!({"error": {
                        "message": format!("(#{code}) scripted failure"), "type": "OAuthException", "code": code,
                        "error_data": {"messaging_product": "whatsapp", "details": "scripted by the test"},
                        "fbtrace_id": "Afake"}});
                    (status, axum::Json(error)).into_response()
                }
            }
        };
        let router = Router::new().route("/{version}/{number}/messages", post(answer)).with_state((
            script.clone(),
            sent,
            hung.clone(),
        ));
        FakeGraph { server: FakeServer::start(router).await, script, hung }
    }

    /// From now on, every send to these customers hangs: no answer, ever, until the client
    /// gives up.
    pub fn hang_for(&self, wa_ids: &[String]) {
        self.hung.lock().expect("lock").extend(wa_ids.iter().cloned());
    }

    /// The next sends are answered like this, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.script.lock().expect("lock").extend(answers);
    }

    /// The environment that points teller at this fake.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("WHATSAPP_ACCESS_TOKEN".to_owned(), "test-token".to_owned()),
            ("WHATSAPP_PHONE_NUMBER_ID".to_owned(), FAKE_PHONE_NUMBER_ID.to_owned()),
            ("WHATSAPP_API_BASE_URL".to_owned(), self.server.url.clone()),
            ("WHATSAPP_API_VERSION".to_owned(), "v25.0".to_owned()),
        ]
    }

    fn requests(&self) -> Vec<serde_json::Value> {
        self.server
            .received()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).expect("teller sends JSON"))
            .collect()
    }

    /// Every message send received (read receipts aside), in arrival order.
    pub fn sends(&self) -> Vec<serde_json::Value> {
        self.requests().into_iter().filter(|r| r["status"] != "read").collect()
    }

    /// Every read receipt received.
    pub fn receipts(&self) -> Vec<serde_json::Value> {
        self.requests().into_iter().filter(|r| r["status"] == "read").collect()
    }

    /// Every request's headers, in arrival order.
    pub fn headers(&self) -> Vec<HeaderMap> {
        self.server.received().into_iter().map(|r| r.headers).collect()
    }
}

/// A TCP forwarder in front of a server (PostgreSQL), which a test can stop and start again to
/// take the server away from the app without disturbing any other test that uses it.
pub struct TcpProxy {
    /// The loopback port the app connects to.
    pub port: u16,
    target: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl TcpProxy {
    /// Forwards a free loopback port to `target`.
    pub async fn start(target: SocketAddr) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("bound").port();
        let proxy = TcpProxy { port, target, tasks: Arc::default() };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let (target, tasks) = (self.target, self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let connection = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().expect("lock").push(connection);
            }
        });
        self.tasks.lock().expect("lock").push(accept);
    }

    /// As if the server stopped: open connections are cut and new ones refused.
    pub fn stop(&self) {
        for task in self.tasks.lock().expect("lock").drain(..) {
            task.abort();
        }
    }

    /// As if the server came back, on the same port.
    pub async fn restart(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.expect("rebind proxy");
        self.serve(listener);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes transaction `new` (posted) straight to the ledger, debit and credit balanced: for
/// tests that need money to have moved a certain way, not the bank's rules for moving it.
pub async fn post_directly(store: &Arc<dyn SqlStore>, new: &teller::store::NewTransaction<'_>) {
    let mut tx = store.begin().await.unwrap();
    let id = tx.bank().insert_transaction(new).await.unwrap().unwrap();
    for (account, moved) in [(new.debit_account, -new.amount), (new.credit_account, new.amount)] {
        assert!(tx.bank().shift_balance(account, moved, 0).await.unwrap());
        tx.bank().insert_entries(id, &[(account, moved)], new.now).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// Part `part` of the bank's own `kind` account in naira, if open: found among the system
/// accounts as the bank finds them, then read as any account is.
pub async fn system_part(
    tx: &mut dyn teller::store::BankTx,
    kind: &str,
    part: i32,
) -> Option<teller::store::AccountRow> {
    let systems = tx.system_accounts("NGN").await.unwrap();
    let (_, _, id) = systems.into_iter().find(|(k, p, _)| k == kind && *p == part)?;
    tx.account(id).await.unwrap()
}

/// The wallet of the customer behind `key`, and the bank's settlement account.
pub async fn wallet_and_settlement(store: &Arc<dyn SqlStore>, key: &str) -> (i64, i64) {
    let mut tx = store.begin().await.unwrap();
    let customer = tx.customers().customer_by_alias(key).await.unwrap().unwrap();
    let wallet = tx.bank().customer_account(customer.id, "wallet").await.unwrap().unwrap();
    let settlement = system_part(tx.bank(), "settlement", 0).await.unwrap();
    tx.rollback().await.unwrap();
    (wallet.id, settlement.id)
}

/// The ledger's invariants: every balance matches its entries, every transaction sums to zero,
/// the whole ledger sums to zero, and no wallet is below zero.
pub async fn assert_ledger_sound(bank: &teller::bank::Bank) {
    let totals = bank.totals().await.unwrap();
    assert_eq!(
        (
            totals.posted,
            totals.entries,
            totals.drifted_accounts,
            totals.unbalanced_transactions,
            totals.negative_wallets
        ),
        (0, 0, 0, 0, 0),
        "{totals:?}"
    );
}
