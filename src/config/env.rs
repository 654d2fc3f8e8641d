//! Reading the environment: the map of variables, and one parser per variable or group, each
//! with its default, its bounds and an error that names the variable (never its value).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{
    ConfigError, DEFAULT_WHATSAPP_API_BASE_URL, DEFAULT_WHATSAPP_API_VERSION, DatabaseConfig, LogFormat,
    OutboxConfig, SqlBackend, WindowTemplate, WorkerConfig, invalid,
};

/// `PAYMENT_RAIL_SECRET`: required with `PAYMENT_RAIL_URL`, and not the callbacks' key.
pub(super) fn rail_secret(env: &Env) -> Result<Option<SecretString>, ConfigError> {
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

/// `BILLER_SECRET`: required with `BILLER_URL`.
pub(super) fn biller_secret(env: &Env) -> Result<Option<SecretString>, ConfigError> {
    let secret = env.secret("BILLER_SECRET").filter(|s| !s.expose_secret().trim().is_empty());
    if env.get("BILLER_URL").is_some() && secret.is_none() {
        return Err(invalid(
            "BILLER_SECRET",
            "required with BILLER_URL: it signs teller's requests to the biller",
        ));
    }
    Ok(secret)
}

/// `PAYMENT_PROVIDER` and, for `paystack`, its settings.
pub(super) fn paystack(env: &Env) -> Result<Option<super::PaystackConfig>, ConfigError> {
    match env.get("PAYMENT_PROVIDER").filter(|v| !v.is_empty()) {
        None => return Ok(None),
        Some(v) if v.eq_ignore_ascii_case("paystack") => {}
        Some(other) => {
            return Err(invalid(
                "PAYMENT_PROVIDER",
                format!("{other:?} is not a provider teller has an adapter for: paystack, or unset"),
            ));
        }
    }
    if env.get("PAYMENT_RAIL_URL").is_some() {
        return Err(invalid(
            "PAYMENT_RAIL_URL",
            "set with PAYMENT_PROVIDER=paystack: payouts go through one of them; unset PAYMENT_RAIL_URL",
        ));
    }
    let secret_key =
        env.secret("PAYSTACK_SECRET_KEY")
            .filter(|key| !key.expose_secret().trim().is_empty())
            .ok_or_else(|| invalid("PAYSTACK_SECRET_KEY", "required with PAYMENT_PROVIDER=paystack"))?;
    let base_url = match env.url("PAYSTACK_BASE_URL")? {
        Some(url) => url,
        None => Url::parse(super::DEFAULT_PAYSTACK_BASE_URL)
            .map_err(|_| invalid("PAYSTACK_BASE_URL", "the default does not parse"))?,
    };
    let preferred_bank = env.get("PAYSTACK_PREFERRED_BANK").unwrap_or("wema-bank").to_owned();
    if preferred_bank.is_empty()
        || !preferred_bank.bytes().all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
    {
        return Err(invalid("PAYSTACK_PREFERRED_BANK", "a provider slug, e.g. wema-bank or titan-paystack"));
    }
    let email_domain = env.get("PAYSTACK_EMAIL_DOMAIN").unwrap_or("customers.teller.invalid").to_owned();
    if email_domain.is_empty() || email_domain.contains('@') || !email_domain.contains('.') {
        return Err(invalid("PAYSTACK_EMAIL_DOMAIN", "a domain name, e.g. customers.mybank.ng"));
    }
    Ok(Some(super::PaystackConfig { secret_key, base_url, preferred_bank, email_domain }))
}

/// `CLIENT_IP_HEADER`, as a header name.
pub(super) fn client_ip_header(env: &Env) -> Result<Option<http::HeaderName>, ConfigError> {
    env.get("CLIENT_IP_HEADER")
        .map(|name| {
            http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map_err(|_| invalid("CLIENT_IP_HEADER", format!("{name:?} is not a header name")))
        })
        .transpose()
}

/// The environment as a map, with typed accessors that name the variable in every error.
pub(super) struct Env(pub(super) HashMap<String, String>);

impl Env {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim())
    }

    pub(super) fn secret(&self, name: &str) -> Option<SecretString> {
        self.0.get(name).map(|v| SecretString::from(v.clone()))
    }

    pub(super) fn parse<T: std::str::FromStr>(
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

    pub(super) fn seconds(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        let secs = self.parse(name, default, "a whole number of seconds")?;
        Ok(Duration::from_secs(secs))
    }

    pub(super) fn url(&self, name: &'static str) -> Result<Option<Url>, ConfigError> {
        // Empty is unset: a deploy spec lists the variable with no value to leave it off.
        let Some(raw) = self.get(name).filter(|raw| !raw.is_empty()) else { return Ok(None) };
        let url = Url::parse(raw).map_err(|e| invalid(name, format!("not a URL ({e})")))?;
        match url.scheme() {
            "http" | "https" => Ok(Some(url)),
            other => Err(invalid(name, format!("expected an http(s) URL, got scheme {other:?}"))),
        }
    }
}

/// `OPENAI_TIMEOUT_MS`'s default: how long a customer may wait for the model.
pub const DEFAULT_OPENAI_TIMEOUT: Duration = Duration::from_millis(2_500);

pub(super) fn openai_timeout(env: &Env) -> Result<Duration, ConfigError> {
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

pub(super) fn request_timeout(env: &Env) -> Result<Duration, ConfigError> {
    positive_seconds(env, "REQUEST_TIMEOUT_SECS", 15)
}

pub(super) fn positive_count(env: &Env, var: &'static str, default: u32) -> Result<u32, ConfigError> {
    let n: u32 = env.parse(var, default, "a whole number")?;
    if n == 0 {
        return Err(invalid(var, "must be at least 1"));
    }
    Ok(n)
}

pub(super) fn positive_seconds(env: &Env, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
    let value = env.seconds(var, default)?;
    if value.is_zero() {
        return Err(invalid(var, "must be at least 1 second"));
    }
    Ok(value)
}

pub(super) fn graph_base_url(env: &Env) -> Result<Url, ConfigError> {
    const VAR: &str = "WHATSAPP_API_BASE_URL";
    match env.url(VAR)? {
        Some(url) => Ok(url),
        None => Url::parse(DEFAULT_WHATSAPP_API_BASE_URL).map_err(|e| invalid(VAR, e.to_string())),
    }
}

pub(super) fn database_config(env: &Env) -> Result<DatabaseConfig, ConfigError> {
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

pub(super) fn redis_url(env: &Env) -> Result<Option<SecretString>, ConfigError> {
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

pub(super) fn tls_ca_cert(env: &Env) -> Result<Option<String>, ConfigError> {
    let Some(pem) = env.get("REDIS_TLS_CA_CERT") else { return Ok(None) };
    if !pem.starts_with("-----BEGIN CERTIFICATE-----") {
        return Err(invalid("REDIS_TLS_CA_CERT", "expected a PEM certificate (-----BEGIN CERTIFICATE-----)"));
    }
    Ok(Some(pem.to_owned()))
}

pub(super) fn api_version(env: &Env) -> Result<String, ConfigError> {
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

pub(super) fn workers(env: &Env, var: &'static str) -> Result<usize, ConfigError> {
    let n: usize = env.parse(var, 4, "a whole number of workers")?;
    if !(1..=64).contains(&n) {
        return Err(invalid(var, "must be from 1 to 64"));
    }
    Ok(n)
}

pub(super) fn outbox_config(env: &Env, send_timeout: Duration) -> Result<OutboxConfig, ConfigError> {
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
pub(super) fn flag(env: &Env, var: &'static str, default: bool) -> Result<bool, ConfigError> {
    match env.get(var) {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(invalid(var, format!("expected true or false, got {other:?}"))),
    }
}

pub(super) fn worker_config(env: &Env, backend: SqlBackend) -> Result<WorkerConfig, ConfigError> {
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
        care_every: positive_seconds(env, "JOB_CARE_EVERY_SECS", 60)?,
        funding_accounts_every: positive_seconds(env, "JOB_FUNDING_ACCOUNTS_EVERY_SECS", 60)?,
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

pub(super) fn currency(env: &Env) -> Result<String, ConfigError> {
    let code = env.get("BANK_CURRENCY").unwrap_or("NGN");
    if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(invalid("BANK_CURRENCY", format!("expected an ISO 4217 code like NGN, got {code:?}")));
    }
    Ok(code.to_owned())
}

/// `OPERATOR_APPROVAL_ABOVE`: an amount in `currency` (default 100000), in minor units.
pub(super) fn approval_above(env: &Env, currency: &str) -> Result<i64, ConfigError> {
    let raw = env.get("OPERATOR_APPROVAL_ABOVE").unwrap_or("100000");
    crate::money::parse_amount_in(raw, currency).map_err(|_| {
        invalid("OPERATOR_APPROVAL_ABOVE", format!("expected an amount like 100000 or 250,000, got {raw:?}"))
    })
}

pub(super) fn country_code(env: &Env) -> Result<String, ConfigError> {
    let code = env.get("BANK_COUNTRY_CODE").unwrap_or("234");
    if code.is_empty() || code.len() > 3 || !code.chars().all(|c| c.is_ascii_digit()) || code.starts_with('0')
    {
        return Err(invalid("BANK_COUNTRY_CODE", format!("expected a calling code like 234, got {code:?}")));
    }
    Ok(code.to_owned())
}

pub(super) fn default_language(env: &Env) -> Result<String, ConfigError> {
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
pub(super) fn template(env: &Env, var: &'static str) -> Result<Option<WindowTemplate>, ConfigError> {
    let Some(name) = env.get(var) else { return Ok(None) };
    let language = env.get(&format!("{var}_LANGUAGE")).unwrap_or("en").to_owned();
    template_name_problem(name, &language).map_or(Ok(()), |problem| Err(invalid(var, problem)))?;
    Ok(Some(WindowTemplate { name: name.to_owned(), language }))
}

pub(super) fn timezone(env: &Env) -> Result<String, ConfigError> {
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

pub(super) fn log_format(env: &Env) -> Result<LogFormat, ConfigError> {
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

/// `WHATSAPP_FLOWS_NAME`: a Flow name as Meta takes it (letters, digits, `_` and `-`).
pub(super) fn flows_name(env: &Env) -> Result<String, ConfigError> {
    let name = env.get("WHATSAPP_FLOWS_NAME").unwrap_or("teller_forms");
    let well_formed = (1..=100).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !well_formed {
        return Err(invalid("WHATSAPP_FLOWS_NAME", format!("letters, digits, _ and - only, got {name:?}")));
    }
    Ok(name.to_owned())
}
