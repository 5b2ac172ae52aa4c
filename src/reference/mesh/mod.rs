//! The mesh API: agent registration and discovery by capability, least-loaded task
//! assignment, messages routed to connected agents and topics, and delta state sync.
//!
//! Assignment failures: `422` when no agent has the capability at all, `409` when capable
//! agents exist but every one is at capacity (retrying later can succeed).

mod state;
mod ws;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use super::error::{ApiError, ApiJson};
use state::{AssignError, Mesh};
use ws::Registry;

pub(crate) struct MeshApi {
    mesh: RwLock<Mesh>,
    registry: Registry,
    messages: AtomicU64,
    closing: watch::Receiver<bool>,
}

/// The mesh routes over an empty mesh.
pub(crate) fn routes(closing: watch::Receiver<bool>) -> Router {
    let api = Arc::new(MeshApi {
        mesh: RwLock::new(Mesh::default()),
        registry: Registry::default(),
        messages: AtomicU64::new(0),
        closing,
    });
    Router::new()
        .route("/api/agents", post(register).get(discover))
        .route("/api/agents/{id}", get(agent))
        .route("/api/tasks", post(assign))
        .route("/api/tasks/{id}", get(task))
        .route("/api/tasks/{id}/complete", post(complete))
        .route("/api/messages", post(message))
        .route("/api/state", get(sync))
        .route("/api/mesh/ws", get(ws::upgrade))
        .with_state(api)
}

impl MeshApi {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Mesh> {
        self.mesh.read().expect("mesh lock")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Mesh> {
        self.mesh.write().expect("mesh lock")
    }
}

#[derive(Deserialize)]
struct RegisterBody {
    name: String,
    #[serde(default)]
    capabilities: Vec<String>,
    capacity: u32,
}

async fn register(
    State(api): State<Arc<MeshApi>>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<impl IntoResponse, ApiError> {
    if body.capacity == 0 {
        return Err(ApiError::Unprocessable(
            "capacity must be at least 1".into(),
        ));
    }
    let agent = api
        .write()
        .register(body.name, body.capabilities, body.capacity);
    Ok((StatusCode::CREATED, Json(agent)))
}

#[derive(Deserialize)]
struct DiscoverQuery {
    capability: Option<String>,
}

async fn discover(
    State(api): State<Arc<MeshApi>>,
    Query(query): Query<DiscoverQuery>,
) -> Json<serde_json::Value> {
    let agents = api.read().agents(query.capability.as_deref());
    Json(json!({ "agents": agents, "count": agents.len() }))
}

async fn agent(
    State(api): State<Arc<MeshApi>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    api.read()
        .agent(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("unknown agent {id:?}")))
}

#[derive(Deserialize)]
struct AssignBody {
    capability: String,
    #[serde(default)]
    payload: serde_json::Value,
}

async fn assign(
    State(api): State<Arc<MeshApi>>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<impl IntoResponse, ApiError> {
    let task = api
        .write()
        .assign(&body.capability, body.payload)
        .map_err(|e| match e {
            AssignError::NoAgent(_) => ApiError::Unprocessable(e.to_string()),
            AssignError::Saturated(_) => ApiError::Conflict(e.to_string()),
        })?;
    Ok((StatusCode::CREATED, Json(task)))
}

async fn task(
    State(api): State<Arc<MeshApi>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    api.read()
        .task(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("unknown task {id:?}")))
}

async fn complete(
    State(api): State<Arc<MeshApi>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (task, changed) = api
        .write()
        .complete(&id)
        .ok_or_else(|| ApiError::NotFound(format!("unknown task {id:?}")))?;
    Ok(Json(json!({ "task": task, "changed": changed })))
}

#[derive(Deserialize)]
struct MessageBody {
    to: Option<String>,
    topic: Option<String>,
    body: serde_json::Value,
}

async fn message(
    State(api): State<Arc<MeshApi>>,
    ApiJson(body): ApiJson<MessageBody>,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(to) = &body.to
        && !api.read().has_agent(to)
    {
        return Err(ApiError::NotFound(format!("unknown agent {to:?}")));
    }
    let id = api.messages.fetch_add(1, Ordering::Relaxed) + 1;
    let text = json!({
        "type": "message",
        "message_id": id,
        "to": body.to,
        "topic": body.topic,
        "body": body.body,
    })
    .to_string();
    let delivered = api
        .registry
        .deliver(body.to.as_deref(), body.topic.as_deref(), text.into());
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "message_id": id, "delivered": delivered })),
    ))
}

#[derive(Deserialize)]
struct SyncQuery {
    since: Option<String>,
}

async fn sync(
    State(api): State<Arc<MeshApi>>,
    Query(query): Query<SyncQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let since = match query.since.as_deref() {
        None | Some("") => 0,
        Some(text) => text.parse::<u64>().map_err(|_| {
            ApiError::BadRequest(format!("since must be a version number, got {text:?}"))
        })?,
    };
    Ok(Json(api.read().delta(since)))
}
