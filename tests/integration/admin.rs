//! The admin API: login with TOTP, roles, lockout, CSRF, sessions, the flow lifecycle over
//! HTTP, customer support, the audit trail, and publications reaching every instance.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use teller::config::SqlBackend;
use teller::store::SqlStore;

use crate::harness::{KvKind, TestApp, TestDb, base_env, config, kv_config};

/// An admin a test made, with what logging in needs.
pub struct Admin {
    pub id: i64,
    pub email: String,
    pub password: String,
    pub secret: String,
    /// The codes handed out so far (see `code`).
    pub typed: Typed,
}

/// Authenticator codes already handed to a test.
#[derive(Default)]
pub struct Typed(Mutex<HashSet<String>>);

impl Admin {
    /// An admin known by these credentials, with no code typed yet.
    pub fn new(id: i64, email: &str, password: &str, secret: String) -> Admin {
        Admin { id, email: email.to_owned(), password: password.to_owned(), secret, typed: Typed::default() }
    }

    /// Their authenticator's code `steps` 30-second steps from now, never one handed out
    /// before (see `Typed::fresh`).
    pub fn code(&self, steps: i64) -> String {
        self.typed.fresh(&teller::admin::totp_for(&self.secret, &self.email, "teller").unwrap(), steps)
    }
}

impl Typed {
    /// `totp`'s code `steps` 30-second steps from now, never one handed out before: teller
    /// takes a code once, and two calls that straddle a step boundary can ask for the same
    /// step (`0`, then `-1` 30 s later). When that code was handed out already, the code of the
    /// nearest step teller still accepts (now, the next, the last) that was not.
    pub fn fresh(&self, totp: &totp_rs::TOTP, steps: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut typed = self.0.lock().unwrap();
        for step in [steps, 0, 1, -1] {
            let code = totp.generate(u64::try_from(now + 30 * step).unwrap());
            if typed.insert(code.clone()) {
                return code;
            }
        }
        panic!("every code teller accepts now was handed out already")
    }
}

/// Creates an admin straight in the store.
pub async fn make_admin(store: &dyn SqlStore, email: &str, role: &str) -> Admin {
    let password = format!("correct horse {role} battery");
    let secret =
        totp_rs::Secret::Raw(teller::bank::secrets::random_bytes::<20>().to_vec()).to_encoded().to_string();
    let hash = teller::hashing::Hasher::default().hash(password.clone()).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let id = tx.admin().create_admin(email, role, &hash, &secret, chrono::Utc::now()).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    Admin::new(id, email, &password, secret)
}

/// A signed-in admin's way of calling the API.
pub enum Session {
    Bearer(String),
    Cookie { cookie: String, csrf: String },
}

impl Session {
    /// A request with this session's credentials (and, for a cookie, the CSRF token).
    pub fn request(&self, app: &TestApp, method: Method, path: &str) -> RequestBuilder {
        let builder = app.client.request(method, app.url(path));
        match self {
            Session::Bearer(token) => builder.bearer_auth(token),
            Session::Cookie { cookie, csrf } => builder.header("cookie", cookie).header("x-csrf-token", csrf),
        }
    }

    pub async fn get(&self, app: &TestApp, path: &str) -> (StatusCode, Value) {
        answer(self.request(app, Method::GET, path)).await
    }

    pub async fn post(&self, app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
        answer(self.request(app, Method::POST, path).json(&body)).await
    }

    pub async fn put(&self, app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
        answer(self.request(app, Method::PUT, path).json(&body)).await
    }
}

/// A refusal: `status`, with the error the API names in its body (e.g. "forbidden").
#[track_caller]
pub fn refused((status, body): (StatusCode, Value), expected: StatusCode, error: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"], error, "{body}");
}

pub async fn answer(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Logs `admin` in with the code `steps` from now; the raw response.
pub async fn try_login(
    app: &TestApp,
    admin: &Admin,
    password: &str,
    code: &str,
    session: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/admin/api/login"))
        .json(&json!({ "email": admin.email, "password": password, "code": code, "session": session }))
        .send()
        .await
        .unwrap()
}

/// Logs `admin` in for a bearer token.
pub async fn bearer(app: &TestApp, admin: &Admin, steps: i64) -> Session {
    let response = try_login(app, admin, &admin.password, &admin.code(steps), "bearer").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    Session::Bearer(body["token"].as_str().unwrap().to_owned())
}

/// Logs `admin` in as the console does: a cookie and a CSRF token.
pub async fn cookie(app: &TestApp, admin: &Admin, steps: i64) -> Session {
    let response = try_login(app, admin, &admin.password, &admin.code(steps), "cookie").await;
    assert_eq!(response.status(), StatusCode::OK);
    let set = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/admin"),
        "{set}"
    );
    let body: Value = response.json().await.unwrap();
    assert!(body.get("token").is_none(), "the console never sees the session token");
    Session::Cookie {
        cookie: set.split(';').next().unwrap().to_owned(),
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

fn kv_for(backend: SqlBackend) -> KvKind {
    match backend {
        SqlBackend::Postgres => KvKind::Redis,
        SqlBackend::Sqlite => KvKind::Memory,
    }
}

async fn app(backend: SqlBackend) -> TestApp {
    TestApp::spawn(backend, kv_for(backend)).await
}

crate::harness::on_both_sql_backends!(
    each_role_may_do_what_it_is_for_and_nothing_more,
    failed_logins_lock_out_the_address_that_failed_not_the_admin,
    forged_address_headers_do_not_escape_the_per_address_limit,
    a_cookie_request_that_changes_anything_needs_the_csrf_token,
    logout_ends_every_session_of_the_admin,
    publishing_flows_with_errors_is_refused_and_changes_nothing,
    a_change_to_a_money_flow_needs_a_second_publishers_approval,
    a_stale_draft_is_rebased_and_a_rollback_is_a_new_release,
    an_operator_finds_a_customer_masked_and_unlocks_their_pin,
    a_viewer_reads_the_loan_book_and_it_agrees_with_the_ledger,
);

async fn each_role_may_do_what_it_is_for_and_nothing_more(backend: SqlBackend) {
    let app = app(backend).await;
    let store = app.state.store.clone();
    let viewer = bearer(&app, &make_admin(store.as_ref(), "viewer@bank.example", "viewer").await, 0).await;
    let editor = bearer(&app, &make_admin(store.as_ref(), "editor@bank.example", "editor").await, 0).await;
    let publisher =
        bearer(&app, &make_admin(store.as_ref(), "publisher@bank.example", "publisher").await, 0).await;
    let operator =
        bearer(&app, &make_admin(store.as_ref(), "operator@bank.example", "operator").await, 0).await;

    for session in [&viewer, &editor, &publisher, &operator] {
        let (status, flows) = session.get(&app, "/admin/api/flows").await;
        assert_eq!(
            (status, &flows["published"]["release"]["number"]),
            (StatusCode::OK, &json!(1)),
            "{flows}"
        );
        let (status, audit) = session.get(&app, "/admin/api/audit").await;
        assert_eq!(status, StatusCode::OK, "{audit}");
        assert!(
            audit["events"].as_array().is_some_and(|e| e.iter().any(|e| e["action"] == "admin.login")),
            "{audit}"
        );
    }
    let new_draft = json!({ "title": "Friendlier words" });
    let forbidden = StatusCode::FORBIDDEN;
    refused(viewer.post(&app, "/admin/api/drafts", new_draft.clone()).await, forbidden, "forbidden");
    refused(operator.post(&app, "/admin/api/drafts", new_draft.clone()).await, forbidden, "forbidden");
    let (_, flows) = editor.get(&app, "/admin/api/flows").await;
    assert_eq!(flows["drafts"], json!([]), "a refused draft was not made");
    let (status, made) = editor.post(&app, "/admin/api/drafts", new_draft).await;
    assert_eq!(status, StatusCode::OK);
    let id = made["id"].as_i64().unwrap();
    let (_, draft) = editor.get(&app, &format!("/admin/api/drafts/{id}")).await;
    let text = format!("{}\n# reviewed\n", draft["files"]["help.yaml"].as_str().unwrap());
    let put = json!({ "revision": draft["revision"], "text": text });
    let file = format!("/admin/api/drafts/{id}/files/help.yaml");
    refused(viewer.put(&app, &file, put.clone()).await, forbidden, "forbidden");
    let (_, unchanged) = editor.get(&app, &format!("/admin/api/drafts/{id}")).await;
    assert_eq!(unchanged["revision"], draft["revision"], "a refused edit changed nothing");
    let (status, edited) = editor.put(&app, &file, put).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    let publish = json!({ "revision": edited["revision"] });
    for session in [&viewer, &editor, &operator] {
        refused(
            session.post(&app, &format!("/admin/api/drafts/{id}/publish"), publish.clone()).await,
            forbidden,
            "forbidden",
        );
    }
    refused(
        editor.post(&app, "/admin/api/releases/1/rollback", json!({ "confirm": true })).await,
        forbidden,
        "forbidden",
    );
    let (_, releases) = publisher.get(&app, "/admin/api/releases").await;
    assert_eq!(releases["releases"].as_array().map(Vec::len), Some(1), "nothing was published: {releases}");
    let (status, published) = publisher.post(&app, &format!("/admin/api/drafts/{id}/publish"), publish).await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["release"]["number"], 2);

    // Customer support is the operator's alone: an editor cannot unlock a PIN.
    crate::conversations::customer(&app.state.bank, "2348030000001", "Ada Obi", "4821", None).await;
    for session in [&viewer, &editor, &publisher] {
        refused(session.get(&app, "/admin/api/customers?phone=2348030000001").await, forbidden, "forbidden");
        refused(session.post(&app, "/admin/api/customers/1/unlock", json!({})).await, forbidden, "forbidden");
    }
    let (status, found) = operator.get(&app, "/admin/api/customers?phone=2348030000001").await;
    assert_eq!((status, &found["customer"]["name"]), (StatusCode::OK, &json!("Ada O.")), "{found}");
    // Without a session, nothing.
    let unauthorized = StatusCode::UNAUTHORIZED;
    refused(answer(app.client.get(app.url("/admin/api/flows"))).await, unauthorized, "unauthorized");
    refused(
        answer(app.client.get(app.url("/admin/api/flows")).bearer_auth("made-up")).await,
        unauthorized,
        "unauthorized",
    );
}

/// An app that trusts `do-connecting-ip` for the client's address, as App Platform's is.
async fn behind_proxy(backend: SqlBackend) -> TestApp {
    let db = TestDb::new(backend).await;
    db.store().await.close().await;
    let mut env = base_env(&db);
    env.insert("CLIENT_IP_HEADER".into(), "do-connecting-ip".into());
    TestApp::spawn_with(config(env, kv_config(kv_for(backend))), db, |r| r).await
}

/// Logs in from `address` (as the proxy in front reports it).
async fn login_from(
    app: &TestApp,
    address: &str,
    email: &str,
    password: &str,
    code: &str,
) -> (StatusCode, Value) {
    let body = json!({ "email": email, "password": password, "code": code, "session": "bearer" });
    answer(app.client.post(app.url("/admin/api/login")).header("do-connecting-ip", address).json(&body)).await
}

async fn failed_logins_lock_out_the_address_that_failed_not_the_admin(backend: SqlBackend) {
    let app = behind_proxy(backend).await;
    let admin = make_admin(app.state.store.as_ref(), "ops@bank.example", "viewer").await;
    let thief = "198.51.100.66";
    // Wrong password, wrong code, unknown email, and then a lock: each is the same plain 401.
    let unauthorised = json!({ "error": "unauthorized" });
    for (password, code) in
        [("not the password".to_owned(), admin.code(0)), (admin.password.clone(), "000000".into())]
    {
        let (status, body) = login_from(&app, thief, &admin.email, &password, &code).await;
        assert_eq!((status, &body["error"]), (StatusCode::UNAUTHORIZED, &unauthorised["error"]));
    }
    for _ in 0..3 {
        let (status, body) = login_from(&app, thief, &admin.email, "guess", "111111").await;
        assert_eq!((status, &body["error"]), (StatusCode::UNAUTHORIZED, &unauthorised["error"]));
    }
    // Five failures from the thief's address: now even the right password and code are
    // refused from there, with the same 401 (the old 429 said "this account is locked").
    let (status, body) = login_from(&app, thief, &admin.email, &admin.password, &admin.code(0)).await;
    assert_eq!((status, &body["error"]), (StatusCode::UNAUTHORIZED, &unauthorised["error"]));
    // An unknown email fails the same way, locked out or not: nothing tells which emails exist.
    for _ in 0..6 {
        let (status, body) =
            login_from(&app, thief, "nobody@bank.example", "x".repeat(12).as_str(), "123456").await;
        assert_eq!((status, &body["error"]), (StatusCode::UNAUTHORIZED, &unauthorised["error"]));
    }
    // The admin, at their own desk, is not locked out by the stranger's guessing.
    let (status, body) =
        login_from(&app, "203.0.113.10", &admin.email, &admin.password, &admin.code(1)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["admin"]["email"], "ops@bank.example");
    let audit = app.state.store.recent_audit(30).await.unwrap();
    let locked: Vec<_> = audit.iter().filter(|e| e.event.action == "admin.locked").collect();
    assert_eq!(locked.len(), 1, "{audit:#?}");
    assert_eq!(locked[0].event.detail["address"], thief);
    assert_eq!(locked[0].event.subject, format!("admin:{}", admin.id));
    assert_eq!(audit.iter().filter(|e| e.event.action == "admin.login_failed").count(), 4);
    assert_eq!(audit.iter().filter(|e| e.event.action == "admin.login").count(), 1);
}

async fn forged_address_headers_do_not_escape_the_per_address_limit(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    db.store().await.close().await;
    let mut env = base_env(&db);
    env.insert("ADMIN_LOGIN_PER_IP_PER_MINUTE".into(), "3".into());
    let app = TestApp::spawn_with(config(env, kv_config(kv_for(backend))), db, |r| r).await;
    // The limit counts by the clock's minute: start well inside one, so all four fall in it.
    let second = chrono::Utc::now().timestamp() % 60;
    if second >= 55 {
        tokio::time::sleep(Duration::from_secs(u64::try_from(61 - second).unwrap())).await;
    }
    // No proxy is configured, so the headers a client writes are not its address: the
    // connection's is, and the fourth attempt in the minute is refused whatever it claims.
    for n in 0..4 {
        let forged = format!("10.9.8.{n}");
        let request = app
            .client
            .post(app.url("/admin/api/login"))
            .header("x-forwarded-for", &forged)
            .header("do-connecting-ip", &forged)
            .json(&json!({ "email": "a@bank.example", "password": "whatever-at-all", "code": "123456" }));
        let (status, body) = answer(request).await;
        let expected = if n < 3 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(status, expected, "attempt {n}: {body}");
    }
}

async fn a_cookie_request_that_changes_anything_needs_the_csrf_token(backend: SqlBackend) {
    let app = app(backend).await;
    let admin = make_admin(app.state.store.as_ref(), "editor@bank.example", "editor").await;
    let Session::Cookie { cookie: jar, csrf } = cookie(&app, &admin, 0).await else { unreachable!() };
    let body = json!({ "title": "A change" });
    let post = || app.client.post(app.url("/admin/api/drafts")).header("cookie", &jar).json(&body);
    refused(answer(post()).await, StatusCode::FORBIDDEN, "forbidden");
    refused(answer(post().header("x-csrf-token", "forged")).await, StatusCode::FORBIDDEN, "forbidden");
    let cross_site = post().header("x-csrf-token", &csrf).header("origin", "https://evil.example");
    refused(answer(cross_site).await, StatusCode::FORBIDDEN, "forbidden");
    assert!(
        app.state
            .store
            .recent_audit(50)
            .await
            .unwrap()
            .iter()
            .all(|e| e.event.action != "flow.draft_created")
    );
    // Reading needs no token; a change with it goes through.
    let (status, flows) = answer(app.client.get(app.url("/admin/api/flows")).header("cookie", &jar)).await;
    assert_eq!((status, flows["drafts"].clone()), (StatusCode::OK, json!([])), "no refused draft was made");
    let (status, made) = answer(post().header("x-csrf-token", &csrf)).await;
    assert_eq!((status, made), (StatusCode::OK, json!({ "id": 1 })));
    // A bearer token is not a cookie: no CSRF token needed, and a browser cannot send it unasked.
    let token = bearer(&app, &admin, 1).await;
    let Session::Bearer(token) = token else { unreachable!() };
    let (status, made) =
        answer(app.client.post(app.url("/admin/api/drafts")).bearer_auth(token).json(&body)).await;
    assert_eq!((status, made), (StatusCode::OK, json!({ "id": 2 })));
}

async fn logout_ends_every_session_of_the_admin(backend: SqlBackend) {
    let app = app(backend).await;
    let admin = make_admin(app.state.store.as_ref(), "ops@bank.example", "viewer").await;
    let console = cookie(&app, &admin, 0).await;
    let api = bearer(&app, &admin, 1).await;
    let other = make_admin(app.state.store.as_ref(), "other@bank.example", "viewer").await;
    let other = bearer(&app, &other, 0).await;
    let (status, me) = api.get(&app, "/admin/api/me").await;
    assert_eq!((status, me["email"].clone()), (StatusCode::OK, json!("ops@bank.example")), "{me}");
    let (status, out) = console.post(&app, "/admin/api/logout", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    refused(console.get(&app, "/admin/api/me").await, StatusCode::UNAUTHORIZED, "unauthorized");
    // The other session ended too; another admin's did not.
    refused(api.get(&app, "/admin/api/me").await, StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, me) = other.get(&app, "/admin/api/me").await;
    assert_eq!((status, me["email"].clone()), (StatusCode::OK, json!("other@bank.example")), "{me}");
}

/// Four eyes: a draft that changes a flow moving money is published only once another
/// publisher approved it at that revision, and never by the approver; an edit after the
/// approval needs a new one. Each refusal changes nothing; every step is audited.
async fn a_change_to_a_money_flow_needs_a_second_publishers_approval(backend: SqlBackend) {
    let app = app(backend).await;
    let store = app.state.store.clone();
    let ade = make_admin(store.as_ref(), "ade@bank.example", "publisher").await;
    let bisi = make_admin(store.as_ref(), "bisi@bank.example", "publisher").await;
    let editor = make_admin(store.as_ref(), "ed@bank.example", "editor").await;
    let (ade, bisi, editor) =
        (bearer(&app, &ade, 0).await, bearer(&app, &bisi, 0).await, bearer(&app, &editor, 0).await);
    let (_, made) = ade.post(&app, "/admin/api/drafts", json!({ "title": "Friendlier receipt" })).await;
    let id = made["id"].as_i64().unwrap();
    let (_, draft) = ade.get(&app, &format!("/admin/api/drafts/{id}")).await;
    assert_eq!(draft["money_flows"], json!([]), "nothing changed yet");
    let text = draft["files"]["send_to_customer.yaml"].as_str().unwrap().replace("✅ Sent", "✅ Done: sent");
    let path = format!("/admin/api/drafts/{id}/files/send_to_customer.yaml");
    let (_, edited) = ade.put(&app, &path, json!({ "revision": draft["revision"], "text": text })).await;
    let revision = edited["revision"].clone();
    let (_, draft) = ade.get(&app, &format!("/admin/api/drafts/{id}")).await;
    assert_eq!(draft["money_flows"], json!(["send_to_customer.yaml"]));
    assert_eq!(draft["needs_approval"], true);
    let publish = format!("/admin/api/drafts/{id}/publish");
    let approve = format!("/admin/api/drafts/{id}/approve");
    let releases =
        || async { ade.get(&app, "/admin/api/releases").await.1["releases"].as_array().unwrap().len() };

    let (status, refused) = ade.post(&app, &publish, json!({ "revision": revision })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(refused["error"].as_str().unwrap().contains("a second publisher must approve it"), "{refused}");
    assert_eq!(releases().await, 1, "nothing published");
    // An editor may not approve; the author may, but may not then publish it themselves.
    crate::admin::refused(
        editor.post(&app, &approve, json!({ "revision": revision })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (_, unapproved) = ade.get(&app, &format!("/admin/api/drafts/{id}")).await;
    assert_eq!(unapproved["needs_approval"], true, "the editor's refused approval counts for nothing");
    let (status, approved) = ade.post(&app, &approve, json!({ "revision": revision })).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    let (status, refused) = ade.post(&app, &publish, json!({ "revision": revision })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(refused["error"].as_str().unwrap().contains("you approved this draft yourself"), "{refused}");
    assert_eq!(releases().await, 1);

    // Bisi approves; then an edit voids the approval.
    assert_eq!(bisi.post(&app, &approve, json!({ "revision": revision })).await.0, StatusCode::OK);
    let (_, draft) = ade.get(&app, &format!("/admin/api/drafts/{id}")).await;
    assert_eq!(
        (draft["needs_approval"].clone(), draft["approved_by"].clone()),
        (json!(false), json!(format!("admin:{}", 2)))
    );
    let text = text.replace("✅ Done: sent", "✅ Done, sent");
    let (_, edited) = ade.put(&app, &path, json!({ "revision": revision, "text": text })).await;
    let revision = edited["revision"].clone();
    let (status, refused) = ade.post(&app, &publish, json!({ "revision": revision })).await;
    assert_eq!(status, StatusCode::CONFLICT, "the approval covered the revision before: {refused}");
    assert_eq!(releases().await, 1);

    // Bisi approves what is there now, and Ade publishes it.
    assert_eq!(bisi.post(&app, &approve, json!({ "revision": revision })).await.0, StatusCode::OK);
    let (status, published) = ade.post(&app, &publish, json!({ "revision": revision })).await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["release"]["number"], 2);
    let audit = store.recent_audit(30).await.unwrap();
    let approvals: Vec<_> = audit.iter().filter(|e| e.event.action == "flow.approved").collect();
    assert_eq!(approvals.len(), 3, "{audit:#?}");
    assert_eq!(approvals[0].event.actor, "admin:2");
    assert_eq!(approvals[0].event.detail["money_flows"], json!(["send_to_customer.yaml"]));
    let publication = audit.iter().find(|e| e.event.action == "flow.published").unwrap();
    assert_eq!(publication.event.actor, "admin:1");
    assert_eq!(publication.event.detail["approved_by"], "admin:2");
    assert_eq!(publication.event.detail["money_flows"], json!(["send_to_customer.yaml"]));
}

async fn publishing_flows_with_errors_is_refused_and_changes_nothing(backend: SqlBackend) {
    let app = app(backend).await;
    let admin = make_admin(app.state.store.as_ref(), "pub@bank.example", "publisher").await;
    let session = bearer(&app, &admin, 0).await;
    let (_, made) = session.post(&app, "/admin/api/drafts", json!({ "title": "Broken" })).await;
    let id = made["id"].as_i64().unwrap();
    let (_, draft) = session.get(&app, &format!("/admin/api/drafts/{id}")).await;
    let broken = draft["files"]["language.yaml"].as_str().unwrap().replace("next: done", "next: dnoe");
    let path = format!("/admin/api/drafts/{id}/files/language.yaml");
    let (status, edited) =
        session.put(&app, &path, json!({ "revision": draft["revision"], "text": broken })).await;
    assert_eq!(status, StatusCode::OK, "a broken draft may be saved");
    assert_eq!(edited["valid"], false);
    let error = edited["diagnostics"].as_array().unwrap().iter().find(|d| d["severity"] == "error").unwrap();
    assert_eq!(error["file"], "language.yaml");
    assert_eq!(error["line"], 32, "{error}");
    assert!(error["column"].as_u64().unwrap() > 1);
    assert!(error["message"].as_str().unwrap().contains("dnoe"), "{error}");

    let serving = app.state.conversations.current().version.clone();
    let (status, refused) = session
        .post(&app, &format!("/admin/api/drafts/{id}/publish"), json!({ "revision": edited["revision"] }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["details"]["diagnostics"][0]["line"], 32);
    let (_, releases) = session.get(&app, "/admin/api/releases").await;
    assert_eq!(releases["releases"].as_array().unwrap().len(), 1);
    assert_eq!(app.state.conversations.current().version, serving);
    // A stale revision is refused too: an edit made on an old copy cannot overwrite a newer one.
    let (status, _) =
        session.put(&app, &path, json!({ "revision": draft["revision"], "text": "flow: x" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // A file name that is not a flow file is refused.
    let (status, _) = session
        .put(
            &app,
            &format!("/admin/api/drafts/{id}/files/..%2Fetc.yaml"),
            json!({ "revision": edited["revision"], "text": "" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn a_stale_draft_is_rebased_and_a_rollback_is_a_new_release(backend: SqlBackend) {
    let app = app(backend).await;
    let admin = make_admin(app.state.store.as_ref(), "pub@bank.example", "publisher").await;
    let s = bearer(&app, &admin, 0).await;
    let edit = |file: &'static str, from: &'static str, to: &'static str| {
        let s = &s;
        let app = &app;
        async move {
            let (_, made) =
                s.post(app, "/admin/api/drafts", json!({ "title": format!("edit {file}") })).await;
            let id = made["id"].as_i64().unwrap();
            let (_, draft) = s.get(app, &format!("/admin/api/drafts/{id}")).await;
            let text = draft["files"][file].as_str().unwrap().replace(from, to);
            let (status, edited) = s
                .put(
                    app,
                    &format!("/admin/api/drafts/{id}/files/{file}"),
                    json!({ "revision": draft["revision"], "text": text }),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{edited}");
            (id, edited["revision"].as_i64().unwrap())
        }
    };
    let (first, first_rev) = edit("language.yaml", "Done ✅", "All set ✅").await;
    let (second, second_rev) = edit("help.yaml", "flow: help", "# reviewed by ops\nflow: help").await;
    let (status, one) =
        s.post(&app, &format!("/admin/api/drafts/{first}/publish"), json!({ "revision": first_rev })).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    // The second draft began before release 2: publishing it would undo release 2.
    let (status, stale) =
        s.post(&app, &format!("/admin/api/drafts/{second}/publish"), json!({ "revision": second_rev })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    let (status, rebased) =
        s.post(&app, &format!("/admin/api/drafts/{second}/rebase"), json!({ "revision": second_rev })).await;
    assert_eq!(status, StatusCode::OK, "{rebased}");
    let (status, three) = s
        .post(
            &app,
            &format!("/admin/api/drafts/{second}/publish"),
            json!({ "revision": rebased["revision"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{three}");
    let (_, release3) = s.get(&app, "/admin/api/releases/3").await;
    assert!(
        release3["files"]["language.yaml"].as_str().unwrap().contains("All set ✅"),
        "release 2's change kept"
    );
    assert!(release3["files"]["help.yaml"].as_str().unwrap().contains("# reviewed by ops"));

    let (status, rolled) = s.post(&app, "/admin/api/releases/1/rollback", json!({ "confirm": true })).await;
    assert_eq!(status, StatusCode::OK, "{rolled}");
    assert_eq!(rolled["release"]["number"], 4);
    assert_eq!(rolled["release"]["kind"], "rollback");
    assert_eq!(rolled["release"]["rollback_of"], 1);
    let (_, releases) = s.get(&app, "/admin/api/releases").await;
    let releases = releases["releases"].as_array().unwrap().clone();
    assert_eq!(releases.iter().map(|r| r["number"].as_i64().unwrap()).collect::<Vec<_>>(), [4, 3, 2, 1]);
    assert_eq!(releases[0]["version"], releases[3]["version"]);
    assert_eq!(app.state.conversations.current().version, releases[3]["version"].as_str().unwrap());
    // History is intact: release 3 still holds what it held.
    let (_, again) = s.get(&app, "/admin/api/releases/3").await;
    assert_eq!(again, release3);
    let (_, diff) = s.get(&app, "/admin/api/releases/4/diff?against=3").await;
    let files: Vec<(&str, &str)> = diff["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file"].as_str().unwrap(), f["status"].as_str().unwrap()))
        .collect();
    assert_eq!(files, [("help.yaml", "changed"), ("language.yaml", "changed")], "{diff}");
    // What the rollback took out, line by line.
    let lines =
        |n: usize| diff["files"][n]["diff"].as_str().unwrap().lines().map(str::to_owned).collect::<Vec<_>>();
    assert!(lines(0).contains(&"-# reviewed by ops".to_owned()), "{:#?}", lines(0));
    assert!(lines(1).iter().any(|l| l.starts_with('-') && l.contains("All set ✅")), "{:#?}", lines(1));
    assert!(lines(1).iter().any(|l| l.starts_with('+') && l.contains("Done ✅")), "{:#?}", lines(1));
    // Rolling back to what is served already is refused, and publishes nothing.
    let (status, refused) = s.post(&app, "/admin/api/releases/1/rollback", json!({ "confirm": true })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(refused["error"].as_str().is_some_and(|e| !e.is_empty()), "{refused}");
    let (_, after) = s.get(&app, "/admin/api/releases").await;
    assert_eq!(after["releases"].as_array().map(Vec::len), Some(4), "{after}");

    // The audit trail has who, what and before/after.
    let audit = app.state.store.recent_audit(50).await.unwrap();
    let published =
        audit.iter().find(|e| e.event.action == "flow.published" && e.event.subject == "release:2").unwrap();
    assert_eq!(published.event.actor, format!("admin:{}", admin.id));
    assert_eq!(published.event.detail["before"]["release"], 1);
    assert_eq!(published.event.detail["after"]["release"], 2);
    let edited = audit
        .iter()
        .find(|e| e.event.action == "flow.draft_edited" && e.event.subject == format!("draft:{first}"))
        .unwrap();
    assert!(edited.event.detail["before"].as_str().unwrap().contains("Done ✅"));
    assert!(edited.event.detail["after"].as_str().unwrap().contains("All set ✅"));
    assert!(audit.iter().any(|e| e.event.action == "flow.rolled_back" && e.event.detail["to_release"] == 1));
}

async fn an_operator_finds_a_customer_masked_and_unlocks_their_pin(backend: SqlBackend) {
    let app = app(backend).await;
    let phone = "2348030000055";
    crate::conversations::customer(&app.state.bank, phone, "Ngozi Okafor", "4821", Some("2,500")).await;
    let key = format!("wa:{phone}");
    for _ in 0..3 {
        app.state.bank.verify_pin(&key, "0000").await.unwrap();
    }
    let operator = make_admin(app.state.store.as_ref(), "ops@bank.example", "operator").await;
    let s = bearer(&app, &operator, 0).await;
    let (status, found) = s.get(&app, "/admin/api/customers?phone=08030000055").await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let customer = &found["customer"];
    assert_eq!(customer["name"], "Ngozi O.");
    assert_eq!(customer["pin_locked"], true, "{found}");
    let shown = found.to_string();
    assert!(!shown.contains(phone) && !shown.contains("Okafor") && !shown.contains("1990-05-17"), "{shown}");
    assert!(!shown.contains("pin_hash") && !shown.contains("$argon2"));
    assert_eq!(found["transactions"].as_array().unwrap().len(), 1);
    assert!(found["wallet"]["balance"].as_str().unwrap().contains("2,500"));

    let id = customer["id"].as_i64().unwrap();
    let (status, unlocked) = s.post(&app, &format!("/admin/api/customers/{id}/unlock"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{unlocked}");
    assert_eq!(unlocked, json!({ "unlocked": id }));
    let (status, again) = s.post(&app, &format!("/admin/api/customers/{id}/unlock"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(again["error"].as_str().is_some_and(|e| e.contains("not locked")), "{again}");
    let (_, after) = s.get(&app, "/admin/api/customers?phone=2348030000055").await;
    assert_eq!(after["customer"]["pin_locked"], false);
    let audit = app.state.store.recent_audit(20).await.unwrap();
    let actor = format!("admin:{}", operator.id);
    assert!(audit.iter().any(|e| e.event.action == "customer.unlocked" && e.event.actor == actor));
    assert!(audit.iter().any(|e| e.event.action == "customer.viewed" && e.event.actor == actor));
    // A malformed phone is a clear 400.
    let (status, bad) = s.get(&app, "/admin/api/customers?phone=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(bad["error"].as_str().is_some_and(|e| e.contains("phone")), "{bad}");
}

async fn a_viewer_reads_the_loan_book_and_it_agrees_with_the_ledger(backend: SqlBackend) {
    let app = app(backend).await;
    // A borrower made on a clock of our own: registered 120 days ago, with income since.
    let now = chrono::Utc::now();
    let clock = Arc::new(teller::clock::ManualClock::new(now - chrono::Duration::days(120)));
    let bank = crate::harness::bank(app.state.store.clone(), app.state.kv.clone(), clock.clone());
    let phone = "2348030000077";
    crate::conversations::customer(&bank, phone, "Bola Ade", "4821", None).await;
    for days in [80, 50, 20] {
        clock.set(now - chrono::Duration::days(days));
        bank.credit(&format!("pay-{days}"), phone, 4_000_000, "NGN", "Employer").await.unwrap();
    }
    clock.set(now);
    let key = format!("wa:{phone}");
    let offer = bank.loan_offer(&key, 1_500_000, "2", "offer-1").await.unwrap().unwrap();
    bank.verify_pin(&key, "4821").await.unwrap();
    bank.loan_accept(&key, &offer.reference).await.unwrap().unwrap();

    let viewer = make_admin(app.state.store.as_ref(), "viewer@bank.example", "viewer").await;
    let s = bearer(&app, &viewer, 0).await;
    let (status, book) = s.get(&app, "/admin/api/loans").await;
    assert_eq!(status, StatusCode::OK, "{book}");
    assert_eq!((book["active_loans"].as_i64(), book["lent"].as_i64()), (Some(1), Some(1_500_000)));
    assert_eq!(book["principal_outstanding"], 1_500_000);
    assert_eq!(book["outstanding"], offer.terms.total);
    assert_eq!(
        (book["loan_book_balance"].as_i64(), book["ledger_agrees"].as_bool()),
        (Some(-1_500_000), Some(true))
    );
    assert_eq!(
        book["arrears"][0],
        json!({ "days_past_due": "current", "loans": 1, "outstanding": offer.terms.total })
    );
    assert_eq!(book["offers_30d"]["active"], 1);
    assert_eq!(book["decisions_30d"]["eligible"], 1);
    assert_eq!(book["catalogue"][0]["id"], "starter");
    assert!(
        !book.to_string().contains(phone) && !book.to_string().contains("Bola"),
        "no customer is named: {book}"
    );
}

#[tokio::test]
async fn logins_from_one_address_are_limited_across_accounts() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    db.store().await.close().await;
    let mut env = base_env(&db);
    env.insert("ADMIN_LOGIN_PER_IP_PER_MINUTE".into(), "3".into());
    env.insert("CLIENT_IP_HEADER".into(), "do-connecting-ip".into());
    let app = TestApp::spawn_with(config(env, kv_config(KvKind::Memory)), db, |r| r).await;
    let from = |address: &'static str, email: &str| {
        app.client
            .post(app.url("/admin/api/login"))
            .header("do-connecting-ip", address)
            .json(&json!({ "email": email, "password": "whatever-at-all", "code": "123456" }))
    };
    let login = |email: &str| from("203.0.113.9", email);
    // The limit counts by the clock's minute: start well inside one, so all four fall in it.
    let second = chrono::Utc::now().timestamp() % 60;
    if second >= 55 {
        tokio::time::sleep(Duration::from_secs(u64::try_from(61 - second).unwrap())).await;
    }
    for n in 0..3 {
        assert_eq!(answer(login(&format!("a{n}@bank.example"))).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(answer(login("b@bank.example")).await.0, StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = from("198.51.100.7", "b@bank.example");
    assert_eq!(answer(elsewhere).await.0, StatusCode::UNAUTHORIZED, "another address is not held up");
}

#[tokio::test]
async fn the_console_is_served_with_strict_security_headers() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    for path in ["/admin", "/admin/assets/app.js", "/admin/api/openapi.json"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let csp = response.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path} is never cached");
        assert!(response.headers().get("strict-transport-security").is_none(), "no HSTS over plain HTTP");
    }
    let page = app.get("/admin").await.text().await.unwrap();
    assert!(!page.contains("<script>") && !page.contains("style="), "no inline script or style");
    assert!(!page.contains("http://") && !page.contains("https://"), "no CDN");
    let over_tls =
        app.client.get(app.url("/admin")).header("x-forwarded-proto", "https").send().await.unwrap();
    assert!(over_tls.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="));
}

#[tokio::test]
async fn the_openapi_description_matches_the_admin_routes() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let spec: Value = app.get("/admin/api/openapi.json").await.json().await.unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let mut operations = 0;
    for (path, methods) in spec["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            operations += 1;
            let concrete = path
                .replace("{number}", "1")
                .replace("{id}", "1")
                .replace("{file}", "help.yaml")
                .replace("{reference}", "L1");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response =
                app.client.request(method.clone(), app.url(&concrete)).json(&json!({})).send().await.unwrap();
            let status = response.status();
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {status}"
            );
            let public = operation["security"].as_array().is_some_and(Vec::is_empty);
            if !public {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} needs a session");
            }
        }
    }
    assert_eq!(operations, 53, "every admin route is described, and nothing else");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teller_admin_create_prints_the_enrolment_and_the_admin_can_log_in() {
    use std::io::Write;
    let db = TestDb::new(SqlBackend::Sqlite).await;
    db.store().await.close().await;
    let run = |email: &str, role: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_teller"))
            .args(["admin", "create", "--email", email, "--role", role, "--password-stdin"])
            .env("DATABASE_URL", &db.url)
            .env("SECRETS_KEY", crate::harness::TEST_SECRETS_KEY)
            .env_remove("REDIS_URL")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"a long enough password\n").unwrap();
        child.wait_with_output().unwrap()
    };
    let bad_role = run("ops@bank.example", "root");
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("viewer, editor, publisher, operator"));

    let created = run("Ops@Bank.example", "publisher");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let out = String::from_utf8(created.stdout).unwrap();
    assert!(out.contains('█') && out.contains('▀'), "a QR code: {out}");
    assert!(!out.contains("a long enough password"), "a password given is never printed");
    let uri = out.lines().find(|l| l.starts_with("otpauth://totp/")).unwrap();
    let secret =
        url::Url::parse(uri).unwrap().query_pairs().find(|(k, _)| k == "secret").unwrap().1.into_owned();
    assert!(!run("ops@bank.example", "viewer").status.success(), "the email is taken");

    let app = TestApp::spawn_with(config(base_env(&db), kv_config(KvKind::Memory)), db, |r| r).await;
    let admin = Admin::new(1, "ops@bank.example", "a long enough password", secret);
    let session = bearer(&app, &admin, 0).await;
    let (_, me) = session.get(&app, "/admin/api/me").await;
    assert_eq!(me["role"], "publisher");
    assert_eq!(me["email"], "ops@bank.example");
}

#[tokio::test]
async fn a_publication_on_one_instance_is_served_by_another_within_five_seconds() {
    let db = TestDb::new(SqlBackend::Postgres).await;
    db.store().await.close().await;
    let one = TestApp::spawn_sharing(config(base_env(&db), kv_config(KvKind::Redis))).await;
    let two = TestApp::spawn_sharing(config(base_env(&db), one.state.config.kv.clone())).await;
    let before = two.state.conversations.current().version.clone();
    assert_eq!(one.state.conversations.current().version, before);

    let admin = make_admin(one.state.store.as_ref(), "pub@bank.example", "publisher").await;
    let s = bearer(&one, &admin, 0).await;
    let (_, made) = s.post(&one, "/admin/api/drafts", json!({ "title": "New words" })).await;
    let id = made["id"].as_i64().unwrap();
    let (_, draft) = s.get(&one, &format!("/admin/api/drafts/{id}")).await;
    let text = draft["files"]["language.yaml"].as_str().unwrap().replace("Done ✅", "All set ✅");
    let (_, edited) = s
        .put(
            &one,
            &format!("/admin/api/drafts/{id}/files/language.yaml"),
            json!({ "revision": draft["revision"], "text": text }),
        )
        .await;
    let (status, published) = s
        .post(&one, &format!("/admin/api/drafts/{id}/publish"), json!({ "revision": edited["revision"] }))
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    let version = published["release"]["version"].as_str().unwrap().to_owned();
    assert_eq!(one.state.conversations.current().version, version, "the publishing instance at once");

    let started = Instant::now();
    while two.state.conversations.current().version != version {
        assert!(started.elapsed() < Duration::from_secs(5), "the other instance still serves {before}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    one.shutdown().await.unwrap();
    two.shutdown().await.unwrap();
    drop(db);
}
