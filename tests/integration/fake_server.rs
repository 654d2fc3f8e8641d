//! The fake-server helper records what it is sent and answers as its router says.

use axum::Json;
use axum::routing::post;
use serde_json::{Value, json};

use crate::harness::FakeServer;

#[tokio::test]
async fn a_fake_server_answers_and_records_each_request() {
    let fake = FakeServer::start(
        axum::Router::new()
            .route("/v23.0/123/messages", post(|| async { Json(json!({"messages": [{"id": "wamid.X"}]})) })),
    )
    .await;
    let client = reqwest::Client::new();
    let reply: Value = client
        .post(format!("{}/v23.0/123/messages", fake.url))
        .bearer_auth("token")
        .json(&json!({"to": "2348000000001"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["messages"][0]["id"], "wamid.X");

    let received = fake.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, axum::http::Method::POST);
    assert_eq!(received[0].uri, "/v23.0/123/messages");
    assert_eq!(received[0].headers["authorization"], "Bearer token");
    assert_eq!(serde_json::from_slice::<Value>(&received[0].body).unwrap()["to"], "2348000000001");
}
