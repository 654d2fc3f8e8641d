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
    let err = Config::from_vars(vars(&[("OUTBOX_LEASE_SECS", "12"), ("WHATSAPP_SEND_TIMEOUT_SECS", "10")]))
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
fn the_biller_signs_with_its_own_key_and_an_empty_url_is_unset() {
    assert!(Config::from_vars(vars(&[("BILLER_URL", "")])).unwrap().biller_url.is_none());
    let err = Config::from_vars(vars(&[("BILLER_URL", "https://biller.example")])).unwrap_err();
    assert_eq!(err.var, "BILLER_SECRET", "{err}");
    let config =
        Config::from_vars(vars(&[("BILLER_URL", "https://biller.example"), ("BILLER_SECRET", "b-key")]))
            .unwrap();
    assert_eq!(config.biller_url.map(|u| u.to_string()).as_deref(), Some("https://biller.example/"));
    assert_eq!(Config::from_vars(vars(&[("BILLER_URL", "ftp://x")])).unwrap_err().var, "BILLER_URL");
}

#[test]
fn paystack_needs_its_key_and_excludes_the_generic_rail() {
    assert!(Config::from_vars(vars(&[])).unwrap().paystack.is_none(), "no provider by default");
    let err = Config::from_vars(vars(&[("PAYMENT_PROVIDER", "flutterwave")])).unwrap_err();
    assert_eq!(err.var, "PAYMENT_PROVIDER", "{err}");
    let err = Config::from_vars(vars(&[("PAYMENT_PROVIDER", "paystack")])).unwrap_err();
    assert_eq!(err.var, "PAYSTACK_SECRET_KEY", "{err}");
    let both = [
        ("PAYMENT_PROVIDER", "paystack"),
        ("PAYSTACK_SECRET_KEY", "sk_test_secret"),
        ("PAYMENT_RAIL_URL", "https://rail.example"),
        ("PAYMENT_RAIL_SECRET", "rail-key"),
    ];
    assert_eq!(Config::from_vars(vars(&both)).unwrap_err().var, "PAYMENT_RAIL_URL");
    let bad_bank = [both[0], both[1], ("PAYSTACK_PREFERRED_BANK", "Wema Bank")];
    assert_eq!(Config::from_vars(vars(&bad_bank)).unwrap_err().var, "PAYSTACK_PREFERRED_BANK");
    let bad_domain = [both[0], both[1], ("PAYSTACK_EMAIL_DOMAIN", "me@bank")];
    assert_eq!(Config::from_vars(vars(&bad_domain)).unwrap_err().var, "PAYSTACK_EMAIL_DOMAIN");
    let config = Config::from_vars(vars(&both[..2])).unwrap();
    let paystack = config.paystack.unwrap();
    assert_eq!(paystack.base_url.as_str(), "https://api.paystack.co/");
    assert_eq!(paystack.preferred_bank, "wema-bank");
    assert_eq!(paystack.secret_key.expose_secret(), "sk_test_secret");
    assert!(!format!("{paystack:?}").contains("sk_test_secret"), "never printed");
}

#[test]
fn the_rail_signs_with_a_key_of_its_own() {
    let rail = [("PAYMENT_RAIL_URL", "https://rail.example"), ("PAYMENTS_WEBHOOK_SECRET", "callbacks-key")];
    let err = Config::from_vars(vars(&rail)).unwrap_err();
    assert_eq!(err.var, "PAYMENT_RAIL_SECRET", "{err}");
    let same = [rail[0], rail[1], ("PAYMENT_RAIL_SECRET", "callbacks-key")];
    let err = Config::from_vars(vars(&same)).unwrap_err();
    assert!(err.to_string().contains("must differ from PAYMENTS_WEBHOOK_SECRET"), "{err}");
    assert!(!err.to_string().contains("callbacks-key"), "never quotes a secret: {err}");
    let own = [rail[0], rail[1], ("PAYMENT_RAIL_SECRET", "rail-key")];
    let config = Config::from_vars(vars(&own)).unwrap();
    assert_eq!(config.payment_rail_secret.map(|s| s.expose_secret().to_owned()).as_deref(), Some("rail-key"));
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
