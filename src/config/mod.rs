//! Configuration, read once from the environment into typed values.
//!
//! Every variable name here is a contract (see `README.md`); the parsing is done from a plain
//! map so that tests never touch the process environment. Empty values count as unset, because
//! deployment platforms often define a variable with nothing in it. Secrets are held in
//! [`SecretString`], which never prints its contents, and error messages never echo a value that
//! could hold one (a database URL carries a password).
//!
//! A leaf: imports only `locale`.

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
    /// `WHATSAPP_FLOWS_PRIVATE_KEY`: the PEM RSA key of the Flows endpoint; set, PIN and code
    /// questions go out as forms. Unset: typed (the sandbox offers forms in the simulator).
    pub flows_private_key: Option<SecretString>,
    /// `WHATSAPP_FLOWS_PRIVATE_KEY_PASSPHRASE`: opens an encrypted `WHATSAPP_FLOWS_PRIVATE_KEY`.
    pub flows_private_key_passphrase: Option<SecretString>,
    /// `WHATSAPP_FLOWS_NAME`: the published Flow holding the PIN and code screens.
    pub flows_name: String,
    /// `WHATSAPP_BUSINESS_ACCOUNT_ID`: the WhatsApp Business Account (WABA) the Flows and
    /// templates belong to; needed only by `teller whatsapp … push`.
    pub business_account_id: Option<String>,
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
    /// `BANK_NAME`: how the bank is named to customers: in the greeting and in authenticator
    /// apps.
    pub name: String,
    /// `BANK_RULES`: the file of tiers, fees and security settings; `None` → the built-in
    /// `config/bank.yaml`.
    pub rules: Option<PathBuf>,
    /// `LOAN_PRODUCTS`: the file of loan products, eligibility and reminder rules; `None` → the
    /// built-in `config/loans.yaml`.
    pub loans: Option<PathBuf>,
    /// `CARE_RULES`: the file of customer care's business hours and targets; `None` → the
    /// built-in `config/care.yaml`.
    pub care: Option<PathBuf>,
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
    /// `JOB_FUNDING_ACCOUNTS_EVERY_SECS`: how often the payment provider is asked for the
    /// funding accounts not open yet (default 60; nothing to do without a provider).
    pub funding_accounts_every: Duration,
    /// `JOB_CARE_EVERY_SECS`: how often waiting customers are told when to expect a person and
    /// care's targets are checked (default 60).
    pub care_every: Duration,
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
    /// `OPERATOR_APPROVAL_ABOVE`: an operator's money correction (resolving suspense, waiving
    /// a late fee, restructuring or writing off a loan) above this amount, in the bank's
    /// currency, waits for a second admin's approval (default 100000). Minor units here.
    pub approval_above: i64,
}

/// The Paystack adapter's settings (`PAYMENT_PROVIDER=paystack`).
#[derive(Debug, Clone)]
pub struct PaystackConfig {
    /// `PAYSTACK_SECRET_KEY`: authenticates teller's calls and signs Paystack's events.
    pub secret_key: SecretString,
    /// `PAYSTACK_BASE_URL`: `https://api.paystack.co` unless a test or proxy says otherwise.
    pub base_url: Url,
    /// `PAYSTACK_PREFERRED_BANK`: the provider slug virtual accounts are opened at.
    pub preferred_bank: String,
    /// `PAYSTACK_EMAIL_DOMAIN`: Paystack requires an email per customer; teller has none, so
    /// each gets `<WhatsApp number>@<this domain>`.
    pub email_domain: String,
}

/// Paystack's API, when `PAYSTACK_BASE_URL` is not set.
pub const DEFAULT_PAYSTACK_BASE_URL: &str = "https://api.paystack.co";

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
    /// `PAYMENT_PROVIDER=paystack` and its settings: funding by dedicated virtual accounts,
    /// payouts through the provider; `None` keeps the generic or simulated rail.
    pub paystack: Option<PaystackConfig>,
    /// `BILLER_URL`: the generic biller API for airtime and data; `None` selects the built-in
    /// simulated biller.
    pub biller_url: Option<Url>,
    /// `BILLER_SECRET`: the HMAC key teller signs its requests to the biller with; required
    /// with `BILLER_URL`.
    pub biller_secret: Option<SecretString>,
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
    /// `SECRETS_KEY`: the keys authenticator secrets are sealed with at rest (see
    /// [`crate::sealed`]); required on PostgreSQL, else a key file beside the SQLite database.
    pub secrets_key: Option<SecretString>,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
}

impl Config {
    /// The keys secrets are sealed with at rest: `SECRETS_KEY`; without it, on SQLite, the key
    /// kept in a file beside the database (made there the first time), and on PostgreSQL none:
    /// a deployment must not seal with a key that lives on one machine.
    pub fn secrets_keys(&self) -> anyhow::Result<crate::sealed::Keys> {
        if let Some(value) = &self.secrets_key {
            return Ok(crate::sealed::Keys::parse(value.expose_secret())?);
        }
        if self.database.backend == SqlBackend::Postgres {
            anyhow::bail!(
                "SECRETS_KEY is not set with the data on PostgreSQL: it seals authenticator secrets at rest. Set it to \
                 k1:<base64 of 32 random bytes>, e.g. k1:{} (keep it in the secret store, the same on every \
                 instance)",
                crate::sealed::fresh_key()
            );
        }
        let url = self.database.url.expose_secret();
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() || path.contains(":memory:") {
            return Ok(crate::sealed::Keys::parse(&format!("memory:{}", crate::sealed::fresh_key()))?);
        }
        crate::sealed::Keys::from_file(std::path::Path::new(&format!("{path}.key")))
    }

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
                flows_private_key: env.secret("WHATSAPP_FLOWS_PRIVATE_KEY"),
                flows_private_key_passphrase: env.secret("WHATSAPP_FLOWS_PRIVATE_KEY_PASSPHRASE"),
                flows_name: flows_name(&env)?,
                business_account_id: env.get("WHATSAPP_BUSINESS_ACCOUNT_ID").map(str::to_owned),
            },
            outbox: outbox_config(&env, send_timeout)?,
            payments_webhook_secret: env.secret("PAYMENTS_WEBHOOK_SECRET"),
            payment_rail_url: env.url("PAYMENT_RAIL_URL")?,
            payment_rail_secret: rail_secret(&env)?,
            paystack: paystack(&env)?,
            biller_url: env.url("BILLER_URL")?,
            biller_secret: biller_secret(&env)?,
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
                care: env.get("CARE_RULES").map(PathBuf::from),
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
                approval_above: approval_above(&env, &currency(&env)?)?,
            },
            secrets_key: env.secret("SECRETS_KEY"),
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

mod env;

use env::*;
pub use env::{DEFAULT_OPENAI_TIMEOUT, redact_url, template_name_problem};

#[cfg(test)]
mod tests;
