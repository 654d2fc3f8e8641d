//! The flow lifecycle over HTTP: what is published, drafts and their files, validation with
//! line and column, diffs, the graph of a flow, publication and rollback.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::AdminSession;
use crate::admin::Capability;
use crate::flows::graph::{Bundle, Condition, Flow, Kind, Target, Texts};
use crate::flows::template::RenderContext;
use crate::http::ApiError;
use crate::http::AppState;
use crate::releases::{self, Files, Releases};
use crate::store::DraftRow;

/// The routes under `/admin/api/flows`, `/releases` and `/drafts`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/flows", get(overview))
        .route("/admin/api/releases", get(list_releases))
        .route("/admin/api/releases/{number}", get(show_release))
        .route("/admin/api/releases/{number}/diff", get(diff_release))
        .route("/admin/api/releases/{number}/rollback", post(rollback))
        .route("/admin/api/drafts", get(list_drafts).post(create_draft))
        .route("/admin/api/drafts/{id}", get(show_draft))
        .route("/admin/api/drafts/{id}/files/{file}", put(put_file).delete(delete_file))
        .route("/admin/api/drafts/{id}/validate", post(validate))
        .route("/admin/api/drafts/{id}/diff", get(diff_draft))
        .route("/admin/api/drafts/{id}/graph", get(graph))
        .route("/admin/api/drafts/{id}/publish", post(publish))
        .route("/admin/api/drafts/{id}/approve", post(approve))
        .route("/admin/api/drafts/{id}/rebase", post(rebase))
        .route("/admin/api/drafts/{id}/discard", post(discard))
}

pub(super) fn lifecycle(state: &AppState) -> Releases<'_> {
    Releases::new(state.store.as_ref(), state.conversations.catalogue())
}

fn draft_json(draft: &DraftRow) -> Value {
    json!({
        "id": draft.id,
        "title": draft.title,
        "base_release": draft.base_release,
        "state": draft.state,
        "revision": draft.revision,
        "release": draft.release,
        "created_by": draft.created_by,
        "created_at": draft.created_at,
        "updated_by": draft.updated_by,
        "updated_at": draft.updated_at,
        "approved_by": releases::approval::standing(draft),
        "approved_at": releases::approval::standing(draft).and(draft.approved_at),
    })
}

/// What customers see now (file by file) and each open draft's changes to it.
async fn overview(State(state): State<AppState>, session: AdminSession) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let lifecycle = lifecycle(&state);
    let head = lifecycle.head().await?.ok_or(ApiError::NotFound)?;
    let open = lifecycle.drafts(false).await?;
    let people = super::history::people(&state, open.iter().map(|d| d.updated_by.clone()).collect()).await?;
    let mut drafts = Vec::new();
    for draft in open {
        let files = releases::from_json(&draft.sources)?;
        let changes: Vec<Value> = releases::diff(&head.files, &files)
            .into_iter()
            .map(|d| json!({ "file": d["file"], "status": d["status"] }))
            .collect();
        let mut entry = draft_json(&draft);
        entry["changes"] = json!(changes);
        entry["stale"] = json!(draft.base_release != head.release.number);
        entry["by"] = json!(people.get(&draft.updated_by));
        entry["at"] = json!(super::history::local_time(&state.config.bank.timezone, draft.updated_at));
        drafts.push(entry);
    }
    let release = super::history::described(&state, vec![head.release]).await?.pop();
    Ok(Json(json!({
        "published": { "release": release, "files": head.files.keys().collect::<Vec<_>>() },
        "serving": state.conversations.current().version,
        "drafts": drafts,
    })))
}

async fn list_releases(
    State(state): State<AppState>,
    session: AdminSession,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let releases = lifecycle(&state).releases().await?;
    Ok(Json(json!({ "releases": super::history::described(&state, releases).await? })))
}

async fn show_release(
    State(state): State<AppState>,
    session: AdminSession,
    Path(number): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let (release, files) = lifecycle(&state).release(number).await?;
    Ok(Json(json!({ "release": release, "files": files })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Against {
    /// A release number; the newest when absent.
    against: Option<i64>,
}

/// The files of release `against`, or of the newest.
async fn files_against(lifecycle: &Releases<'_>, against: Option<i64>) -> Result<(i64, Files), ApiError> {
    Ok(match against {
        Some(number) => (number, lifecycle.release(number).await?.1),
        None => {
            let head = lifecycle.head().await?.ok_or(ApiError::NotFound)?;
            (head.release.number, head.files)
        }
    })
}

async fn diff_release(
    State(state): State<AppState>,
    session: AdminSession,
    Path(number): Path<i64>,
    Query(query): Query<Against>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let lifecycle = lifecycle(&state);
    let (_, files) = lifecycle.release(number).await?;
    let (against, old) = files_against(&lifecycle, query.against).await?;
    Ok(Json(json!({ "from_release": against, "to_release": number, "files": releases::diff(&old, &files) })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rollback {
    /// Must be true: a rollback is confirmed on purpose.
    confirm: bool,
}

async fn rollback(
    State(state): State<AppState>,
    session: AdminSession,
    Path(number): Path<i64>,
    Json(body): Json<Rollback>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Publish)?;
    if !body.confirm {
        return Err(ApiError::BadRequest("confirm the rollback with \"confirm\": true".into()));
    }
    let release = lifecycle(&state).rollback(number, &session.actor(), state.clock.now()).await?;
    serve_now(&state).await;
    tracing::info!(admin = session.id, release = release.number, to = number, "flows rolled back");
    Ok(Json(json!({ "release": release })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DraftList {
    #[serde(default)]
    all: bool,
}

async fn list_drafts(
    State(state): State<AppState>,
    session: AdminSession,
    Query(query): Query<DraftList>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let drafts: Vec<Value> = lifecycle(&state).drafts(query.all).await?.iter().map(draft_json).collect();
    Ok(Json(json!({ "drafts": drafts })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDraft {
    title: String,
    /// The release to start from; the newest when absent.
    #[serde(default)]
    from_release: Option<i64>,
}

async fn create_draft(
    State(state): State<AppState>,
    session: AdminSession,
    Json(body): Json<NewDraft>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::EditDrafts)?;
    let id = lifecycle(&state)
        .create_draft(&body.title, body.from_release, &session.actor(), state.clock.now())
        .await?;
    Ok(Json(json!({ "id": id })))
}

/// A draft with its files and what the compiler says of them.
async fn show_draft(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let lifecycle = lifecycle(&state);
    let (draft, files) = lifecycle.draft(id).await?;
    let (report, compiled) = lifecycle.compile(&files);
    let money = lifecycle.money_changes(&files, compiled.as_ref()).await?;
    let mut body = draft_json(&draft);
    body["files"] = json!(files);
    body["diagnostics"] = releases::diagnostics(&report);
    body["valid"] = json!(!report.has_errors());
    body["money_flows"] = json!(money);
    body["needs_approval"] = json!(!money.is_empty() && releases::approval::standing(&draft).is_none());
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutFile {
    /// The draft's revision this edit was made on.
    revision: i64,
    text: String,
}

async fn put_file(
    State(state): State<AppState>,
    session: AdminSession,
    Path((id, file)): Path<(i64, String)>,
    Json(body): Json<PutFile>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::EditDrafts)?;
    edited(&state, &session, id, body.revision, &file, Some(&body.text)).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Revision {
    revision: i64,
}

async fn delete_file(
    State(state): State<AppState>,
    session: AdminSession,
    Path((id, file)): Path<(i64, String)>,
    Query(query): Query<Revision>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::EditDrafts)?;
    edited(&state, &session, id, query.revision, &file, None).await
}

/// Applies an edit; answers the new revision and the compiler's findings on the result.
async fn edited(
    state: &AppState,
    session: &AdminSession,
    id: i64,
    revision: i64,
    file: &str,
    text: Option<&str>,
) -> Result<Json<Value>, ApiError> {
    let lifecycle = lifecycle(state);
    let (revision, files) =
        lifecycle.edit_file(id, revision, file, text, &session.actor(), state.clock.now()).await?;
    let (report, _) = lifecycle.compile(&files);
    Ok(Json(json!({
        "revision": revision,
        "valid": !report.has_errors(),
        "diagnostics": releases::diagnostics(&report),
    })))
}

async fn validate(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let lifecycle = lifecycle(&state);
    let (_, files) = lifecycle.draft(id).await?;
    let (report, _) = lifecycle.compile(&files);
    Ok(Json(json!({ "valid": !report.has_errors(), "diagnostics": releases::diagnostics(&report) })))
}

async fn diff_draft(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    Query(query): Query<Against>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let lifecycle = lifecycle(&state);
    let (_, files) = lifecycle.draft(id).await?;
    let (against, old) = files_against(&lifecycle, query.against).await?;
    Ok(Json(json!({ "from_release": against, "draft": id, "files": releases::diff(&old, &files) })))
}

/// The draft's flows as graphs: steps (with what they say or ask) and transitions.
async fn graph(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let lifecycle = lifecycle(&state);
    let (_, files) = lifecycle.draft(id).await?;
    let (report, bundle) = lifecycle.compile(&files);
    let Some(bundle) = bundle else {
        return Err(ApiError::Unprocessable {
            message: "the draft has errors: fix them to see its graph".into(),
            details: json!({ "diagnostics": releases::diagnostics(&report) }),
        });
    };
    Ok(Json(json!({ "flows": describe(&bundle) })))
}

async fn publish(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    Json(body): Json<Revision>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Publish)?;
    let release = lifecycle(&state).publish(id, body.revision, &session.actor(), state.clock.now()).await?;
    serve_now(&state).await;
    tracing::info!(admin = session.id, release = release.number, draft = id, "flows published");
    Ok(Json(json!({ "release": release })))
}

/// A publisher approves a draft at `revision`: a second pair of eyes, needed before a draft
/// that changes a flow moving money is published (by someone else).
async fn approve(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    Json(body): Json<Revision>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Publish)?;
    lifecycle(&state).approve(id, body.revision, &session.actor(), state.clock.now()).await?;
    tracing::info!(admin = session.id, draft = id, "a draft was approved");
    Ok(Json(json!({ "approved_by": session.actor(), "revision": body.revision })))
}

/// Serves the release just published on this instance now. It is committed whatever happens
/// here: a failure only means this instance picks it up at its next poll, like the others.
async fn serve_now(state: &AppState) {
    if let Err(err) = state.conversations.serve_newest().await {
        tracing::warn!(error = format!("{err:#}"), "a published release will be served at the next poll");
    }
}

async fn rebase(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    Json(body): Json<Revision>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::EditDrafts)?;
    let revision = lifecycle(&state).rebase(id, body.revision, &session.actor(), state.clock.now()).await?;
    Ok(Json(json!({ "revision": revision })))
}

async fn discard(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::EditDrafts)?;
    lifecycle(&state).discard(id, &session.actor(), state.clock.now()).await?;
    Ok(Json(json!({ "discarded": id })))
}

/// Each flow as nodes (steps: kind, a line of what they say or ask, where in the file) and
/// edges (transitions, labelled by the option, result or condition that takes them).
fn describe(bundle: &Bundle) -> Value {
    let mut flows: Vec<&Flow> = bundle.flows.values().collect();
    flows.sort_by(|a, b| a.id.cmp(&b.id));
    let described: Vec<Value> = flows
        .into_iter()
        .map(|flow| {
            let mut steps: Vec<&crate::flows::graph::Step> = flow.steps.values().collect();
            steps.sort_by_key(|s| (s.pos.line, s.pos.column));
            let mut edges = Vec::new();
            let nodes: Vec<Value> = steps
                .iter()
                .map(|step| {
                    let (kind, text) = summarise(step, &mut edges);
                    json!({ "id": step.id, "kind": kind, "text": text, "line": step.pos.line })
                })
                .collect();
            json!({
                "id": flow.id,
                "file": flow.file.display().to_string(),
                "start": flow.start,
                "moves_money": flow.moves_money,
                "nodes": nodes,
                "edges": edges,
            })
        })
        .collect();
    Value::Array(described)
}

/// A step's kind and a line of its text; pushes its transitions onto `edges`.
fn summarise(step: &crate::flows::graph::Step, edges: &mut Vec<Value>) -> (&'static str, String) {
    let mut edge = |target: &Target, label: &str| {
        let to = match target {
            Target::Step(step) => step.clone(),
            Target::Flow(flow) => format!("flow:{flow}"),
        };
        edges.push(json!({ "from": step.id, "to": to, "label": label }));
    };
    match &step.kind {
        Kind::Say { text, next } => {
            if let Some(next) = next {
                edge(next, "");
            }
            ("say", first_text(text))
        }
        Kind::Ask(question) => {
            for option in &question.options {
                if let Some(go) = &option.go {
                    edge(go, &option.id);
                }
            }
            if let Some(next) = &question.next {
                edge(next, "answer");
            }
            if let Some(fail) = &question.on_fail {
                edge(fail, "too many tries");
            }
            ("ask", first_text(&question.prompt))
        }
        Kind::Action { name, on, .. } => {
            for (result, target) in on {
                edge(target, result);
            }
            ("action", name.clone())
        }
        Kind::Branch { cases, otherwise } => {
            for (condition, target) in cases {
                let label = match condition {
                    Condition::Equals(var, value) => format!("{var} = {value}"),
                    Condition::Set(var, true) => format!("{var} set"),
                    Condition::Set(var, false) => format!("{var} not set"),
                };
                edge(target, &label);
            }
            edge(otherwise, "otherwise");
            ("branch", String::new())
        }
        Kind::Go(target) => {
            edge(target, "");
            ("go", String::new())
        }
    }
}

/// The English (or first) text, with variables shown by name, cut to a line.
fn first_text(texts: &Texts) -> String {
    let template = texts.get("en");
    let vars: std::collections::BTreeMap<String, String> =
        template.variables().map(|v| (v.to_owned(), format!("{{{v}}}"))).collect();
    let text = template.render(&vars, RenderContext { currency: "NGN", country_code: "234", language: "en" });
    let line: String = text.lines().next().unwrap_or("").chars().take(80).collect();
    line
}
