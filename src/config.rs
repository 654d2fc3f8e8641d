//! Configuration, read once from the environment into typed values.
//!
//! Every variable name here is a contract (see `README.md`); the parsing is done from a plain
//! map so that tests never touch the process environment. Empty values count as unset, because
//! deployment platforms often define a variable with nothing in it. Secrets are held in
//! [`SecretString`], which never prints its contents, and error messages never echo a value that
//! could hold one (a database URL carries a password).
//!
//! A leaf: imports only `locale`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// The Graph API origin used when `WHATSAPP_API_BASE_URL` is unset.
pub const DEFAULT_WHATSAPP_API_BASE_URL: &str = "https://graph.facebook.com";

/// The Graph API version used when `WHATSAPP_API_VERSION` is unset.
pub const DEFAULT_WHATSAPP_API_VERSION: &str = "v25.0";

/// A variable that is set but cannot be used, with the reason in words.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong with it; never contains the value of a secret.
    pub reason: String,
}

fn invalid(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError { var, reason: reason.into() }
}

/// Which SQL adapter serves the store, decided by `DATABASE_URL`'s scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlBackend {
    /// `postgres://` or `postgresql://`: production and the test suite.
    Postgres,
    /// `sqlite://`: the embedded default, one file, nothing to install.
    Sqlite,
}

impl SqlBackend {
    /// The name used in logs, metrics and `/health`.
    pub fn name(self) -> &'static str {
        match self {
            SqlBackend::Postgres => "postgres",
            SqlBackend::Sqlite => "sqlite",
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The SQL store's connection settings.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// The full URL; a secret because it usually carries a password.
    pub url: SecretString,
    /// The adapter the URL's scheme selects.
    pub backend: SqlBackend,
    /// Upper bound on pooled connections (`DATABASE_MAX_CONNECTIONS`). Managed PostgreSQL counts
    /// every instance's pool against a small server limit, so this stays small by default.
    pub max_connections: u32,
}

/// The KV store's settings.
#[derive(Debug, Clone)]
pub struct KvConfig {
    /// `REDIS_URL`; `None` selects the in-process memory adapter.
    pub redis_url: Option<SecretString>,
    /// Prefix put before every key and channel (`KV_PREFIX`), so that several deployments or
    /// test runs can share one Redis without seeing each other.
    pub prefix: String,
    /// `REDIS_TLS_CA_CERT`: PEM of the CA that signed the Redis server's certificate, for a
    /// `rediss://` server whose certificate is not signed by a publicly trusted CA.
    pub tls_ca_cert: Option<String>,
    /// Most keys the memory adapter holds (`KV_MEMORY_MAX_KEYS`) before it evicts those nearest
    /// to expiry; unused with Redis, which has its own `maxmemory`.
    pub memory_max_keys: usize,
}

/// WhatsApp Cloud API settings. Without an access token teller runs in sandbox mode.
#[derive(Debug, Clone)]
pub struct WhatsAppConfig {
    /// `WHATSAPP_VERIFY_TOKEN`: the webhook GET handshake token.
    pub verify_token: Option<SecretString>,
    /// `WHATSAPP_APP_SECRET`: the HMAC key for `X-Hub-Signature-256`.
    pub app_secret: Option<SecretString>,
    /// `WHATSAPP_ACCESS_TOKEN`: the Graph API bearer token; `None` means sandbox.
    pub access_token: Option<SecretString>,
    /// `WHATSAPP_PHONE_NUMBER_ID`: the sending number's id.
    pub phone_number_id: Option<String>,
    /// `WHATSAPP_API_BASE_URL`: the Graph API origin, overridable for tests and proxies.
    pub api_base_url: Url,
    /// `WHATSAPP_API_VERSION`: the Graph API version path segment, e.g. `v25.0`.
    pub api_version: String,
    /// `WHATSAPP_SEND_TIMEOUT_SECS`: how long one Graph API call may take.
    pub send_timeout: Duration,
    /// `WHATSAPP_SANDBOX`: run the sandbox (replies to the simulator, whose API shows every
    /// customer's messages) although the data is on PostgreSQL. Without an access token on
    /// PostgreSQL, `serve` refuses to start unless this asks for the sandbox explicitly.
    pub sandbox: bool,
}

/// How the outbox is drained.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// `WHATSAPP_SEND_RATE`: messages per second this instance sends at most (Meta's default
    /// number throughput is 80; divide by the number of instances).
    pub rate_per_second: u32,
    /// `WHATSAPP_PAIR_BURST`: messages to one customer sent back to back before the pair rate
    /// (one per 6 seconds) applies.
    pub pair_burst: u32,
    /// `OUTBOX_MAX_ATTEMPTS`: sends of one message before a retryable failure becomes final.
    pub max_attempts: i32,
    /// `OUTBOX_RETRY_BASE_MS`: the first retry's delay; each later one doubles, with jitter.
    pub retry_base: Duration,
    /// `OUTBOX_LEASE_SECS`: how long a sender holds a message; longer than a send can take.
    pub lease: Duration,
    /// `OUTBOX_WORKERS`: concurrent send rounds per instance.
    pub workers: usize,
    /// `OUTBOX_UNKNOWN_WAIT_SECS`: how long a reply whose sender died mid-send waits for the
    /// status webhook that would say Meta took it, before it is sent again (0: not at all).
    pub unknown_wait: Duration,
    /// `WHATSAPP_WINDOW_TEMPLATE` (+ `_LANGUAGE`): the template sent instead of a free-form
    /// message outside the 24-hour window; unset → such messages are recorded `outside_window`.
    pub window_template: Option<WindowTemplate>,
}

/// A pre-approved template that invites the customer back into the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowTemplate {
    /// The template's name.
    pub name: String,
    /// Its language code.
    pub language: String,
}

/// Optional language understanding through an OpenAI-compatible API.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// `OPENAI_API_KEY`; `None` means rules only.
    pub api_key: Option<SecretString>,
    /// `OPENAI_BASE_URL`, for compatible providers and test fakes.
    pub base_url: Option<Url>,
    /// `OPENAI_MODEL`.
    pub model: Option<String>,
    /// `OPENAI_TRANSCRIPTION_MODEL`: voice notes are transcribed only when set (and WhatsApp
    /// media can be downloaded, i.e. not on the sandbox).
    pub transcription_model: Option<String>,
    /// `OPENAI_TIMEOUT_MS`: the longest a customer waits for the model (100 to 30000).
    pub timeout: Duration,
}

/// The bank this deployment serves.
#[derive(Debug, Clone)]
pub struct BankConfig {
    /// `BANK_CURRENCY`: ISO 4217 code of customer accounts.
    pub currency: String,
    /// `BANK_TIMEZONE`: IANA zone for statements, monthly fees and business days.
    pub timezone: String,
    /// `BANK_COUNTRY_CODE`: the calling code that turns a local phone number ("0803…")
    /// international ("234803…").
    pub country_code: String,
    /// `DEFAULT_LANGUAGE`: what the bot speaks to customers who have not chosen.
    pub default_language: String,
    /// `BANK_NAME`: how the bank is named in authenticator apps.
    pub name: String,
    /// `BANK_RULES`: the file of tiers, fees and security settings; `None` → the built-in
    /// `config/bank.yaml`.
    pub rules: Option<PathBuf>,
    /// `LOAN_PRODUCTS`: the file of loan products, eligibility and reminder rules; `None` → the
    /// built-in `config/loans.yaml`.
    pub loans: Option<PathBuf>,
    /// `OTP_KEY`: keys the hashes of one-time codes. Every instance must share it; unset → a
    /// random key per process (fine for one instance; a warning when Redis is shared).
    pub otp_key: Option<SecretString>,
    /// `WHATSAPP_OTP_TEMPLATE` (+ `_LANGUAGE`): the approved authentication template that
    /// carries one-time codes; unset → codes go as text (the sandbox, or inside the window).
    pub otp_template: Option<WindowTemplate>,
}

/// Rate limits against floods: a customer's inbound messages, a caller's payment callbacks.
#[derive(Debug, Clone, Copy)]
pub struct LimitsConfig {
    /// `CUSTOMER_MESSAGES_PER_MINUTE`: inbound messages one customer may send in a minute,
    /// counted in the KV (so across instances); past it, one "slow down" reply, then silence
    /// until the minute is over. 0 turns the limit off.
    pub customer_messages_per_minute: u32,
    /// `PAYMENTS_PER_IP_PER_MINUTE`: callbacks one client address may post to
    /// `/webhook/payments` in a minute, on each instance; past it, 429.
    pub payments_per_ip_per_minute: u32,
    /// `HASH_MEMORY_MIB`: memory this process may spend on argon2 checks (PINs, admin
    /// passwords) at once, in MiB; each takes 19 (default 64: three at a time).
    pub hash_memory_mib: u32,
}

/// HTTP serving limits.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `PORT`: the web listener's port on 0.0.0.0.
    pub port: u16,
    /// `REQUEST_TIMEOUT_SECS`: a request still running after this is answered 503.
    pub request_timeout: Duration,
    /// `SHUTDOWN_GRACE_SECS`: how long in-flight work may run after SIGTERM. Keep it below the
    /// platform's own grace period (App Platform: 120 s by default) so we exit before SIGKILL.
    pub shutdown_grace: Duration,
    /// `CLIENT_IP_HEADER`: the header in which the proxy in front of teller gives the client's
    /// address (`do-connecting-ip` on App Platform; `x-forwarded-for`, whose last entry is the
    /// one the proxy added). Unset: the address of the connection itself, since any client can
    /// write any header.
    pub client_ip_header: Option<http::HeaderName>,
}

/// The worker: its port, its jobs' intervals and their settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `WORKER_PORT`: liveness and metrics of `teller worker`, on 0.0.0.0.
    pub port: u16,
    /// `WORKER_IN_SERVE`: run the jobs inside `teller serve` too. Default: on the embedded
    /// default (SQLite), where there is no separate worker; off on PostgreSQL.
    pub in_serve: bool,
    /// `WORKER_LEASE_SECS`: how long a worker holds a job without renewing; after a crash,
    /// the delay before another worker may take the job over.
    pub lease: Duration,
    /// `JOB_STUCK_TRANSFERS_EVERY_SECS`.
    pub stuck_transfers_every: Duration,
    /// `JOB_SESSION_CLEANUP_EVERY_SECS`.
    pub session_cleanup_every: Duration,
    /// `JOB_MONTHLY_FEES_EVERY_SECS`: how often the fee job looks whether a month is due (it
    /// charges on the first look on or after the 1st, and not again).
    pub monthly_fees_every: Duration,
    /// `JOB_LOANS_EVERY_SECS`: how often the loan jobs (collection, overdue, reminders) look
    /// for work; each acts on an installment at most once a day.
    pub loans_every: Duration,
    /// `JOB_RETENTION_EVERY_SECS`.
    pub retention_every: Duration,
    /// `STUCK_TRANSFER_AFTER_SECS`: a transfer pending this long is asked about at the rail.
    pub stuck_after: Duration,
    /// `STUCK_TRANSFER_SUSPENSE_AFTER_SECS`: still unknown this long after it was made, its
    /// funds move to the suspense account for operations.
    pub suspense_after: Duration,
    /// `RETENTION_INBOX_DAYS`: raw webhook bodies and handled inbound messages are kept this
    /// long (at least 8 days: Meta redelivers for 7, and the inbox is what recognises a repeat).
    pub inbox_retention: Duration,
    /// `RETENTION_OUTBOX_DAYS`: settled replies and delivery statuses are kept this long.
    pub outbox_retention: Duration,
    /// `RETENTION_LOAN_DECISIONS_DAYS`: eligibility decisions that led to no offer are kept
    /// this long (at least 31: the loan book shows the last 30 days); those behind an offer or a
    /// loan are kept with it.
    pub decisions_retention: Duration,
}

/// The admin console: sessions, login limits, and how fast publications spread.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// `ADMIN_SESSION_SECS`: how long an admin session lasts after login (default 1 hour).
    pub session: Duration,
    /// `ADMIN_LOGIN_MAX_FAILURES`: failed logins in a row that lock the account (default 5).
    pub max_failures: i32,
    /// `ADMIN_LOCKOUT_SECS`: how long a locked account refuses logins (default 15 minutes).
    pub lockout: Duration,
    /// `ADMIN_LOGIN_PER_IP_PER_MINUTE`: login attempts one address may make a minute, across
    /// instances (default 20).
    pub logins_per_ip_per_minute: i64,
    /// `FLOWS_POLL_SECS`: how often each instance looks for a newly published flow release
    /// (default 1).
    pub flows_poll: Duration,
}

/// Everything teller reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP listener and limits.
    pub http: HttpConfig,
    /// Rate limits.
    pub limits: LimitsConfig,
    /// SQL store.
    pub database: DatabaseConfig,
    /// KV store.
    pub kv: KvConfig,
    /// WhatsApp Cloud API.
    pub whatsapp: WhatsAppConfig,
    /// Outbox draining.
    pub outbox: OutboxConfig,
    /// `PAYMENTS_WEBHOOK_SECRET`: the HMAC key for payment-provider callbacks.
    pub payments_webhook_secret: Option<SecretString>,
    /// `PAYMENT_RAIL_URL`: external transfer rail; `None` selects the built-in simulated rail.
    pub payment_rail_url: Option<Url>,
    /// `PAYMENT_RAIL_SECRET`: the HMAC key teller signs its requests to the rail with. Required
    /// with `PAYMENT_RAIL_URL`, and never the callbacks' key: who can verify callbacks must not
    /// be able to sign requests in teller's name, nor the other way round.
    pub payment_rail_secret: Option<SecretString>,
    /// Optional language understanding.
    pub openai: OpenAiConfig,
    /// The bank's currency and time zone.
    pub bank: BankConfig,
    /// `FLOWS_DIR`: the baseline flow definitions.
    pub flows_dir: PathBuf,
    /// `DISPATCH_LEASE_SECS`: how long a dispatcher holds a message before another instance may
    /// take it over (the delay before a crashed instance's message is handled again).
    pub dispatch_lease: Duration,
    /// `DISPATCH_WORKERS`: concurrent dispatch rounds per instance.
    pub dispatch_workers: usize,
    /// The worker.
    pub worker: WorkerConfig,
    /// The admin console.
    pub admin: AdminConfig,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Parses configuration from name/value pairs (the environment, or a test's own map).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let env = Env(vars.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect());
        let send_timeout = positive_seconds(&env, "WHATSAPP_SEND_TIMEOUT_SECS", 10)?;
        let database = database_config(&env)?;
        let worker = worker_config(&env, database.backend)?;
        Ok(Config {
            http: HttpConfig {
                port: env.parse("PORT", 8080, "a port number from 0 to 65535")?,
                request_timeout: request_timeout(&env)?,
                shutdown_grace: env.seconds("SHUTDOWN_GRACE_SECS", 25)?,
                client_ip_header: client_ip_header(&env)?,
            },
            limits: LimitsConfig {
                customer_messages_per_minute: env.parse(
                    "CUSTOMER_MESSAGES_PER_MINUTE",
                    30,
                    "a whole number of messages (0 turns the limit off)",
                )?,
                payments_per_ip_per_minute: positive_count(&env, "PAYMENTS_PER_IP_PER_MINUTE", 600)?,
                hash_memory_mib: positive_count(&env, "HASH_MEMORY_MIB", 64)?,
            },
            database,
            kv: KvConfig {
                redis_url: redis_url(&env)?,
                prefix: env.get("KV_PREFIX").unwrap_or("teller:").to_owned(),
                tls_ca_cert: tls_ca_cert(&env)?,
                memory_max_keys: env.parse("KV_MEMORY_MAX_KEYS", 1_000_000, "a whole number")?,
            },
            whatsapp: WhatsAppConfig {
                verify_token: env.secret("WHATSAPP_VERIFY_TOKEN"),
                app_secret: env.secret("WHATSAPP_APP_SECRET"),
                access_token: env.secret("WHATSAPP_ACCESS_TOKEN"),
                phone_number_id: env.get("WHATSAPP_PHONE_NUMBER_ID").map(str::to_owned),
                api_base_url: graph_base_url(&env)?,
                api_version: api_version(&env)?,
                send_timeout,
                sandbox: flag(&env, "WHATSAPP_SANDBOX", false)?,
            },
            outbox: outbox_config(&env, send_timeout)?,
            payments_webhook_secret: env.secret("PAYMENTS_WEBHOOK_SECRET"),
            payment_rail_url: env.url("PAYMENT_RAIL_URL")?,
            payment_rail_secret: rail_secret(&env)?,
            openai: OpenAiConfig {
                api_key: env.secret("OPENAI_API_KEY"),
                base_url: env.url("OPENAI_BASE_URL")?,
                model: env.get("OPENAI_MODEL").map(str::to_owned),
                transcription_model: env.get("OPENAI_TRANSCRIPTION_MODEL").map(str::to_owned),
                timeout: openai_timeout(&env)?,
            },
            bank: BankConfig {
                currency: currency(&env)?,
                timezone: timezone(&env)?,
                country_code: country_code(&env)?,
                default_language: default_language(&env)?,
                name: env.get("BANK_NAME").unwrap_or("teller").to_owned(),
                rules: env.get("BANK_RULES").map(PathBuf::from),
                loans: env.get("LOAN_PRODUCTS").map(PathBuf::from),
                otp_key: env.secret("OTP_KEY"),
                otp_template: template(&env, "WHATSAPP_OTP_TEMPLATE")?,
            },
            flows_dir: PathBuf::from(env.get("FLOWS_DIR").unwrap_or("flows")),
            dispatch_lease: positive_seconds(&env, "DISPATCH_LEASE_SECS", 30)?,
            dispatch_workers: workers(&env, "DISPATCH_WORKERS")?,
            worker,
            admin: AdminConfig {
                session: positive_seconds(&env, "ADMIN_SESSION_SECS", 3600)?,
                max_failures: i32::try_from(positive_count(&env, "ADMIN_LOGIN_MAX_FAILURES", 5)?)
                    .map_err(|_| invalid("ADMIN_LOGIN_MAX_FAILURES", "too large"))?,
                lockout: positive_seconds(&env, "ADMIN_LOCKOUT_SECS", 900)?,
                logins_per_ip_per_minute: i64::from(positive_count(
                    &env,
                    "ADMIN_LOGIN_PER_IP_PER_MINUTE",
                    20,
                )?),
                flows_poll: positive_seconds(&env, "FLOWS_POLL_SECS", 1)?,
            },
            log_format: log_format(&env)?,
        })
    }

    /// A one-line account of the backends in use, safe to log: URLs lose their credentials.
    pub fn describe_backends(&self) -> String {
        let sql = redact_url(self.database.url.expose_secret());
        let kv = match &self.kv.redis_url {
            Some(url) => format!("redis {}", redact_url(url.expose_secret())),
            None => "memory (in-process)".to_owned(),
        };
        let sink = if self.whatsapp.access_token.is_some() { "graph-api" } else { "sandbox" };
        format!("sql={} {sql}; kv={kv}; outbound={sink}", self.database.backend.name())
    }
}

/// `PAYMENT_RAIL_SECRET`: required with `PAYMENT_RAIL_URL`, and not the callbacks' key.
fn rail_secret(env: &Env) -> Result<Option<SecretString>, ConfigError> {
    let secret = env.secret("PAYMENT_RAIL_SECRET");
    if env.get("PAYMENT_RAIL_URL").is_some() && secret.is_none() {
        return Err(invalid(
            "PAYMENT_RAIL_SECRET",
            "required with PAYMENT_RAIL_URL: it signs teller's requests to the rail (PAYMENTS_WEBHOOK_SECRET only verifies callbacks)",
        ));
    }
    if let (Some(rail), Some(callbacks)) = (&secret, env.secret("PAYMENTS_WEBHOOK_SECRET"))
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            rail.expose_secret().as_bytes(),
            callbacks.expose_secret().as_bytes(),
        ))
    {
        return Err(invalid(
            "PAYMENT_RAIL_SECRET",
            "must differ from PAYMENTS_WEBHOOK_SECRET: one key per direction",
        ));
    }
    Ok(secret)
}

/// `CLIENT_IP_HEADER`, as a header name.
fn client_ip_header(env: &Env) -> Result<Option<http::HeaderName>, ConfigError> {
    env.get("CLIENT_IP_HEADER")
        .map(|name| {
            http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map_err(|_| invalid("CLIENT_IP_HEADER", format!("{name:?} is not a header name")))
        })
        .transpose()
}

/// The environment as a map, with typed accessors that name the variable in every error.
struct Env(HashMap<String, String>);

impl Env {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim())
    }

    fn secret(&self, name: &str) -> Option<SecretString> {
        self.0.get(name).map(|v| SecretString::from(v.clone()))
    }

    fn parse<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|_| invalid(name, format!("expected {expected}, got {raw:?}"))),
        }
    }

    fn seconds(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        let secs = self.parse(name, default, "a whole number of seconds")?;
        Ok(Duration::from_secs(secs))
    }

    fn url(&self, name: &'static str) -> Result<Option<Url>, ConfigError> {
        let Some(raw) = self.get(name) else { return Ok(None) };
        let url = Url::parse(raw).map_err(|e| invalid(name, format!("not a URL ({e})")))?;
        match url.scheme() {
            "http" | "https" => Ok(Some(url)),
            other => Err(invalid(name, format!("expected an http(s) URL, got scheme {other:?}"))),
        }
    }
}

/// `OPENAI_TIMEOUT_MS`'s default: how long a customer may wait for the model.
pub const DEFAULT_OPENAI_TIMEOUT: Duration = Duration::from_millis(2_500);

fn openai_timeout(env: &Env) -> Result<Duration, ConfigError> {
    let default = u64::try_from(DEFAULT_OPENAI_TIMEOUT.as_millis()).unwrap_or(2_500);
    let ms: u64 = env.parse("OPENAI_TIMEOUT_MS", default, "a whole number of milliseconds")?;
    if !(100..=30_000).contains(&ms) {
        return Err(invalid(
            "OPENAI_TIMEOUT_MS",
            "must be from 100 to 30000: the customer waits this long at most",
        ));
    }
    Ok(Duration::from_millis(ms))
}

fn request_timeout(env: &Env) -> Result<Duration, ConfigError> {
    positive_seconds(env, "REQUEST_TIMEOUT_SECS", 15)
}

fn positive_count(env: &Env, var: &'static str, default: u32) -> Result<u32, ConfigError> {
    let n: u32 = env.parse(var, default, "a whole number")?;
    if n == 0 {
        return Err(invalid(var, "must be at least 1"));
    }
    Ok(n)
}

fn positive_seconds(env: &Env, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
    let value = env.seconds(var, default)?;
    if value.is_zero() {
        return Err(invalid(var, "must be at least 1 second"));
    }
    Ok(value)
}

fn graph_base_url(env: &Env) -> Result<Url, ConfigError> {
    const VAR: &str = "WHATSAPP_API_BASE_URL";
    match env.url(VAR)? {
        Some(url) => Ok(url),
        None => Url::parse(DEFAULT_WHATSAPP_API_BASE_URL).map_err(|e| invalid(VAR, e.to_string())),
    }
}

fn database_config(env: &Env) -> Result<DatabaseConfig, ConfigError> {
    const VAR: &str = "DATABASE_URL";
    let raw = env.get(VAR).unwrap_or("sqlite://teller.db");
    // Only the scheme is named in errors: the rest may carry a password.
    let scheme = raw.split_once("://").map(|(s, _)| s).unwrap_or("");
    let backend = match scheme {
        "postgres" | "postgresql" => SqlBackend::Postgres,
        "sqlite" => SqlBackend::Sqlite,
        "" => return Err(invalid(VAR, "expected postgres://… or sqlite://…")),
        other => {
            return Err(invalid(VAR, format!("unsupported scheme {other:?}; expected postgres or sqlite")));
        }
    };
    if backend == SqlBackend::Postgres && Url::parse(raw).is_err() {
        return Err(invalid(VAR, "not a valid postgres URL"));
    }
    let default_pool = if backend == SqlBackend::Postgres { 8 } else { 4 };
    let max_connections: u32 =
        env.parse("DATABASE_MAX_CONNECTIONS", default_pool, "a whole number of connections")?;
    if max_connections == 0 {
        return Err(invalid("DATABASE_MAX_CONNECTIONS", "must be at least 1"));
    }
    Ok(DatabaseConfig { url: SecretString::from(raw.to_owned()), backend, max_connections })
}

fn redis_url(env: &Env) -> Result<Option<SecretString>, ConfigError> {
    const VAR: &str = "REDIS_URL";
    let Some(raw) = env.get(VAR) else { return Ok(None) };
    let scheme = raw.split_once("://").map(|(s, _)| s).unwrap_or("");
    if !matches!(scheme, "redis" | "rediss") {
        return Err(invalid(VAR, "expected redis://… or rediss://…"));
    }
    if Url::parse(raw).is_err() {
        return Err(invalid(VAR, "not a valid URL"));
    }
    Ok(Some(SecretString::from(raw.to_owned())))
}

fn tls_ca_cert(env: &Env) -> Result<Option<String>, ConfigError> {
    let Some(pem) = env.get("REDIS_TLS_CA_CERT") else { return Ok(None) };
    if !pem.starts_with("-----BEGIN CERTIFICATE-----") {
        return Err(invalid("REDIS_TLS_CA_CERT", "expected a PEM certificate (-----BEGIN CERTIFICATE-----)"));
    }
    Ok(Some(pem.to_owned()))
}

fn api_version(env: &Env) -> Result<String, ConfigError> {
    let v = env.get("WHATSAPP_API_VERSION").unwrap_or(DEFAULT_WHATSAPP_API_VERSION);
    let well_formed =
        v.strip_prefix('v').and_then(|rest| rest.split_once('.')).is_some_and(|(major, minor)| {
            !major.is_empty()
                && major.chars().all(|c| c.is_ascii_digit())
                && !minor.is_empty()
                && minor.chars().all(|c| c.is_ascii_digit())
        });
    if !well_formed {
        return Err(invalid("WHATSAPP_API_VERSION", format!("expected a version like v23.0, got {v:?}")));
    }
    Ok(v.to_owned())
}

fn workers(env: &Env, var: &'static str) -> Result<usize, ConfigError> {
    let n: usize = env.parse(var, 4, "a whole number of workers")?;
    if !(1..=64).contains(&n) {
        return Err(invalid(var, "must be from 1 to 64"));
    }
    Ok(n)
}

fn outbox_config(env: &Env, send_timeout: Duration) -> Result<OutboxConfig, ConfigError> {
    let rate_per_second: u32 =
        env.parse("WHATSAPP_SEND_RATE", 80, "a whole number of messages per second")?;
    if rate_per_second == 0 {
        return Err(invalid("WHATSAPP_SEND_RATE", "must be at least 1"));
    }
    let pair_burst: u32 = env.parse("WHATSAPP_PAIR_BURST", 10, "a whole number of messages")?;
    if pair_burst == 0 || pair_burst > 45 {
        return Err(invalid("WHATSAPP_PAIR_BURST", "must be from 1 to 45 (Meta's largest burst)"));
    }
    let max_attempts: i32 = env.parse("OUTBOX_MAX_ATTEMPTS", 10, "a whole number of attempts")?;
    if !(1..=50).contains(&max_attempts) {
        return Err(invalid("OUTBOX_MAX_ATTEMPTS", "must be from 1 to 50"));
    }
    let retry_ms: u64 = env.parse("OUTBOX_RETRY_BASE_MS", 1000, "a whole number of milliseconds")?;
    if retry_ms == 0 {
        return Err(invalid("OUTBOX_RETRY_BASE_MS", "must be at least 1"));
    }
    let lease = positive_seconds(env, "OUTBOX_LEASE_SECS", 30)?;
    if lease < send_timeout + Duration::from_secs(5) {
        return Err(invalid(
            "OUTBOX_LEASE_SECS",
            "must exceed WHATSAPP_SEND_TIMEOUT_SECS by at least 5 seconds, or a slow send could be sent twice",
        ));
    }
    let window_template = template(env, "WHATSAPP_WINDOW_TEMPLATE")?;
    let unknown_wait = env.seconds("OUTBOX_UNKNOWN_WAIT_SECS", 60)?;
    if unknown_wait > Duration::from_secs(3600) {
        return Err(invalid(
            "OUTBOX_UNKNOWN_WAIT_SECS",
            "at most 3600: a customer waits this long for a reply",
        ));
    }
    Ok(OutboxConfig {
        unknown_wait,
        rate_per_second,
        pair_burst,
        max_attempts,
        retry_base: Duration::from_millis(retry_ms),
        lease,
        workers: workers(env, "OUTBOX_WORKERS")?,
        window_template,
    })
}

/// A true/false variable (`true`/`1`, `false`/`0`).
fn flag(env: &Env, var: &'static str, default: bool) -> Result<bool, ConfigError> {
    match env.get(var) {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(invalid(var, format!("expected true or false, got {other:?}"))),
    }
}

fn worker_config(env: &Env, backend: SqlBackend) -> Result<WorkerConfig, ConfigError> {
    let in_serve = flag(env, "WORKER_IN_SERVE", backend == SqlBackend::Sqlite)?;
    let days = |var: &'static str, default: u64, least: u64| -> Result<Duration, ConfigError> {
        let n: u64 = env.parse(var, default, "a whole number of days")?;
        if n < least {
            return Err(invalid(var, format!("must be at least {least} days")));
        }
        Ok(Duration::from_secs(n * 24 * 3600))
    };
    let stuck_after = positive_seconds(env, "STUCK_TRANSFER_AFTER_SECS", 600)?;
    let suspense_after = positive_seconds(env, "STUCK_TRANSFER_SUSPENSE_AFTER_SECS", 3 * 24 * 3600)?;
    if suspense_after <= stuck_after {
        return Err(invalid(
            "STUCK_TRANSFER_SUSPENSE_AFTER_SECS",
            "must be longer than STUCK_TRANSFER_AFTER_SECS: a transfer is asked about before it is suspended",
        ));
    }
    Ok(WorkerConfig {
        port: env.parse("WORKER_PORT", 9090, "a port number from 0 to 65535")?,
        in_serve,
        lease: positive_seconds(env, "WORKER_LEASE_SECS", 120)?,
        stuck_transfers_every: positive_seconds(env, "JOB_STUCK_TRANSFERS_EVERY_SECS", 300)?,
        session_cleanup_every: positive_seconds(env, "JOB_SESSION_CLEANUP_EVERY_SECS", 900)?,
        monthly_fees_every: positive_seconds(env, "JOB_MONTHLY_FEES_EVERY_SECS", 3600)?,
        loans_every: positive_seconds(env, "JOB_LOANS_EVERY_SECS", 900)?,
        retention_every: positive_seconds(env, "JOB_RETENTION_EVERY_SECS", 24 * 3600)?,
        stuck_after,
        suspense_after,
        inbox_retention: days("RETENTION_INBOX_DAYS", 30, 8)?,
        outbox_retention: days("RETENTION_OUTBOX_DAYS", 30, 1)?,
        decisions_retention: days("RETENTION_LOAN_DECISIONS_DAYS", 180, 31)?,
    })
}

fn currency(env: &Env) -> Result<String, ConfigError> {
    let code = env.get("BANK_CURRENCY").unwrap_or("NGN");
    if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(invalid("BANK_CURRENCY", format!("expected an ISO 4217 code like NGN, got {code:?}")));
    }
    Ok(code.to_owned())
}

fn country_code(env: &Env) -> Result<String, ConfigError> {
    let code = env.get("BANK_COUNTRY_CODE").unwrap_or("234");
    if code.is_empty() || code.len() > 3 || !code.chars().all(|c| c.is_ascii_digit()) || code.starts_with('0')
    {
        return Err(invalid("BANK_COUNTRY_CODE", format!("expected a calling code like 234, got {code:?}")));
    }
    Ok(code.to_owned())
}

fn default_language(env: &Env) -> Result<String, ConfigError> {
    let language = env.get("DEFAULT_LANGUAGE").unwrap_or("en");
    if !crate::locale::LANGUAGES.contains(&language) {
        let shipped = crate::locale::LANGUAGES.join(", ");
        return Err(invalid("DEFAULT_LANGUAGE", format!("teller ships {shipped}; got {language:?}")));
    }
    Ok(language.to_owned())
}

/// What is wrong with a message template's `name` or `language` as Meta names them, if
/// anything: a name of lowercase letters, digits and `_` (at most 512), a language like `en` or
/// `en_US`. The outbound `Template` applies the same rule.
pub fn template_name_problem(name: &str, language: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 512 {
        return Some("the template name must be 1 to 512 characters");
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Some("the template name may only hold lowercase letters, digits and underscores");
    }
    if language.is_empty()
        || language.len() > 16
        || !language.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
    {
        return Some("the template language must look like en or en_US");
    }
    None
}

/// A template named by `var`, in the language `<var>_LANGUAGE` (default `en`).
fn template(env: &Env, var: &'static str) -> Result<Option<WindowTemplate>, ConfigError> {
    let Some(name) = env.get(var) else { return Ok(None) };
    let language = env.get(&format!("{var}_LANGUAGE")).unwrap_or("en").to_owned();
    template_name_problem(name, &language).map_or(Ok(()), |problem| Err(invalid(var, problem)))?;
    Ok(Some(WindowTemplate { name: name.to_owned(), language }))
}

fn timezone(env: &Env) -> Result<String, ConfigError> {
    let tz = env.get("BANK_TIMEZONE").unwrap_or("Africa/Lagos");
    // The shape of an IANA name (Area/Location, or UTC), and a zone the database knows.
    let shaped = tz == "UTC"
        || (tz.contains('/')
            && tz.split('/').all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
            }));
    if !shaped || tz.parse::<chrono_tz::Tz>().is_err() {
        return Err(invalid("BANK_TIMEZONE", format!("expected an IANA zone like Africa/Lagos, got {tz:?}")));
    }
    Ok(tz.to_owned())
}

fn log_format(env: &Env) -> Result<LogFormat, ConfigError> {
    match env.get("LOG_FORMAT") {
        None if std::io::stdout().is_terminal() => Ok(LogFormat::Pretty),
        None => Ok(LogFormat::Json),
        Some("pretty") => Ok(LogFormat::Pretty),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(invalid("LOG_FORMAT", format!("expected pretty or json, got {other:?}"))),
    }
}

/// A URL with its user name, password and query removed, fit for a log line.
///
/// Anything that does not parse is replaced whole: a malformed URL may still hold a password.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = Url::parse(raw) else { return "<unparseable url>".to_owned() };
    if url.cannot_be_a_base() {
        return format!("{}:<redacted>", url.scheme());
    }
    if !url.username().is_empty() {
        let _ = url.set_username("***");
    }
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn no_environment_gives_the_embedded_default() {
        let config = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(config.http.port, 8080);
        assert_eq!(config.database.backend, SqlBackend::Sqlite);
        assert_eq!(config.database.url.expose_secret(), "sqlite://teller.db");
        assert!(config.kv.redis_url.is_none());
        assert!(config.whatsapp.access_token.is_none());
        assert_eq!(config.whatsapp.api_base_url.as_str(), "https://graph.facebook.com/");
        assert_eq!(config.whatsapp.api_version, DEFAULT_WHATSAPP_API_VERSION);
        assert_eq!(config.bank.currency, "NGN");
        assert_eq!(config.bank.timezone, "Africa/Lagos");
        assert_eq!(config.bank.country_code, "234");
        assert_eq!(config.bank.default_language, "en");
        assert_eq!(config.flows_dir, PathBuf::from("flows"));
    }

    #[test]
    fn outbox_settings_default_to_metas_limits_and_refuse_unsafe_values() {
        let config = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(config.outbox.rate_per_second, 80);
        assert_eq!(config.outbox.pair_burst, 10);
        assert!(config.outbox.window_template.is_none());
        let config = Config::from_vars(vars(&[("WHATSAPP_WINDOW_TEMPLATE", "reopen_chat")])).unwrap();
        let template = config.outbox.window_template.unwrap();
        assert_eq!((template.name.as_str(), template.language.as_str()), ("reopen_chat", "en"));
        for (var, value) in [
            ("WHATSAPP_SEND_RATE", "0"),
            ("WHATSAPP_PAIR_BURST", "46"),
            ("OUTBOX_MAX_ATTEMPTS", "0"),
            ("WHATSAPP_WINDOW_TEMPLATE", "Reopen Chat"),
        ] {
            let err = Config::from_vars(vars(&[(var, value)])).unwrap_err();
            assert_eq!(err.var, var);
        }
        // A lease shorter than a send could take would let a second sender repeat the send.
        let err =
            Config::from_vars(vars(&[("OUTBOX_LEASE_SECS", "12"), ("WHATSAPP_SEND_TIMEOUT_SECS", "10")]))
                .unwrap_err();
        assert_eq!(err.var, "OUTBOX_LEASE_SECS");
    }

    #[test]
    fn the_scheme_of_database_url_picks_the_backend() {
        for (url, backend) in [
            ("postgres://u:p@db:5432/teller", SqlBackend::Postgres),
            ("postgresql://db/teller?sslmode=require", SqlBackend::Postgres),
            ("sqlite:///var/lib/teller.db", SqlBackend::Sqlite),
        ] {
            let config = Config::from_vars(vars(&[("DATABASE_URL", url)])).unwrap();
            assert_eq!(config.database.backend, backend, "{url}");
        }
    }

    #[test]
    fn empty_values_count_as_unset() {
        let config = Config::from_vars(vars(&[("REDIS_URL", ""), ("PORT", " ")])).unwrap();
        assert!(config.kv.redis_url.is_none());
        assert_eq!(config.http.port, 8080);
        assert_eq!(config.limits.customer_messages_per_minute, 30);
        assert_eq!(config.limits.payments_per_ip_per_minute, 600);
    }

    #[test]
    fn bad_values_are_named_without_echoing_secrets() {
        let err = Config::from_vars(vars(&[("DATABASE_URL", "mysql://root:hunter2@db/x")])).unwrap_err();
        assert_eq!(err.var, "DATABASE_URL");
        assert!(!err.to_string().contains("hunter2"), "{err}");

        let err = Config::from_vars(vars(&[("REDIS_URL", "http://:hunter2@cache")])).unwrap_err();
        assert_eq!(err.var, "REDIS_URL");
        assert!(!err.to_string().contains("hunter2"), "{err}");

        for (var, value) in [
            ("PORT", "eighty"),
            ("PORT", "70000"),
            ("BANK_CURRENCY", "naira"),
            ("BANK_TIMEZONE", "Lagos time"),
            ("BANK_COUNTRY_CODE", "+234"),
            ("DEFAULT_LANGUAGE", "fr"),
            ("LOG_FORMAT", "xml"),
            ("WHATSAPP_API_VERSION", "23"),
            ("WHATSAPP_API_BASE_URL", "ftp://graph"),
            ("DATABASE_MAX_CONNECTIONS", "0"),
            ("SHUTDOWN_GRACE_SECS", "-1"),
            ("REQUEST_TIMEOUT_SECS", "0"),
            ("DISPATCH_LEASE_SECS", "0"),
            ("KV_MEMORY_MAX_KEYS", "lots"),
            ("REDIS_TLS_CA_CERT", "/path/to/ca.pem"),
            ("WORKER_PORT", "ninety"),
            ("CUSTOMER_MESSAGES_PER_MINUTE", "-1"),
            ("PAYMENTS_PER_IP_PER_MINUTE", "0"),
            ("WORKER_IN_SERVE", "maybe"),
            ("WORKER_LEASE_SECS", "0"),
            ("JOB_MONTHLY_FEES_EVERY_SECS", "0"),
            ("JOB_LOANS_EVERY_SECS", "-1"),
            ("STUCK_TRANSFER_AFTER_SECS", "soon"),
            ("STUCK_TRANSFER_SUSPENSE_AFTER_SECS", "600"),
            ("RETENTION_INBOX_DAYS", "7"),
            ("RETENTION_OUTBOX_DAYS", "0"),
            ("RETENTION_LOAN_DECISIONS_DAYS", "30"),
            ("WHATSAPP_SANDBOX", "yes"),
            ("HASH_MEMORY_MIB", "0"),
            ("CLIENT_IP_HEADER", "not a header"),
        ] {
            let err = Config::from_vars(vars(&[(var, value)])).unwrap_err();
            assert_eq!(err.var, var, "{var}={value}: {err}");
        }
    }

    #[test]
    fn the_rail_signs_with_a_key_of_its_own() {
        let rail =
            [("PAYMENT_RAIL_URL", "https://rail.example"), ("PAYMENTS_WEBHOOK_SECRET", "callbacks-key")];
        let err = Config::from_vars(vars(&rail)).unwrap_err();
        assert_eq!(err.var, "PAYMENT_RAIL_SECRET", "{err}");
        let same = [rail[0], rail[1], ("PAYMENT_RAIL_SECRET", "callbacks-key")];
        let err = Config::from_vars(vars(&same)).unwrap_err();
        assert!(err.to_string().contains("must differ from PAYMENTS_WEBHOOK_SECRET"), "{err}");
        assert!(!err.to_string().contains("callbacks-key"), "never quotes a secret: {err}");
        let own = [rail[0], rail[1], ("PAYMENT_RAIL_SECRET", "rail-key")];
        let config = Config::from_vars(vars(&own)).unwrap();
        assert_eq!(
            config.payment_rail_secret.map(|s| s.expose_secret().to_owned()).as_deref(),
            Some("rail-key")
        );
    }

    #[test]
    fn the_jobs_run_inside_serve_only_on_the_embedded_default_unless_told() {
        let sqlite = Config::from_vars(vars(&[])).unwrap();
        assert!(sqlite.worker.in_serve);
        let postgres = Config::from_vars(vars(&[("DATABASE_URL", "postgres://db/teller")])).unwrap();
        assert!(!postgres.worker.in_serve);
        let told =
            Config::from_vars(vars(&[("DATABASE_URL", "postgres://db/teller"), ("WORKER_IN_SERVE", "true")]))
                .unwrap();
        assert!(told.worker.in_serve);
        assert_eq!(sqlite.worker.inbox_retention, Duration::from_secs(30 * 86_400));
        assert_eq!(sqlite.worker.suspense_after, Duration::from_secs(3 * 86_400));
    }

    #[test]
    fn the_model_is_optional_and_its_wait_is_bounded() {
        let config = Config::from_vars(vars(&[])).unwrap();
        assert!(config.openai.api_key.is_none());
        assert_eq!(config.openai.timeout, Duration::from_millis(2_500));
        let config = Config::from_vars(vars(&[
            ("OPENAI_API_KEY", "sk-x"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
            ("OPENAI_TIMEOUT_MS", "800"),
            ("OPENAI_TRANSCRIPTION_MODEL", "whisper-1"),
        ]))
        .unwrap();
        assert_eq!(config.openai.timeout, Duration::from_millis(800));
        assert_eq!(config.openai.transcription_model.as_deref(), Some("whisper-1"));
        for bad in ["50", "60000", "soon"] {
            let err = Config::from_vars(vars(&[("OPENAI_TIMEOUT_MS", bad)])).unwrap_err();
            assert_eq!(err.var, "OPENAI_TIMEOUT_MS", "{bad}");
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let config = Config::from_vars(vars(&[
            ("DATABASE_URL", "postgres://teller:s3cr3t-db@db/teller"),
            ("REDIS_URL", "rediss://default:s3cr3t-kv@cache:25061"),
            ("WHATSAPP_APP_SECRET", "s3cr3t-app"),
            ("WHATSAPP_ACCESS_TOKEN", "s3cr3t-token"),
            ("WHATSAPP_VERIFY_TOKEN", "s3cr3t-verify"),
            ("PAYMENTS_WEBHOOK_SECRET", "s3cr3t-pay"),
            ("OPENAI_API_KEY", "s3cr3t-openai"),
        ]))
        .unwrap();
        let shown = format!("{config:?} {}", config.describe_backends());
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("sql=postgres postgres://***:***@db/teller"), "{shown}");
        assert!(shown.contains("kv=redis rediss://***:***@cache:25061"), "{shown}");
    }

    #[test]
    fn redacting_a_url_drops_credentials_and_query() {
        assert_eq!(
            redact_url("postgres://app:pw@db.example:25060/teller?sslmode=require&password=pw"),
            "postgres://***:***@db.example:25060/teller"
        );
        assert_eq!(redact_url("sqlite://teller.db"), "sqlite://teller.db");
        assert_eq!(redact_url("not a url with pw"), "<unparseable url>");
    }
}
