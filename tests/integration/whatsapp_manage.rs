//! `teller whatsapp flows push` and `teller whatsapp templates push`, the real binary against a
//! fake Graph API built from Meta's documented calls: the public key uploaded for the number, a
//! leftover draft replaced by a published Flow holding the repository's JSON, a published one
//! only re-pointed; templates submitted in Meta's format (one Meta has left alone) and their
//! review status reported; a missing setting named.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::harness::FakeServer;
use crate::lifecycle::teller;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const ACCOUNT: &str = "555000111";

/// The fake's state: the account's Flows.
type Flows = Arc<Mutex<Vec<Value>>>;

async fn graph(State(flows): State<Flows>, request: Request) -> Response {
    let (method, path) = (request.method().as_str().to_owned(), request.uri().path().to_owned());
    let json = |body: Value| axum::Json(body).into_response();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    match (method.as_str(), path.as_str()) {
        ("POST", "/v25.0/100/whatsapp_business_encryption") => json(json!({"success": true})),
        ("GET", p) if p == format!("/v25.0/{ACCOUNT}/flows") => {
            json(json!({"data": flows.lock().unwrap().clone()}))
        }
        ("POST", p) if p == format!("/v25.0/{ACCOUNT}/flows") => {
            flows.lock().unwrap().push(json!({"id": "222", "name": field("name"), "status": "PUBLISHED"}));
            json(json!({"id": "222", "success": true, "validation_errors": []}))
        }
        ("DELETE", "/v25.0/111") => {
            flows.lock().unwrap().retain(|f| f["id"] != "111");
            json(json!({"success": true}))
        }
        ("POST", "/v25.0/222" | "/v25.0/333") => json(json!({"success": true})),
        ("POST", p) if p == format!("/v25.0/{ACCOUNT}/message_templates") => {
            if field("name") == "teller_login_code" {
                let error =
                    json!({"error": {"message": "Content in this language already exists", "code": 100}});
                return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
            }
            json(json!({"id": "9", "status": "PENDING", "category": field("category")}))
        }
        ("GET", p) if p == format!("/v25.0/{ACCOUNT}/message_templates") => json(json!({"data": [
            {"name": "teller_reopen_chat", "language": "en_US", "status": "PENDING", "quality_score": {"score": "UNKNOWN"}},
            {"name": "teller_login_code", "language": "en_US", "status": "APPROVED", "quality_score": {"score": "GREEN"}},
            {"name": "teller_reopen_chat", "language": "ha", "status": "PENDING", "quality_score": {"score": "UNKNOWN"}},
            {"name": "teller_login_code", "language": "ha", "status": "PENDING", "quality_score": {"score": "UNKNOWN"}},
        ]})),
        _ => (StatusCode::NOT_FOUND, format!("the fake has no {method} {path}")).into_response(),
    }
}

fn env(url: &str, key: &str, db: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", format!("sqlite://{}", db.join("teller.db").display())),
        ("WHATSAPP_ACCESS_TOKEN", "test-token".into()),
        ("WHATSAPP_PHONE_NUMBER_ID", "100".into()),
        ("WHATSAPP_BUSINESS_ACCOUNT_ID", ACCOUNT.into()),
        ("WHATSAPP_API_BASE_URL", url.into()),
        ("WHATSAPP_API_VERSION", "v25.0".into()),
        ("WHATSAPP_FLOWS_PRIVATE_KEY", key.into()),
    ]
}

fn run(args: &[&str], env: &[(&str, String)]) -> (bool, String, String) {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = teller(std::path::Path::new(ROOT), args, &env).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_flow_and_key_are_pushed_and_a_published_flow_is_only_repointed() {
    let flows: Flows =
        Arc::new(Mutex::new(vec![json!({"id": "111", "name": "teller_forms", "status": "DRAFT"})]));
    let fake = FakeServer::start(Router::new().fallback(graph).with_state(flows.clone())).await;
    let key = std::fs::read_to_string(format!("{ROOT}/tests/fixtures/whatsapp-flows/test-flows-private.pem"))
        .unwrap();
    let public =
        std::fs::read_to_string(format!("{ROOT}/tests/fixtures/whatsapp-flows/test-flows-public.pem"))
            .unwrap();
    let db = tempfile::tempdir().unwrap();
    let env = env(&fake.url, &key, db.path());
    let args = ["whatsapp", "flows", "push", "--endpoint", "https://bank.example/webhook/flows"];

    let (ok, stdout, stderr) = run(&args, &env);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("public key uploaded for number 100"), "{stdout}");
    assert!(stdout.contains("teller_forms (222) created and published"), "{stdout}");
    let every = "forms open on the screens PIN_ENTRY, CODE_ENTRY, REGISTRATION, IDENTITY_CHECK\n";
    assert!(stdout.ends_with(every), "the screens it was published with are recorded: {stdout}");
    let database = format!("recorded in sqlite://{}: forms open", db.path().join("teller.db").display());
    assert!(stdout.contains(&database), "where it recorded them is said: {stdout}");
    let received = fake.received();
    let calls: Vec<String> = received.iter().map(|r| format!("{} {}", r.method, r.uri)).collect();
    assert_eq!(
        calls,
        [
            "POST /v25.0/100/whatsapp_business_encryption".to_owned(),
            format!("GET /v25.0/{ACCOUNT}/flows?fields=id,name,status"),
            "DELETE /v25.0/111".to_owned(),
            format!("POST /v25.0/{ACCOUNT}/flows"),
        ]
    );
    assert_eq!(received[0].headers["authorization"], "Bearer test-token");
    let uploaded = form(&received[0].body);
    assert_eq!(uploaded, [("business_public_key".to_owned(), public.trim().to_owned() + "\n")]);
    let created: std::collections::HashMap<String, String> = form(&received[3].body).into_iter().collect();
    let repository = std::fs::read_to_string(format!("{ROOT}/whatsapp/teller_forms.json")).unwrap();
    assert_eq!(created["flow_json"], repository, "the repository's Flow JSON, as it is");
    assert_eq!((created["name"].as_str(), created["publish"].as_str()), ("teller_forms", "true"));
    assert_eq!(created["endpoint_uri"], "https://bank.example/webhook/flows");
    assert_eq!(serde_json::from_str::<Value>(&created["categories"]).unwrap(), json!(["OTHER"]));

    // Published now: a second push only points it at the endpoint.
    let (ok, stdout, stderr) = run(&args, &env);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("teller_forms (222) is published already"), "{stdout}");
    assert!(stdout.ends_with(every), "the record stands: {stdout}");
    let last = fake.received().last().cloned().unwrap();
    assert_eq!(format!("{} {}", last.method, last.uri), "POST /v25.0/222");
    assert_eq!(
        form(&last.body),
        [("endpoint_uri".to_owned(), "https://bank.example/webhook/flows".to_owned())]
    );

    // A Flow published before, by an older teller (none recorded): the first screens only, and
    // how to have the others.
    flows.lock().unwrap().push(json!({"id": "333", "name": "bank_forms", "status": "PUBLISHED"}));
    let mut older = env.clone();
    older.push(("WHATSAPP_FLOWS_NAME", "bank_forms".into()));
    let (ok, stdout, stderr) = run(&args, &older);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("bank_forms (333) is published already"), "{stdout}");
    assert!(
        stdout.contains(
            "forms open on the screens PIN_ENTRY, CODE_ENTRY, REGISTRATION; bank_forms was published \
             without IDENTITY_CHECK, and Meta does not let a published Flow change"
        ) && stdout.contains("set WHATSAPP_FLOWS_NAME to a new name (say bank_forms_2)"),
        "{stdout}"
    );

    // Without the account's id: refused, the variable named.
    let without: Vec<(&str, String)> =
        env.into_iter().filter(|(k, _)| *k != "WHATSAPP_BUSINESS_ACCOUNT_ID").collect();
    let (ok, _, stderr) = run(&args, &without);
    assert!(!ok && stderr.contains("WHATSAPP_BUSINESS_ACCOUNT_ID is not set"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn templates_are_submitted_in_metas_format_and_their_status_reported() {
    let fake = FakeServer::start(Router::new().fallback(graph).with_state(Flows::default())).await;
    let db = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = run(&["whatsapp", "templates", "push"], &env(&fake.url, "", db.path()));
    assert!(ok, "{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "teller_reopen_chat en_US: PENDING, quality UNKNOWN",
            "teller_reopen_chat ha: PENDING, quality UNKNOWN",
            "teller_login_code en_US: APPROVED, quality GREEN",
            "teller_login_code ha: PENDING, quality UNKNOWN"
        ]
    );
    let submitted: Vec<std::collections::HashMap<String, String>> = fake
        .received()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| form(&r.body).into_iter().collect())
        .collect();
    assert_eq!(submitted.len(), 4, "each template in each language (English, Hausa), once");
    let login =
        submitted.iter().find(|t| t["name"] == "teller_login_code" && t["language"] == "en_US").unwrap();
    assert_eq!((login["category"].as_str(), login["language"].as_str()), ("AUTHENTICATION", "en_US"));
    let components: Value = serde_json::from_str(&login["components"]).unwrap();
    assert_eq!(
        components[2]["buttons"][0],
        json!({"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"})
    );
    assert_eq!(components[1], json!({"type": "FOOTER", "code_expiration_minutes": 10}));
    let reopen =
        submitted.iter().find(|t| t["name"] == "teller_reopen_chat" && t["language"] == "en_US").unwrap();
    let components: Value = serde_json::from_str(&reopen["components"]).unwrap();
    assert!(components[0]["text"].as_str().unwrap().contains("Reply to this message to read it"));
    let hausa =
        submitted.iter().find(|t| t["name"] == "teller_reopen_chat" && t["language"] == "ha").unwrap();
    let components: Value = serde_json::from_str(&hausa["components"]).unwrap();
    assert!(components[0]["text"].as_str().unwrap().contains("Ku amsa wannan saƙon don karanta shi"));
}
