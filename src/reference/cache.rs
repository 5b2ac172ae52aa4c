//! The cache API: a moka cache bounded by entries and bytes, with per-entry TTL, a tag index
//! for invalidation and hit/miss/eviction counters.
//!
//! Both bounds are enforced with one moka weigher: each entry weighs
//! `max(its bytes, cache_bytes / cache_entries)`, so total weight ≤ `cache_bytes` implies at
//! most `cache_entries` entries and at most `cache_bytes` bytes.

mod tags;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use moka::notification::RemovalCause;
use moka::sync::Cache;
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, ApiJson};
use tags::TagIndex;

/// A stored value: the JSON text as sent, ready to be written back without re-encoding.
struct Entry {
    json: Box<str>,
    tags: Box<[String]>,
    ttl: Option<Duration>,
    /// Unique per write, so the tag index can tell this write from a later one of the key.
    generation: u64,
    bytes: u64,
}

struct Shared {
    cache: Cache<String, Arc<Entry>>,
    tags: Arc<TagIndex>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    generation: AtomicU64,
}

struct PerEntryTtl;

impl moka::Expiry<String, Arc<Entry>> for PerEntryTtl {
    fn expire_after_create(&self, _: &String, value: &Arc<Entry>, _: Instant) -> Option<Duration> {
        value.ttl
    }

    fn expire_after_update(
        &self,
        _: &String,
        value: &Arc<Entry>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        value.ttl
    }
}

/// The cache routes over a fresh cache of the given bounds.
pub(crate) fn routes(max_entries: u64, max_bytes: u64) -> Router {
    let max_entries = max_entries.max(1);
    let max_bytes = max_bytes.max(1);
    let unit = (max_bytes / max_entries).max(1);
    let tags = Arc::new(TagIndex::default());
    let evictions = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let listener = {
        let (tags, evictions, bytes) = (tags.clone(), evictions.clone(), bytes.clone());
        move |key: Arc<String>, entry: Arc<Entry>, cause: RemovalCause| {
            bytes.fetch_sub(entry.bytes, Ordering::Relaxed);
            if cause.was_evicted() {
                evictions.fetch_add(1, Ordering::Relaxed);
            }
            tags.remove(&key, &entry.tags, entry.generation);
        }
    };
    let cache = Cache::builder()
        .max_capacity(max_bytes)
        .weigher(move |_: &String, e: &Arc<Entry>| e.bytes.max(unit).min(u32::MAX as u64) as u32)
        .expire_after(PerEntryTtl)
        .eviction_listener(listener)
        .build();
    let shared = Arc::new(Shared {
        cache,
        tags,
        hits: AtomicU64::new(0),
        misses: AtomicU64::new(0),
        evictions,
        bytes,
        generation: AtomicU64::new(0),
    });
    Router::new()
        .route("/api/v1/cache/set", post(set))
        .route("/api/v1/cache/get/{key}", get(get_one))
        .route("/api/v1/cache/delete/{key}", delete(remove))
        .route("/api/v1/cache/invalidate", post(invalidate))
        .route("/api/v1/cache/stats", get(stats))
        .route("/api/v1/cache/optimize", post(optimize))
        .with_state(shared)
}

#[derive(Deserialize)]
struct SetBody {
    key: String,
    value: serde_json::Value,
    ttl_s: Option<f64>,
    #[serde(default)]
    tags: Vec<String>,
}

async fn set(
    State(shared): State<Arc<Shared>>,
    ApiJson(body): ApiJson<SetBody>,
) -> Result<Response, ApiError> {
    let ttl = match body.ttl_s {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(ApiError::Unprocessable(format!(
                "ttl_s must be > 0, got {s}"
            )));
        }
    };
    if body.key.is_empty() {
        return Err(ApiError::Unprocessable("key must not be empty".into()));
    }
    let json: Box<str> = body.value.to_string().into();
    let bytes = (json.len() + body.key.len()) as u64;
    let generation = shared.generation.fetch_add(1, Ordering::Relaxed);
    let entry = Arc::new(Entry {
        json,
        tags: body.tags.into(),
        ttl,
        generation,
        bytes,
    });
    // Index first: an invalidation racing with this write then finds the key.
    shared.tags.add(&body.key, &entry.tags, generation);
    shared.bytes.fetch_add(bytes, Ordering::Relaxed);
    let existed = shared.cache.contains_key(&body.key);
    shared.cache.insert(body.key.clone(), entry);
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(json!({ "key": body.key, "stored": true, "bytes": bytes })),
    )
        .into_response())
}

async fn get_one(State(shared): State<Arc<Shared>>, Path(key): Path<String>) -> Response {
    match shared.cache.get(&key) {
        Some(entry) => {
            shared.hits.fetch_add(1, Ordering::Relaxed);
            let key_json = serde_json::to_string(&key).unwrap_or_default();
            let body = format!("{{\"key\":{key_json},\"value\":{}}}", entry.json);
            (
                [(header::CONTENT_TYPE, "application/json")],
                Body::from(body),
            )
                .into_response()
        }
        None => {
            shared.misses.fetch_add(1, Ordering::Relaxed);
            ApiError::NotFound(format!("no entry for key {key:?}")).into_response()
        }
    }
}

async fn remove(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match shared.cache.remove(&key) {
        Some(_) => Ok(Json(json!({ "key": key, "deleted": true }))),
        None => Err(ApiError::NotFound(format!("no entry for key {key:?}"))),
    }
}

#[derive(Deserialize)]
struct InvalidateBody {
    tags: Vec<String>,
}

async fn invalidate(
    State(shared): State<Arc<Shared>>,
    ApiJson(body): ApiJson<InvalidateBody>,
) -> Json<serde_json::Value> {
    let mut removed = 0u64;
    for (key, generation) in shared.tags.keys(&body.tags) {
        // Only the write that carried the tag is removed, never a later write of the key.
        let current = shared.cache.get(&key).map(|e| e.generation);
        if current == Some(generation) && shared.cache.remove(&key).is_some() {
            removed += 1;
        }
    }
    Json(json!({ "invalidated": removed, "tags": body.tags }))
}

/// Counters and sizes. moka applies evictions and expirations lazily, so `entries` and `bytes`
/// can lag behind a burst of writes until its maintenance runs (or `optimize` forces it).
fn stats_json(shared: &Shared) -> serde_json::Value {
    let hits = shared.hits.load(Ordering::Relaxed);
    let misses = shared.misses.load(Ordering::Relaxed);
    let lookups = hits + misses;
    json!({
        "entries": shared.cache.entry_count(),
        "hits": hits,
        "misses": misses,
        "hit_ratio": if lookups == 0 { 0.0 } else { hits as f64 / lookups as f64 },
        "evictions": shared.evictions.load(Ordering::Relaxed),
        "bytes": shared.bytes.load(Ordering::Relaxed),
    })
}

async fn stats(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    Json(stats_json(&shared))
}

/// Runs moka's pending maintenance (evictions, expirations) now and returns fresh stats.
async fn optimize(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    let started = Instant::now();
    let worker = shared.clone();
    let _ = tokio::task::spawn_blocking(move || worker.cache.run_pending_tasks()).await;
    let mut stats = stats_json(&shared);
    stats["took_ms"] = json!(started.elapsed().as_secs_f64() * 1000.0);
    Json(stats)
}
