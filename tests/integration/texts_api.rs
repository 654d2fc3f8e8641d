//! The Texts API on both backends: every text listed (the engine's phrases included), an edit
//! tried without saving, saved as a one-line edit of its file, and every refusal (role, stale
//! revision, unknown language or place, empty text) changing nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};
use teller::config::SqlBackend;

use crate::admin::{bearer, make_admin, refused};
use crate::harness::{KvKind, TestApp};

crate::harness::on_both_sql_backends!(
    texts_are_listed_tried_and_saved_as_one_line_and_refusals_change_nothing,
);

async fn texts_are_listed_tried_and_saved_as_one_line_and_refusals_change_nothing(backend: SqlBackend) {
    let kv = if backend == SqlBackend::Postgres { KvKind::Redis } else { KvKind::Memory };
    let app = TestApp::spawn(backend, kv).await;
    let store = app.state.store.clone();
    let editor = bearer(&app, &make_admin(store.as_ref(), "ed@bank.example", "editor").await, 0).await;
    let viewer = bearer(&app, &make_admin(store.as_ref(), "view@bank.example", "viewer").await, 0).await;
    let (status, made) = editor.post(&app, "/admin/api/drafts", json!({ "title": "Kinder words" })).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let id = made["id"].as_i64().unwrap();
    let texts = format!("/admin/api/drafts/{id}/texts");

    // Listed by flow and step, each language side by side, with where it shows and its limit.
    let (status, listed) = viewer.get(&app, &texts).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["languages"], json!(["en", "pcm", "yo", "ha", "ig"]));
    assert_eq!(listed["unreviewed"], json!(["Pidgin", "Yorùbá", "Hausa", "Igbo"]), "config/languages.yaml");
    let all = listed["texts"].as_array().unwrap();
    let find =
        |file: &str, at: &str| all.iter().find(|t| t["file"] == file && t["at"] == at).cloned().unwrap();
    let show = find("balance.yaml", "steps.show.say");
    assert_eq!((&show["shown_as"], &show["limit"]), (&json!("message"), &json!(4096)), "{show}");
    assert!(show["texts"]["pcm"].as_str().unwrap().starts_with("Money wey you fit use na"), "{show}");
    let cancelled = find("phrases.yaml", "phrases.cancelled");
    assert!(cancelled["texts"]["en"].as_str().unwrap().starts_with("Okay, I have stopped."), "{cancelled}");
    assert_eq!(find("phrases.yaml", "phrases.yes")["limit"], 20);
    let revision = listed["revision"].clone();

    // Tried: a placeholder the phrase does not have is found, with the preview; nothing saved.
    let attempt = json!({ "file": "phrases.yaml", "at": "refusals.too_long", "language": "en", "text": "Under {{amount}}, please." });
    let (status, tried) = viewer.post(&app, &format!("{texts}/try"), attempt).await;
    assert_eq!(status, StatusCode::OK, "{tried}");
    let problems = tried["trial"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{tried}");
    assert!(
        problems[0].as_str().unwrap().contains("`too_long` has no placeholder `{{amount}}`: it has {{n}}"),
        "{tried}"
    );
    let money = json!({ "file": "balance.yaml", "at": "steps.show.say", "language": "pcm", "text": "You get {{balance.available | money}}." });
    let (_, tried) = viewer.post(&app, &format!("{texts}/try"), money).await;
    assert_eq!(tried["trial"]["preview"], "You get ₦5,000.00.", "{tried}");
    assert_eq!(tried["trial"]["problems"], json!([]), "{tried}");

    // Refused, each with its reason, and the draft is as it was.
    let edit = |language: &str, at: &str, text: &str, revision: &Value| json!({ "revision": revision, "file": "balance.yaml", "at": at, "language": language, "text": text });
    let good = edit("pcm", "steps.show.say", "Your money na {{balance.available | money}}.", &revision);
    refused(viewer.put(&app, &texts, good.clone()).await, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = editor.put(&app, &texts, edit("xx", "steps.show.say", "Hi", &revision)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("\"xx\" is not a language teller speaks"), "{body}");
    let (status, body) = editor.put(&app, &texts, edit("pcm", "steps.show.say", "  ", &revision)).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("a text cannot be empty")),
        "{body}"
    );
    refused(
        editor.put(&app, &texts, edit("pcm", "steps.nowhere.say", "Hi", &revision)).await,
        StatusCode::NOT_FOUND,
        "not found",
    );
    let stale = edit("pcm", "steps.show.say", "Hi", &json!(revision.as_i64().unwrap() - 1));
    assert_eq!(editor.put(&app, &texts, stale).await.0, StatusCode::CONFLICT);
    let (_, after) = viewer.get(&app, &texts).await;
    assert_eq!(after, listed, "no refusal changed the draft");

    // Saved: one line of one file changes, and the draft says so.
    let (_, before) = editor.get(&app, &format!("/admin/api/drafts/{id}")).await;
    let (status, saved) = editor.put(&app, &texts, good).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        (&saved["revision"], &saved["valid"]),
        (&json!(revision.as_i64().unwrap() + 1), &json!(true)),
        "{saved}"
    );
    let (_, draft) = editor.get(&app, &format!("/admin/api/drafts/{id}")).await;
    let old: Vec<&str> = before["files"]["balance.yaml"].as_str().unwrap().lines().collect();
    let new: Vec<&str> = draft["files"]["balance.yaml"].as_str().unwrap().lines().collect();
    assert_eq!(old.len(), new.len());
    let changed: Vec<(&&str, &&str)> = old.iter().zip(&new).filter(|(a, b)| a != b).collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(*changed[0].1, "      pcm: \"Your money na {{balance.available | money}}.\"");
    let (_, diff) = editor.get(&app, &format!("/admin/api/drafts/{id}/diff")).await;
    assert_eq!(diff["files"].as_array().unwrap().len(), 1, "{diff}");
}
