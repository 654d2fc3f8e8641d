//! Authenticator secrets at rest, on both backends: a customer's and an admin's are kept sealed
//! under `SECRETS_KEY` (never in clear), logins and codes work from the sealed values, rotation
//! to a new key keeps them working once the old key is gone, and PostgreSQL without a key does
//! not start.

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use teller::config::SqlBackend;
use teller::sealed::{Keys, fresh_key};

use crate::admin::{Admin, Typed, try_login};
use crate::harness::{KvKind, TEST_SECRETS_KEY, TestApp, TestDb, base_env, config, kv_config};

crate::harness::on_both_sql_backends!(
    no_authenticator_secret_is_kept_in_clear_and_rotation_keeps_logins_working
);

const PHONE: &str = "2348030000133";
const KEY: &str = "wa:2348030000133";

/// Every authenticator secret as kept: (customers', admins').
async fn kept(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let mut tx = app.state.store.begin().await.unwrap();
    let customers = tx.customers().totp_secrets().await.unwrap().into_iter().map(|s| s.secret).collect();
    let admins = tx.admin().admin_totp_secrets().await.unwrap().into_iter().map(|s| s.secret).collect();
    tx.rollback().await.unwrap();
    (customers, admins)
}

/// The customer's authenticator code `steps` 30-second steps from now, never one `typed`
/// before.
fn app_code(secret: &str, typed: &Typed, steps: i64) -> String {
    typed.fresh(&teller::bank::secrets::totp(secret, "teller", "x").unwrap(), steps)
}

async fn no_authenticator_secret_is_kept_in_clear_and_rotation_keeps_logins_working(backend: SqlBackend) {
    let kv = if backend == SqlBackend::Postgres { KvKind::Redis } else { KvKind::Memory };
    let app = TestApp::spawn(backend, kv).await;
    // A customer enrols an authenticator app; an admin is created as `teller admin create` does.
    crate::conversations::customer(&app.state.bank, PHONE, "Ngozi Okafor", "4821", None).await;
    let bank = &app.state.bank;
    assert_eq!(bank.verify_pin(KEY, "4821").await.unwrap(), teller::bank::PinCheck::Verified);
    let (customer_secret, _) = bank.totp_begin(KEY).await.unwrap().unwrap();
    let typed = Typed::default();
    let enrolled = bank.totp_confirm(KEY, &app_code(&customer_secret, &typed, 0)).await.unwrap().unwrap();
    assert_eq!(enrolled, teller::bank::CodeCheck::Verified);
    let password = "correct horse secret battery".to_owned();
    let created = teller::admin::create::create(
        &app.state.config,
        "ops@bank.example",
        "operator",
        Some(password.clone()),
    )
    .await
    .unwrap();
    let admin = Admin::new(created.id, "ops@bank.example", &password, created.secret);

    // Sealed under the key, bound to the row: neither secret in clear.
    let (customers, admins) = kept(&app).await;
    for (sealed, secret) in [(&customers[0], &customer_secret), (&admins[0], &admin.secret)] {
        assert!(sealed.starts_with("v1:test:"), "{sealed}");
        assert!(!sealed.contains(secret.as_str()), "a secret is kept in clear");
    }
    let login = try_login(&app, &admin, &admin.password, &admin.code(0), "bearer").await;
    assert_eq!(login.status(), StatusCode::OK, "a login from the sealed secret");
    let code = app_code(&customer_secret, &typed, 1);
    assert_eq!(bank.verify_code(KEY, &code).await.unwrap().unwrap(), teller::bank::CodeCheck::Verified);

    // Rotation: a new key first, the old after it; everything sealed again under the new one.
    let new = format!("k2:{}", fresh_key());
    let both = Keys::parse(&format!("{new},{TEST_SECRETS_KEY}")).unwrap();
    let rotated = teller::admin::secrets::rotate(app.state.store.as_ref(), &both).await.unwrap();
    assert_eq!((rotated.customers, rotated.admins, rotated.identities, rotated.current), (1, 1, 1, 0));
    let again = teller::admin::secrets::rotate(app.state.store.as_ref(), &both).await.unwrap();
    assert_eq!(
        (again.customers, again.admins, again.identities, again.current),
        (0, 0, 0, 3),
        "a second rotation changes nothing"
    );
    let (customers, admins) = kept(&app).await;
    assert!(
        customers[0].starts_with("v1:k2:") && admins[0].starts_with("v1:k2:"),
        "{customers:?} {admins:?}"
    );

    // The old key dropped: another instance on the new key alone still logs the admin in, and
    // the bank on it still checks the customer's codes.
    let mut env = base_env_for(&app);
    env.insert("SECRETS_KEY".into(), new.clone());
    let second = TestApp::spawn_sharing(config(env, kv_config(kv))).await;
    let login = try_login(&second, &admin, &admin.password, &admin.code(1), "bearer").await;
    assert_eq!(login.status(), StatusCode::OK, "a login after rotation");
    let code = app_code(&customer_secret, &typed, -1);
    assert_eq!(
        second.state.bank.verify_code(KEY, &code).await.unwrap().unwrap(),
        teller::bank::CodeCheck::Verified
    );
    // With only the old key, the rotated secrets do not open: the old key really is gone.
    let old_only = Keys::parse(TEST_SECRETS_KEY).unwrap();
    assert!(old_only.open(&admins[0], &teller::sealed::admin_totp(admin.id)).is_err());
}

/// The environment `app` was started with (its database), for a second instance.
fn base_env_for(app: &TestApp) -> std::collections::HashMap<String, String> {
    let mut env = std::collections::HashMap::new();
    env.insert("PORT".to_owned(), "0".to_owned());
    env.insert("DATABASE_URL".to_owned(), app.state.config.database.url.expose_secret().to_owned());
    env.insert("LOG_FORMAT".to_owned(), "json".to_owned());
    env.insert("WHATSAPP_SANDBOX".to_owned(), "true".to_owned());
    env
}

#[tokio::test]
async fn postgres_without_a_key_does_not_start_and_sqlite_keeps_one_beside_its_database() {
    let db = TestDb::new(SqlBackend::Postgres).await;
    db.store().await.close().await;
    let mut env = base_env(&db);
    env.remove("SECRETS_KEY");
    let refused = teller::app::App::build(config(env, kv_config(KvKind::Memory))).await.err().unwrap();
    let message = refused.to_string();
    assert!(message.contains("SECRETS_KEY is not set with the data on PostgreSQL"), "{message}");
    assert!(message.contains("k1:"), "it shows a key to use: {message}");

    let lite = TestDb::new(SqlBackend::Sqlite).await;
    lite.store().await.close().await;
    let mut env = base_env(&lite);
    env.remove("SECRETS_KEY");
    let config = config(env, kv_config(KvKind::Memory));
    let keys = config.secrets_keys().unwrap();
    assert_eq!(keys.current(), "local");
    let file = format!("{}.key", lite.url.trim_start_matches("sqlite://"));
    assert!(std::path::Path::new(&file).exists(), "{file}");
    assert_eq!(config.secrets_keys().unwrap().current(), "local", "the same key next time");
}

crate::harness::on_both_sql_backends!(
    identity_numbers_are_kept_as_a_digest_and_sealed_and_still_found_after_rotation
);

/// Every identity number as kept: (digest or clear, sealed).
async fn identities(app: &TestApp) -> Vec<(String, Option<String>)> {
    let mut tx = app.state.store.begin().await.unwrap();
    let rows = tx.customers().identities().await.unwrap();
    tx.rollback().await.unwrap();
    rows.into_iter().map(|r| (r.id_number, r.id_number_sealed)).collect()
}

async fn identity_numbers_are_kept_as_a_digest_and_sealed_and_still_found_after_rotation(
    backend: SqlBackend,
) {
    let kv = if backend == SqlBackend::Postgres { KvKind::Redis } else { KvKind::Memory };
    let app = TestApp::spawn(backend, kv).await;
    let bank = &app.state.bank;
    // Registered as the chat does (its number is 2 and the phone's last ten digits).
    crate::conversations::customer(bank, PHONE, "Ngozi Okafor", "4821", None).await;
    let number = crate::conversations::id_number_of(PHONE);
    let kept = identities(&app).await;
    assert_eq!(kept.len(), 1);
    let (digest, sealed) = (&kept[0].0, kept[0].1.clone().unwrap());
    assert!(digest.starts_with("d1:test:") && sealed.starts_with("v1:test:"), "{digest} {sealed}");
    assert!(!digest.contains(&number) && !sealed.contains(&number), "the number is not kept in clear");
    // Still found: the same number, written with spaces, cannot open a second account.
    let spaced = format!("{} {} {}", &number[..4], &number[4..8], &number[8..]);
    assert_eq!(bank.id_number_free(&spaced).await.unwrap(), Err(teller::bank::Registration::IdNumberTaken));
    assert_eq!(bank.id_number_free("29999999999").await.unwrap(), Ok(()));

    // An operator sees its last three digits, opened from the sealed copy.
    let operator = crate::admin::make_admin(app.state.store.as_ref(), "ops@bank.example", "operator").await;
    let session = crate::admin::bearer(&app, &operator, 0).await;
    let (_, found) = session.get(&app, &format!("/admin/api/customers?phone={PHONE}")).await;
    assert_eq!(found["customer"]["id_number"], format!("•••{}", &number[number.len() - 3..]), "{found}");

    // A row kept before sealing (its number in clear) is found meanwhile, and sealed by the
    // rotation.
    let legacy = "10000000077";
    let mut tx = app.state.store.begin().await.unwrap();
    crate::harness::plain_customer(tx.as_mut(), 77, "2348077777777", chrono::Utc::now()).await;
    tx.commit().await.unwrap();
    assert_eq!(bank.id_number_free(legacy).await.unwrap(), Err(teller::bank::Registration::IdNumberTaken));

    // Rotation: a new key first; both numbers digested and sealed under it, and both still found
    // by a bank on the new key alone.
    let new = format!("k2:{}", fresh_key());
    let both = Keys::parse(&format!("{new},{TEST_SECRETS_KEY}")).unwrap();
    let rotated = teller::admin::secrets::rotate(app.state.store.as_ref(), &both).await.unwrap();
    assert_eq!(rotated.identities, 2, "{rotated:?}");
    for (digest, sealed) in identities(&app).await {
        assert!(
            digest.starts_with("d1:k2:") && sealed.as_deref().is_some_and(|s| s.starts_with("v1:k2:")),
            "{digest}"
        );
        assert!(!digest.contains(legacy), "the legacy number is no longer in clear");
    }
    let mut env = base_env_for(&app);
    env.insert("SECRETS_KEY".into(), new);
    let second = TestApp::spawn_sharing(config(env, kv_config(kv))).await;
    for taken in [number.as_str(), legacy] {
        let free = second.state.bank.id_number_free(taken).await.unwrap();
        assert_eq!(free, Err(teller::bank::Registration::IdNumberTaken), "{taken}");
    }
}
