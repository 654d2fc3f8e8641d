//! Admin accounts run by an owner: invitations through a setup link, role changes that apply
//! at once, disabling that ends sessions on every instance, resets that stop the old password
//! or authenticator, the last owner kept, and every role but the owner's refused.

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use teller::config::{Config, SqlBackend};
use teller::store::SqlStore;

use crate::admin::{Admin, Session, answer, bearer, make_admin, refused, try_login};
use crate::harness::{self, KvKind, TestApp};

async fn app(backend: SqlBackend) -> TestApp {
    let kv = if backend == SqlBackend::Postgres { KvKind::Redis } else { KvKind::Memory };
    TestApp::spawn(backend, kv).await
}

crate::harness::on_both_sql_backends!(
    only_an_owner_runs_admin_accounts_and_a_refusal_changes_nothing,
    an_invitation_is_a_link_that_sets_a_password_and_an_authenticator_once,
    a_role_change_applies_to_open_sessions_at_once,
    disabling_an_admin_ends_their_sessions_and_their_sign_in,
    a_reset_stops_the_old_password_or_authenticator_at_once,
    the_last_owner_is_kept_and_nobody_changes_their_own_account,
);

/// Every admin as the store has them: (email, role, disabled, has a password).
async fn accounts(store: &dyn SqlStore) -> Vec<(String, String, bool, bool)> {
    let mut tx = store.begin().await.unwrap();
    let admins = tx.admin().admins().await.unwrap();
    tx.rollback().await.unwrap();
    admins
        .into_iter()
        .map(|a| (a.email.clone(), a.role.clone(), a.disabled_at.is_some(), a.is_set_up()))
        .collect()
}

async fn audit_actions(store: &dyn SqlStore) -> Vec<String> {
    let mut tx = store.begin().await.unwrap();
    let events = tx.admin().audit_page(None, 200).await.unwrap();
    tx.rollback().await.unwrap();
    events.into_iter().map(|e| e.event.action).collect()
}

/// The token in a setup answer's path (`/admin/#/setup/<token>`).
fn token_of(setup: &Value) -> String {
    let path = setup["path"].as_str().unwrap();
    path.strip_prefix("/admin/#/setup/").unwrap_or_else(|| panic!("{setup}")).to_owned()
}

async fn setup_post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    answer(app.client.post(app.url(path)).json(&body)).await
}

async fn only_an_owner_runs_admin_accounts_and_a_refusal_changes_nothing(backend: SqlBackend) {
    let app = app(backend).await;
    let store = app.state.store.clone();
    let owner = bearer(&app, &make_admin(store.as_ref(), "owner@bank.example", "owner").await, 0).await;
    let target = make_admin(store.as_ref(), "target@bank.example", "editor").await;
    let mut others = Vec::new();
    for role in ["viewer", "editor", "publisher", "operator", "agent"] {
        let admin = make_admin(store.as_ref(), &format!("{role}@bank.example"), role).await;
        others.push(bearer(&app, &admin, 0).await);
    }
    let before = accounts(store.as_ref()).await;
    let t = target.id;
    for session in &others {
        refused(session.get(&app, "/admin/api/admins").await, StatusCode::FORBIDDEN, "forbidden");
        let invite = json!({ "email": "new@bank.example", "role": "owner" });
        refused(session.post(&app, "/admin/api/admins", invite).await, StatusCode::FORBIDDEN, "forbidden");
        let role = json!({ "role": "owner" });
        let path = format!("/admin/api/admins/{t}/role");
        refused(session.put(&app, &path, role).await, StatusCode::FORBIDDEN, "forbidden");
        for action in ["disable", "enable"] {
            let path = format!("/admin/api/admins/{t}/{action}");
            refused(session.post(&app, &path, json!({})).await, StatusCode::FORBIDDEN, "forbidden");
        }
        let reset = json!({ "what": "password" });
        let path = format!("/admin/api/admins/{t}/reset");
        refused(session.post(&app, &path, reset).await, StatusCode::FORBIDDEN, "forbidden");
    }
    assert_eq!(accounts(store.as_ref()).await, before, "no refused change changed an account");
    assert!(!audit_actions(store.as_ref()).await.iter().any(|a| a.starts_with("admin.invited")));

    // The owner's page lists every admin with their role and status.
    let (status, list) = owner.get(&app, "/admin/api/admins").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let admins = list["admins"].as_array().unwrap();
    assert_eq!(admins.len(), 7, "{list}");
    let row = admins.iter().find(|a| a["email"] == "target@bank.example").unwrap();
    assert_eq!((&row["role"], &row["status"]), (&json!("editor"), &json!("active")), "{row}");
    // Bad input is refused with a reason and changes nothing.
    let (status, body) =
        owner.post(&app, "/admin/api/admins", json!({ "email": "x", "role": "editor" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap().contains("is not an email address"), "{body}");
    let (status, body) =
        owner.put(&app, &format!("/admin/api/admins/{t}/role"), json!({ "role": "king" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap().contains("\"king\" is not a role"), "{body}");
    let (status, body) = owner
        .post(&app, "/admin/api/admins", json!({ "email": "TARGET@bank.example", "role": "viewer" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap().contains("has an account already"), "{body}");
    refused(
        owner.post(&app, "/admin/api/admins/999999/disable", json!({})).await,
        StatusCode::NOT_FOUND,
        "not found",
    );
    assert_eq!(accounts(store.as_ref()).await, before, "bad input changed nothing");
}

async fn an_invitation_is_a_link_that_sets_a_password_and_an_authenticator_once(backend: SqlBackend) {
    let app = app(backend).await;
    let store = app.state.store.clone();
    let owner = bearer(&app, &make_admin(store.as_ref(), "owner@bank.example", "owner").await, 0).await;
    let (status, invited) = owner
        .post(&app, "/admin/api/admins", json!({ "email": " Ada@Bank.example ", "role": "publisher" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    assert_eq!(invited["admin"]["email"], "ada@bank.example");
    assert_eq!(invited["admin"]["status"], "invited");
    let token = token_of(&invited["setup"]);

    // Not set up, the account cannot sign in, whatever is typed.
    let ada = Admin::new(0, "ada@bank.example", "", String::new());
    let response = try_login(&app, &ada, "", "000000", "bearer").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // The link shows whose account it is, asks for a password and enrols an authenticator.
    let (status, view) = setup_post(&app, "/admin/api/setup", json!({ "token": token })).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let setup = &view["setup"];
    assert_eq!(
        (&setup["email"], &setup["needs_password"]),
        (&json!("ada@bank.example"), &json!(true)),
        "{view}"
    );
    assert!(setup["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"), "{view}");
    assert!(setup["qr"].as_array().is_some_and(|rows| rows.len() >= 21), "a QR code to scan");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    // The authenticator secret waiting in the link is sealed, like the account's own.
    let mut tx = store.begin().await.unwrap();
    let open = tx.admin().open_admin_setups().await.unwrap();
    tx.rollback().await.unwrap();
    let kept = open[0].totp_secret.clone().unwrap();
    assert!(kept.starts_with("v1:") && !kept.contains(&secret), "sealed at rest");
    // `teller secrets rotate` seals the waiting link's secret under the new key too, and the
    // link still shows the same one.
    let new_key = format!("k2:{}", teller::sealed::fresh_key());
    let both =
        teller::sealed::Keys::parse(&format!("{new_key},{}", crate::harness::TEST_SECRETS_KEY)).unwrap();
    let rotated = teller::admin::secrets::rotate(store.as_ref(), &both).await.unwrap();
    assert!(rotated.admins >= 1, "{rotated:?}");
    let view =
        teller::admin::accounts::setup_view(store.as_ref(), &both, "teller", &token, chrono::Utc::now())
            .await
            .unwrap();
    assert_eq!(view.secret.as_deref(), Some(secret.as_str()), "the same secret, under the new key");
    let mut tx = store.begin().await.unwrap();
    let resealed = tx.admin().open_admin_setups().await.unwrap()[0].totp_secret.clone().unwrap();
    tx.rollback().await.unwrap();
    assert!(resealed.starts_with("v1:k2:"), "{resealed}");
    // Back under the test key, as the running app reads it.
    let back =
        teller::sealed::Keys::parse(&format!("{},{new_key}", crate::harness::TEST_SECRETS_KEY)).unwrap();
    teller::admin::secrets::rotate(store.as_ref(), &back).await.unwrap();

    // A wrong code, a short password and the email as password are refused; the link still works.
    let done = "/admin/api/setup/complete";
    let strong = "a long and happy password";
    let wrong = json!({ "token": token, "password": strong, "code": "000000" });
    let (status, body) = setup_post(&app, done, wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("not the one your authenticator app shows now"),
        "{body}"
    );
    // Ada, as she will be once set up.
    let ada = Admin::new(0, "ada@bank.example", strong, secret);
    let short = json!({ "token": token, "password": "short", "code": ada.code(0) });
    let (status, body) = setup_post(&app, done, short).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap().contains("at least 12 characters"), "{body}");
    assert!(
        !accounts(store.as_ref()).await.iter().any(|a| a.0 == "ada@bank.example" && a.3),
        "no password set"
    );

    let right = json!({ "token": token, "password": strong, "code": ada.code(0) });
    let (status, body) = setup_post(&app, done, right.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["admin"]["status"], "active", "{body}");
    // Once only: the same link again is gone, and so is a made-up one.
    let (status, body) = setup_post(&app, done, right).await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert!(body["error"].as_str().unwrap().contains("expired or was used already"), "{body}");
    let (status, _) = setup_post(&app, "/admin/api/setup", json!({ "token": "ab".repeat(32) })).await;
    assert_eq!(status, StatusCode::GONE);

    // Ada signs in with what she chose, as a publisher.
    let session = bearer(&app, &ada, 1).await;
    let (status, me) = session.get(&app, "/admin/api/me").await;
    assert_eq!((status, &me["role"]), (StatusCode::OK, &json!("publisher")), "{me}");
    let actions = audit_actions(store.as_ref()).await;
    assert!(actions.contains(&"admin.invited".into()) && actions.contains(&"admin.setup_completed".into()));
}

async fn a_role_change_applies_to_open_sessions_at_once(backend: SqlBackend) {
    let app = app(backend).await;
    let store = app.state.store.clone();
    let owner = bearer(&app, &make_admin(store.as_ref(), "owner@bank.example", "owner").await, 0).await;
    let publisher = make_admin(store.as_ref(), "pub@bank.example", "publisher").await;
    let session = bearer(&app, &publisher, 0).await;
    let (status, _) = session.get(&app, "/admin/api/flows").await;
    assert_eq!(status, StatusCode::OK);

    let path = format!("/admin/api/admins/{}/role", publisher.id);
    let (status, body) = owner.put(&app, &path, json!({ "role": "agent" })).await;
    assert_eq!((status, &body["admin"]["role"]), (StatusCode::OK, &json!("agent")), "{body}");
    // The open session is an agent's now: no flows, no drafts, and the tickets still open.
    refused(session.get(&app, "/admin/api/flows").await, StatusCode::FORBIDDEN, "forbidden");
    let draft = json!({ "title": "after the change" });
    refused(session.post(&app, "/admin/api/drafts", draft).await, StatusCode::FORBIDDEN, "forbidden");
    let (status, me) = session.get(&app, "/admin/api/me").await;
    assert_eq!((status, &me["role"]), (StatusCode::OK, &json!("agent")), "{me}");
    let mut tx = store.begin().await.unwrap();
    let events = tx.admin().audit_page(None, 50).await.unwrap();
    tx.rollback().await.unwrap();
    let change = events.iter().find(|e| e.event.action == "admin.role_changed").expect("audited");
    assert_eq!(change.event.detail["before"]["role"], "publisher", "{:?}", change.event.detail);
    assert_eq!(change.event.detail["after"]["role"], "agent", "{:?}", change.event.detail);
    assert_eq!(change.event.detail["admin_email"], "owner@bank.example", "{:?}", change.event.detail);
}

async fn disabling_an_admin_ends_their_sessions_and_their_sign_in(backend: SqlBackend) {
    let app = app(backend).await;
    let store = app.state.store.clone();
    let owner = bearer(&app, &make_admin(store.as_ref(), "owner@bank.example", "owner").await, 0).await;
    let editor = make_admin(store.as_ref(), "ed@bank.example", "editor").await;
    let sessions = [bearer(&app, &editor, 0).await, crate::admin::cookie(&app, &editor, 1).await];

    let path = format!("/admin/api/admins/{}/disable", editor.id);
    let (status, body) = owner.post(&app, &path, json!({})).await;
    assert_eq!((status, &body["admin"]["status"]), (StatusCode::OK, &json!("disabled")), "{body}");
    for session in &sessions {
        refused(session.get(&app, "/admin/api/me").await, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let response = try_login(&app, &editor, &editor.password, &editor.code(2), "bearer").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "a disabled admin cannot sign in");

    // Enabled again, they sign in again; the old sessions stay over.
    let path = format!("/admin/api/admins/{}/enable", editor.id);
    let (status, body) = owner.post(&app, &path, json!({})).await;
    assert_eq!((status, &body["admin"]["status"]), (StatusCode::OK, &json!("active")), "{body}");
    refused(sessions[0].get(&app, "/admin/api/me").await, StatusCode::UNAUTHORIZED, "unauthorized");
    let again = bearer(&app, &editor, -1).await;
    let (status, _) = again.get(&app, "/admin/api/me").await;
    assert_eq!(status, StatusCode::OK);
    let actions = audit_actions(store.as_ref()).await;
    assert!(actions.contains(&"admin.disabled".into()) && actions.contains(&"admin.enabled".into()));
}

async fn a_reset_stops_the_old_password_or_authenticator_at_once(backend: SqlBackend) {
    let app = app(backend).await;
    let store = app.state.store.clone();
    let owner = bearer(&app, &make_admin(store.as_ref(), "owner@bank.example", "owner").await, 0).await;
    let op = make_admin(store.as_ref(), "op@bank.example", "operator").await;
    let session = bearer(&app, &op, 0).await;
    let reset = format!("/admin/api/admins/{}/reset", op.id);

    // The password: the old one stops working and the session ends, before the link is used.
    let (status, body) = owner.post(&app, &reset, json!({ "what": "password" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    refused(session.get(&app, "/admin/api/me").await, StatusCode::UNAUTHORIZED, "unauthorized");
    let response = try_login(&app, &op, &op.password, &op.code(1), "bearer").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the old password no longer works");
    let token = token_of(&body["setup"]);
    let (_, view) = setup_post(&app, "/admin/api/setup", json!({ "token": token })).await;
    assert_eq!(
        (&view["setup"]["needs_password"], &view["setup"]["qr"]),
        (&json!(true), &Value::Null),
        "{view}"
    );
    let new_password = "a brand new password here";
    let (status, body) = setup_post(
        &app,
        "/admin/api/setup/complete",
        json!({ "token": token, "password": new_password, "code": "" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let op = Admin { password: new_password.into(), ..op };
    bearer(&app, &op, -1).await;

    // The authenticator: the old codes stop working; the password stays.
    let (status, body) = owner.post(&app, &reset, json!({ "what": "authenticator" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let response = try_login(&app, &op, &op.password, &op.code(2), "bearer").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the old authenticator no longer works");
    let token = token_of(&body["setup"]);
    let (_, view) = setup_post(&app, "/admin/api/setup", json!({ "token": token })).await;
    assert_eq!(view["setup"]["needs_password"], false, "{view}");
    let secret = view["setup"]["secret"].as_str().unwrap().to_owned();
    let op = Admin { secret, ..op };
    let (status, body) =
        setup_post(&app, "/admin/api/setup/complete", json!({ "token": token, "code": op.code(0) })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    bearer(&app, &op, 1).await;
    // A bad reset kind is refused.
    let (status, body) = owner.post(&app, &reset, json!({ "what": "everything" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let resets = audit_actions(store.as_ref()).await.iter().filter(|a| *a == "admin.reset").count();
    assert_eq!(resets, 2);
}

async fn the_last_owner_is_kept_and_nobody_changes_their_own_account(backend: SqlBackend) {
    let app = app(backend).await;
    let store = app.state.store.clone();
    let first = make_admin(store.as_ref(), "first@bank.example", "owner").await;
    let owner = bearer(&app, &first, 0).await;
    let own = format!("/admin/api/admins/{}", first.id);
    let (status, body) = owner.post(&app, &format!("{own}/disable"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap().contains("cannot change your own account"), "{body}");
    let (status, _) = owner.put(&app, &format!("{own}/role"), json!({ "role": "viewer" })).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // From the command line (no self), the last owner who can sign in is still kept.
    let cli = teller::admin::accounts::Actor::cli();
    let keys = &app.state.sealing;
    let now = chrono::Utc::now();
    let err =
        teller::admin::accounts::set_disabled(store.as_ref(), &cli, first.id, true, now).await.unwrap_err();
    assert!(err.to_string().contains("last owner who can sign in"), "{err}");
    let err = teller::admin::accounts::change_role(store.as_ref(), &cli, first.id, "viewer", now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("last owner"), "{err}");
    let reset = teller::admin::accounts::Reset::Password;
    let err =
        teller::admin::accounts::reset(store.as_ref(), keys, &cli, first.id, reset, now).await.unwrap_err();
    assert!(err.to_string().contains("last owner"), "{err}");
    // With a second owner, the first may be made a publisher.
    let second = make_admin(store.as_ref(), "second@bank.example", "owner").await;
    let second = bearer(&app, &second, 1).await;
    let (status, body) = second.put(&app, &format!("{own}/role"), json!({ "role": "publisher" })).await;
    assert_eq!((status, &body["admin"]["role"]), (StatusCode::OK, &json!("publisher")), "{body}");
    refused(owner.get(&app, "/admin/api/admins").await, StatusCode::FORBIDDEN, "forbidden");
}

/// Two `serve` instances on one PostgreSQL and Redis: an admin disabled through one is signed
/// out of the other at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_admin_is_signed_out_of_every_instance() {
    let first = app(SqlBackend::Postgres).await;
    let mut env: Vec<(String, String)> = vec![
        ("PORT".into(), "0".into()),
        ("DATABASE_URL".into(), first.state.config.database.url.expose_secret().to_owned()),
        ("SECRETS_KEY".into(), harness::TEST_SECRETS_KEY.into()),
    ];
    env.push(("WHATSAPP_SANDBOX".into(), "true".into()));
    let mut config = Config::from_vars(env).unwrap();
    config.kv = first.state.config.kv.clone();
    let second = TestApp::spawn_sharing(config).await;
    let store = first.state.store.clone();
    let owner = bearer(&first, &make_admin(store.as_ref(), "owner@bank.example", "owner").await, 0).await;
    let viewer = make_admin(store.as_ref(), "viewer@bank.example", "viewer").await;
    let on_second: Session = crate::admin::cookie(&second, &viewer, 0).await;
    let (status, _) = on_second.get(&second, "/admin/api/flows").await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) =
        owner.post(&first, &format!("/admin/api/admins/{}/disable", viewer.id), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    refused(on_second.get(&second, "/admin/api/flows").await, StatusCode::UNAUTHORIZED, "unauthorized");
}

/// `teller admin …` on the command line: the first owner, an invitation printed as a link,
/// a role changed, the last owner kept, an account disabled; each audited as the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teller_admin_commands_run_the_accounts_under_the_same_rules() {
    let db = crate::harness::TestDb::new(SqlBackend::Sqlite).await;
    db.store().await.close().await;
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_teller"));
        command
            .arg("admin")
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("SECRETS_KEY", crate::harness::TEST_SECRETS_KEY)
            .env_remove("REDIS_URL")
            .stdin(std::process::Stdio::null());
        let out = command.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(&["create", "--email", "boss@bank.example", "--role", "owner"]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(&["invite", "--email", "Ada@Bank.example", "--role", "editor"]);
    assert!(ok, "{err}");
    assert!(out.contains("ada@bank.example invited as editor.") && out.contains("/admin/#/setup/"), "{out}");
    let (ok, out, _) = run(&["role", "--email", "ada@bank.example", "--role", "publisher"]);
    assert!(ok && out.contains("ada@bank.example is now publisher."), "{out}");
    let (ok, _, err) = run(&["disable", "--email", "boss@bank.example"]);
    assert!(!ok && err.contains("is the last owner who can sign in"), "{err}");
    let (ok, _, err) = run(&["role", "--email", "ada@bank.example", "--role", "root"]);
    assert!(!ok && err.contains("\"root\" is not a role"), "{err}");
    let (ok, out, _) = run(&["disable", "--email", "ada@bank.example"]);
    assert!(ok && out.contains("ada@bank.example is disabled"), "{out}");
    let (ok, out, _) = run(&["list"]);
    assert!(ok, "{out}");
    let ada = out.lines().find(|l| l.contains("ada@bank.example")).unwrap();
    assert!(ada.contains("publisher") && ada.contains("disabled"), "{out}");
    let (ok, _, err) = run(&["reset", "--email", "nobody@bank.example", "--what", "password"]);
    assert!(!ok && err.contains("no such admin"), "{err}");
    let store = db.store().await;
    let actions = audit_actions(store.as_ref()).await;
    for action in ["admin.invited", "admin.role_changed", "admin.disabled"] {
        assert!(actions.contains(&action.to_owned()), "{action}: {actions:?}");
    }
    store.close().await;
}

/// Two owners disabling each other at the same moment (PostgreSQL, where they truly run at
/// once): one wins, the other is refused, and an owner who can sign in is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_owners_disabling_each_other_at_once_leave_one_owner() {
    let app = app(SqlBackend::Postgres).await;
    let store = app.state.store.clone();
    for round in 0..5 {
        let a = make_admin(store.as_ref(), &format!("a{round}@bank.example"), "owner").await;
        let b = make_admin(store.as_ref(), &format!("b{round}@bank.example"), "owner").await;
        // The owners of earlier rounds are disabled by now: these two are the only ones.
        let (sa, sb) = (bearer(&app, &a, 0).await, bearer(&app, &b, 0).await);
        let (pa, pb) =
            (format!("/admin/api/admins/{}/disable", b.id), format!("/admin/api/admins/{}/disable", a.id));
        let ((first, _), (second, _)) =
            tokio::join!(sa.post(&app, &pa, json!({})), sb.post(&app, &pb, json!({})));
        let mut outcomes = [first, second];
        outcomes.sort();
        // The loser is refused by the check (409) or, when the winner finished first, is signed
        // out already (401); never both allowed.
        assert_eq!(outcomes[0], StatusCode::OK, "round {round}: {outcomes:?}");
        assert!(
            matches!(outcomes[1], StatusCode::CONFLICT | StatusCode::UNAUTHORIZED),
            "round {round}: {outcomes:?}"
        );
        let active = accounts(store.as_ref()).await.into_iter().filter(|a| a.1 == "owner" && !a.2).count();
        assert_eq!(active, 1, "round {round}: one owner left");
        // The next round starts with no active owner but the two it makes.
        let mut tx = store.begin().await.unwrap();
        for admin in tx.admin().admins().await.unwrap() {
            tx.admin().set_admin_disabled(admin.id, Some(chrono::Utc::now())).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
}
