//! `GET /debug/pprof/heap`: the server's heap profile in Go's `net/http/pprof` convention (a
//! gzip-compressed pprof protobuf with an `inuse_space` sample type, in bytes), taken from
//! jemalloc's sampling heap profiler and converted by `jemalloc_pprof`, with function names
//! resolved in-process (its `symbolize` feature).
//!
//! jemalloc is the global allocator of the `nexus-bench` binary (see `main.rs`), built with
//! profiling compiled in (`prof:true`) but inactive (`prof_active:false`), so the load
//! generator never pays for sampling. `serve --heap-profiling` calls
//! [`activate_heap_profiling`]; until then the endpoint answers 409 with how to turn it on.
//! In a binary whose global allocator is not jemalloc (the test harness) it is unavailable.

use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Why heap profiling cannot be turned on.
#[derive(Debug, thiserror::Error)]
pub enum HeapProfilingError {
    /// jemalloc was not started with `prof:true` (not the global allocator, or its
    /// configuration was overridden by `_RJEM_MALLOC_CONF`).
    #[error(
        "heap profiling is not available in this process: jemalloc's profiler is off \
         (it needs the nexus-bench binary, whose allocator is jemalloc with prof:true)"
    )]
    Unavailable,
    /// jemalloc refused `prof.active`.
    #[error("cannot activate jemalloc's heap profiler: {0}")]
    Activate(String),
    /// The first dump (which loads the symbol tables) failed.
    #[error("the first heap profile failed: {0}")]
    Dump(String),
}

/// Whether jemalloc was started with its profiler (`prof:true`), so that
/// [`activate_heap_profiling`] can succeed.
pub fn heap_profiling_possible() -> bool {
    jemalloc_pprof::PROF_CTL.is_some()
}

/// Turns jemalloc's sampling on for the rest of the process's life and takes one profile at
/// once, so the symbol tables the profiles are named with are loaded before any load, not
/// during the run (loading them raises the resident memory by a step).
pub async fn activate_heap_profiling() -> Result<(), HeapProfilingError> {
    let ctl = jemalloc_pprof::PROF_CTL
        .as_ref()
        .ok_or(HeapProfilingError::Unavailable)?;
    let mut ctl = ctl.clone().lock_owned().await;
    if !ctl.activated() {
        ctl.activate()
            .map_err(|e| HeapProfilingError::Activate(e.to_string()))?;
    }
    tokio::task::spawn_blocking(move || {
        // A block large enough to be sampled for certain, so this dump has a stack to name
        // and loads the symbol tables now.
        let sampled = std::hint::black_box(vec![1_u8; 4 << 20]);
        let dumped = ctl.dump_pprof().map(drop);
        drop(sampled);
        dumped
    })
    .await
    .map_err(|e| HeapProfilingError::Dump(e.to_string()))?
    .map_err(|e| HeapProfilingError::Dump(format!("{e:#}")))
}

/// The handler: the current heap profile as `.pb.gz` (query parameters such as Go's `gc=1`
/// are accepted and ignored: jemalloc's in-use figures are always current).
pub(super) async fn handler() -> Result<Response, ApiError> {
    let off = || {
        ApiError::Conflict(
            "heap profiling is off: start the server with `nexus-bench serve --heap-profiling`"
                .into(),
        )
    };
    let ctl = jemalloc_pprof::PROF_CTL.as_ref().ok_or_else(off)?;
    let mut ctl = ctl.clone().lock_owned().await;
    if !ctl.activated() {
        return Err(off());
    }
    // Dumping, symbolising and compressing block: keep them off the async workers.
    let bytes = tokio::task::spawn_blocking(move || ctl.dump_pprof())
        .await
        .map_err(|e| ApiError::Internal(format!("heap profile task failed: {e}")))?
        .map_err(|e| ApiError::Internal(format!("heap profile failed: {e:#}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"heap\""),
        ],
        bytes,
    )
        .into_response())
}
