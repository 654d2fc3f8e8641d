//! The HTTP surface: health, metrics, request ids, limits.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::{get, post};
use serde_json::Value;
use teller::config::SqlBackend;
use tower::ServiceExt;

use crate::harness::{self, KvKind, PrivateRedis, TestApp, TestDb, free_port};

async fn health(app: &TestApp) -> (u16, Value) {
    let response = app.get("/health").await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn health_is_ok_on_postgres_and_redis() {
    let app = TestApp::spawn(SqlBackend::Postgres, KvKind::Redis).await;
    let (status, body) = health(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["checks"]["sql"]["status"], "ok");
    assert_eq!(body["checks"]["sql"]["backend"], "postgres");
    assert_eq!(body["checks"]["kv"]["status"], "ok");
    assert_eq!(body["checks"]["kv"]["backend"], "redis");
    assert_eq!(app.state.store.backend(), SqlBackend::Postgres);
    assert_eq!(app.state.kv.backend(), "redis");
}

#[tokio::test]
async fn health_is_ok_on_the_embedded_default() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let (status, body) = health(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["sql"]["backend"], "sqlite");
    assert_eq!(body["checks"]["kv"]["backend"], "memory");
}

#[tokio::test]
async fn health_names_an_unreachable_sql_store() {
    let state = harness::state_with_unreachable_postgres(&[]).await;
    let request = axum::http::Request::get("/health").body(axum::body::Body::empty()).unwrap();
    let response = teller::http::router(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value =
        serde_json::from_slice(&axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap()).unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_ne!(body["checks"]["sql"]["status"], "ok");
    assert_eq!(body["checks"]["kv"]["status"], "ok");
    assert!(!body.to_string().contains("refused"), "no error detail leaks: {body}");
}

#[tokio::test]
async fn health_reports_redis_down_within_seconds_and_recovers_without_restart() {
    let port = free_port();
    let mut redis = PrivateRedis::start(port);
    let db = TestDb::new(SqlBackend::Sqlite).await;
    let mut kv = harness::kv_config(KvKind::Memory);
    kv.redis_url = Some(format!("redis://127.0.0.1:{port}").into());
    let app = TestApp::spawn_with(harness::config(harness::base_env(&db), kv), db, |r| r).await;
    assert_eq!(health(&app).await.0, 200);

    redis.stop();
    let stopped = Instant::now();
    let body = wait_for_health(&app, 503, Duration::from_secs(10)).await;
    assert!(stopped.elapsed() < Duration::from_secs(4), "took {:?}", stopped.elapsed());
    assert_ne!(body["checks"]["kv"]["status"], "ok", "{body}");
    assert_eq!(body["checks"]["sql"]["status"], "ok", "{body}");

    let _redis = PrivateRedis::start(port);
    wait_for_health(&app, 200, Duration::from_secs(15)).await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    app.get("/health").await;
    app.get("/health").await;
    app.get("/no/such/12345").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"teller_http_requests_total{method="GET",route="/health",status="200"} 2"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(!text.contains("12345"), "raw paths never become labels");
    assert!(text.contains("teller_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn a_request_id_is_echoed_when_sane_and_generated_otherwise() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let sent = app.client.get(app.url("/health")).header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(sent.headers()["x-request-id"], "trace-42");

    let junk =
        app.client.get(app.url("/health")).header("x-request-id", "a".repeat(200)).send().await.unwrap();
    let generated = junk.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(generated.len(), 36, "a fresh UUID replaces an unacceptable id: {generated}");

    let none = app.get("/health").await;
    assert!(uuid::Uuid::parse_str(none.headers()["x-request-id"].to_str().unwrap()).is_ok());
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404_with_the_request_id() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let response = app.client.get(app.url("/nope")).header("x-request-id", "r-1").send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not found");
    assert_eq!(body["request_id"], "r-1");
}

#[tokio::test]
async fn bodies_over_three_megabytes_are_refused() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    db.store().await.close().await;
    let config = harness::config(harness::base_env(&db), harness::kv_config(KvKind::Memory));
    let app = TestApp::spawn_with(config, db, |router| {
        router.route("/echo-len", post(|body: Bytes| async move { body.len().to_string() }))
    })
    .await;
    let limit = teller::http::BODY_LIMIT_BYTES;
    let ok = app.client.post(app.url("/echo-len")).body(vec![b'x'; limit]).send().await.unwrap();
    assert_eq!(ok.text().await.unwrap(), limit.to_string());
    let too_big = app.client.post(app.url("/echo-len")).body(vec![b'x'; limit + 1]).send().await.unwrap();
    assert_eq!(too_big.status(), 413);
}

#[tokio::test]
async fn a_request_over_the_timeout_is_answered_503() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    db.store().await.close().await;
    let mut env = harness::base_env(&db);
    env.insert("REQUEST_TIMEOUT_SECS".into(), "1".into());
    let config = harness::config(env, harness::kv_config(KvKind::Memory));
    let app = TestApp::spawn_with(config, db, |router| {
        router.route("/stuck", get(std::future::pending::<&'static str>))
    })
    .await;
    let response = app.get("/stuck").await;
    assert_eq!(response.status(), 503);
}

async fn wait_for_health(app: &TestApp, want: u16, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (status, body) = health(app).await;
        if status == want {
            return body;
        }
        assert!(Instant::now() < deadline, "health never became {want}; last: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Any client can invent methods and paths: each odd method became a metric label series of its
/// own (3,000 made 57,000 series). They fold into `method="other"` and `route="unmatched"`.
#[tokio::test]
async fn odd_methods_and_paths_fold_into_one_metric_label() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    for n in 0..40 {
        let method = reqwest::Method::from_bytes(format!("BREW{n}").as_bytes()).unwrap();
        for path in ["/health", &format!("/no/such/path/{n}")] {
            let response = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
            assert!(response.status().is_client_error(), "{method} {path}: {}", response.status());
        }
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let methods: std::collections::BTreeSet<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("teller_http_requests_total{"))
        .filter_map(|l| l.split("method=\"").nth(1)?.split('"').next())
        .collect();
    assert!(methods.contains("other"), "{methods:?}");
    for method in &methods {
        assert!(["GET", "POST", "other"].contains(method), "a method label clients chose: {method}");
    }
    let routes: std::collections::BTreeSet<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("teller_http_requests_total{"))
        .filter_map(|l| l.split("route=\"").nth(1)?.split('"').next())
        .collect();
    assert!(routes.iter().all(|r| !r.contains("/no/such")), "{routes:?}");
    let series = metrics.lines().filter(|l| l.starts_with("teller_http_requests_total{")).count();
    assert!(series <= 6, "{series} series after 80 odd requests");
}

/// What axum refuses before a handler runs (a body the JSON parser rejects, a wrong method, a
/// body over the limit, a bad query) answered plain text; every error is the documented JSON.
#[tokio::test]
async fn refusals_before_any_handler_are_json_with_a_request_id() {
    let app = TestApp::spawn(SqlBackend::Sqlite, KvKind::Memory).await;
    let json = |builder: reqwest::RequestBuilder| builder.header("content-type", "application/json");
    let cases = [
        ("malformed JSON", json(app.client.post(app.url("/admin/api/login"))).body("{not json")),
        ("a missing field", json(app.client.post(app.url("/admin/api/login"))).body(r#"{"email":"a@b.c"}"#)),
        (
            "an unknown field",
            json(app.client.post(app.url("/simulator/api/messages")))
                .body(r#"{"phone":"2348030000001","txt":"hi"}"#),
        ),
        ("no content type", app.client.post(app.url("/admin/api/login")).body(r#"{"email":"a"}"#)),
        ("a wrong method", app.client.patch(app.url("/health"))),
        ("a bad query", app.client.get(app.url("/simulator/api/session?telephone=1"))),
        ("a body over the limit", app.client.post(app.url("/webhook")).body(vec![b'x'; 4 * 1024 * 1024])),
    ];
    for (what, request) in cases {
        let response = request.send().await.unwrap();
        let status = response.status();
        assert!(status.is_client_error(), "{what}: {status}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("application/json"), "{what}: {content_type}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: {body}");
        assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{what}: {body}");
    }
}
