//! A fake Paystack on loopback, built from the API reference (`../shared/reference/paystack.md`):
//! customers, dedicated accounts, the bank list, account resolution, transfer recipients,
//! transfers and their verification, every reply in Paystack's `{status, message, data}`
//! envelope. Knobs make it fail the ways the real one does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::Request;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::harness::FakeServer;

/// The secret key the fake expects (the fixtures' made-up one).
pub const KEY: &str = "sk_test_teller_fixture";

/// How `POST /transfer` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payouts {
    /// Created, `pending`.
    Pending,
    /// Created, `success` at once.
    Success,
    /// 500 and nothing created: Paystack is down.
    Down,
    /// Created, but the answer is lost (500): only verify tells.
    LostAnswer,
    /// 400 "Recipient specified is invalid": never created.
    Refused,
    /// 400 "Your balance is not enough…": an operator must top up.
    NoBalance,
}

#[derive(Default)]
pub struct Seen {
    pub customers: Vec<Value>,
    pub accounts: Vec<Value>,
    pub recipients: Vec<Value>,
    /// Every `POST /transfer` body, in order.
    pub transfer_posts: Vec<Value>,
    /// Transfers that exist at the fake, by reference: their status.
    pub transfers: HashMap<String, String>,
    /// `GET /transfer/verify` calls.
    pub verifies: usize,
    /// Requests without the right bearer key.
    pub unauthorised: usize,
}

#[derive(Clone)]
struct Fake {
    seen: Arc<Mutex<Seen>>,
    payouts: Arc<Mutex<Payouts>>,
    /// `POST /dedicated_account` answers 503 this many more times.
    accounts_down: Arc<Mutex<usize>>,
}

/// The running fake.
pub struct FakePaystack {
    pub server: FakeServer,
    seen: Arc<Mutex<Seen>>,
    payouts: Arc<Mutex<Payouts>>,
    accounts_down: Arc<Mutex<usize>>,
}

fn ok(message: &str, data: Value) -> (StatusCode, Json<Value>) {
    (StatusCode::OK, Json(json!({ "status": true, "message": message, "data": data })))
}

fn error(code: StatusCode, message: &str) -> (StatusCode, Json<Value>) {
    (code, Json(json!({ "status": false, "message": message, "type": "api_error" })))
}

/// Paystack's bearer key, checked once for every route: a wrong one is 401 and counted.
async fn authorised(State(fake): State<Fake>, request: Request, next: Next) -> Response {
    let key = request.headers().get("authorization").and_then(|v| v.to_str().ok());
    if key != Some(&format!("Bearer {KEY}")) {
        fake.seen.lock().unwrap().unauthorised += 1;
        return error(StatusCode::UNAUTHORIZED, "Invalid key").into_response();
    }
    next.run(request).await
}

/// The banks the fake lists: the shipped rules' codes.
const BANKS: [(&str, &str); 8] = [
    ("044", "Access Bank"),
    ("011", "First Bank of Nigeria"),
    ("058", "Guaranty Trust Bank"),
    ("50211", "Kuda Bank"),
    ("50515", "Moniepoint MFB"),
    ("999992", "OPay Digital Services Limited (OPay)"),
    ("033", "United Bank For Africa"),
    ("057", "Zenith Bank"),
];

impl FakePaystack {
    pub async fn start() -> FakePaystack {
        let fake = Fake {
            seen: Arc::default(),
            payouts: Arc::new(Mutex::new(Payouts::Pending)),
            accounts_down: Arc::default(),
        };
        let router = Router::new()
            .route("/customer", post(customer))
            .route("/dedicated_account", post(dedicated_account))
            .route("/bank", get(banks))
            .route("/bank/resolve", get(resolve))
            .route("/transferrecipient", post(recipient))
            .route("/transfer", post(transfer))
            .route("/transfer/verify/{reference}", get(verify))
            .layer(middleware::from_fn_with_state(fake.clone(), authorised))
            .with_state(fake.clone());
        FakePaystack {
            server: FakeServer::start(router).await,
            seen: fake.seen,
            payouts: fake.payouts,
            accounts_down: fake.accounts_down,
        }
    }

    /// The environment that points teller at this fake.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PAYMENT_PROVIDER", "paystack".into()),
            ("PAYSTACK_SECRET_KEY", KEY.into()),
            ("PAYSTACK_BASE_URL", self.server.url.clone()),
            ("PAYSTACK_PREFERRED_BANK", "test-bank".into()),
            ("PAYSTACK_EMAIL_DOMAIN", "customers.bank.example".into()),
        ]
    }

    pub fn seen<T>(&self, read: impl FnOnce(&Seen) -> T) -> T {
        read(&self.seen.lock().unwrap())
    }

    pub fn payouts(&self, mode: Payouts) {
        *self.payouts.lock().unwrap() = mode;
    }

    pub fn accounts_down(&self, times: usize) {
        *self.accounts_down.lock().unwrap() = times;
    }

    /// Sets a transfer's status at the fake (what verify will say).
    pub fn set_transfer(&self, reference: &str, status: &str) {
        self.seen.lock().unwrap().transfers.insert(reference.to_owned(), status.to_owned());
    }
}

async fn customer(State(fake): State<Fake>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    if body["email"].as_str().is_none_or(|e| !e.contains('@')) {
        return error(StatusCode::BAD_REQUEST, "Invalid Email Address Passed");
    }
    let mut seen = fake.seen.lock().unwrap();
    seen.customers.push(body.clone());
    let n = seen.customers.len();
    ok(
        "Customer created",
        json!({ "customer_code": format!("CUS_fake{n:04}"), "id": 190_000 + n, "email": body["email"] }),
    )
}

async fn dedicated_account(State(fake): State<Fake>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    {
        let mut down = fake.accounts_down.lock().unwrap();
        if *down > 0 {
            *down -= 1;
            return error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable");
        }
    }
    let mut seen = fake.seen.lock().unwrap();
    seen.accounts.push(body.clone());
    let code = body["customer"].as_str().unwrap_or_default();
    let n: u32 = code.trim_start_matches("CUS_fake").parse().unwrap_or(0);
    let name = format!(
        "TELLER TEST/{} {}",
        body["first_name"].as_str().unwrap_or_default().to_uppercase(),
        body["last_name"].as_str().unwrap_or_default().to_uppercase()
    );
    ok(
        "NUBAN successfully created",
        json!({
            "bank": { "name": "Test Bank", "id": 20, "slug": body["preferred_bank"] },
            "account_name": name,
            "account_number": format!("99301{n:05}"),
            "assigned": true,
            "currency": "NGN",
            "active": true,
            "id": 4_400_000 + n,
            "customer": { "customer_code": code },
        }),
    )
}

async fn banks() -> (StatusCode, Json<Value>) {
    let list: Vec<Value> = BANKS
        .iter()
        .map(|(code, name)| json!({ "name": name, "code": code, "active": true, "is_deleted": false, "currency": "NGN" }))
        .collect();
    ok("Banks retrieved", Value::Array(list))
}

async fn resolve(Query(query): Query<HashMap<String, String>>) -> (StatusCode, Json<Value>) {
    let number = query.get("account_number").cloned().unwrap_or_default();
    if number.starts_with("000")
        || !BANKS.iter().any(|(c, _)| Some(*c) == query.get("bank_code").map(String::as_str))
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Could not resolve account name. Check parameters or try again.",
        );
    }
    ok(
        "Account number resolved",
        json!({ "account_number": number, "account_name": "CHINEDU EZE", "bank_id": 9 }),
    )
}

async fn recipient(State(fake): State<Fake>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    if body["type"] != "nuban" || body["name"].as_str().is_none_or(str::is_empty) {
        return error(StatusCode::BAD_REQUEST, "Name is required");
    }
    let mut seen = fake.seen.lock().unwrap();
    seen.recipients.push(body.clone());
    let n = seen.recipients.len();
    ok(
        "Transfer recipient created successfully",
        json!({ "recipient_code": format!("RCP_fake{n:04}"), "details": body }),
    )
}

async fn transfer(State(fake): State<Fake>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let mode = *fake.payouts.lock().unwrap();
    let mut seen = fake.seen.lock().unwrap();
    seen.transfer_posts.push(body.clone());
    let reference = body["reference"].as_str().unwrap_or_default().to_owned();
    let valid = reference.len() >= 16
        && reference.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !valid || body["amount"].as_i64().is_none() {
        return error(StatusCode::BAD_REQUEST, "Your reference contains illegal special characters");
    }
    if seen.transfers.contains_key(&reference) {
        return error(
            StatusCode::BAD_REQUEST,
            "Please provide a unique reference. Reference already exists on a transfer",
        );
    }
    let status = match mode {
        Payouts::Down => return error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
        Payouts::Refused => return error(StatusCode::BAD_REQUEST, "Recipient specified is invalid"),
        Payouts::NoBalance => {
            return error(StatusCode::BAD_REQUEST, "Your balance is not enough to fulfill this request");
        }
        Payouts::LostAnswer => {
            seen.transfers.insert(reference, "success".into());
            return error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
        }
        Payouts::Pending => "pending",
        Payouts::Success => "success",
    };
    seen.transfers.insert(reference.clone(), status.into());
    ok(
        "Transfer has been queued",
        json!({ "reference": reference, "status": status, "transfer_code": "TRF_fake", "amount": body["amount"] }),
    )
}

async fn verify(State(fake): State<Fake>, Path(reference): Path<String>) -> (StatusCode, Json<Value>) {
    let mut seen = fake.seen.lock().unwrap();
    seen.verifies += 1;
    match seen.transfers.get(&reference) {
        Some(status) => ok(
            "Transfer retrieved",
            json!({ "reference": reference, "status": status, "gateway_response": "Approved" }),
        ),
        None => error(StatusCode::NOT_FOUND, "Transfer not found"),
    }
}
