//! `GET /debug/pprof/profile?seconds=N`: a CPU profile in Go's `net/http/pprof` convention,
//! answered as the gzip-compressed protobuf `go tool pprof` reads. The sampling itself is the
//! profiler's ([`SelfProfiler`]): the server profiles its own process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ApiError;
use crate::profiler::{ProfileError, SelfProfiler};

const DEFAULT_SECONDS: u64 = 30;
const MAX_SECONDS: u64 = 60;
const FREQUENCY_HZ: i32 = 99;

/// The profiler is process-wide (one SIGPROF timer), so one profile at a time per process.
static PROFILING: AtomicBool = AtomicBool::new(false);

#[derive(Deserialize)]
pub(super) struct Params {
    seconds: Option<String>,
}

pub(super) async fn handler(Query(params): Query<Params>) -> Result<Response, ApiError> {
    let seconds = match params.seconds.as_deref() {
        None | Some("") => DEFAULT_SECONDS,
        Some(text) => text.parse::<u64>().ok().filter(|&s| s > 0).ok_or_else(|| {
            ApiError::BadRequest(format!("seconds must be a positive integer, got {text:?}"))
        })?,
    }
    .min(MAX_SECONDS);
    if PROFILING.swap(true, Ordering::AcqRel) {
        return Err(ApiError::Conflict(
            "a profile is already being taken".into(),
        ));
    }
    // Sampling, symbolisation and compression all block: keep them off the async workers.
    let outcome = tokio::task::spawn_blocking(move || capture(Duration::from_secs(seconds))).await;
    PROFILING.store(false, Ordering::Release);
    let bytes = outcome
        .map_err(|e| ApiError::Internal(format!("profiler task failed: {e}")))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"profile\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Samples this process for `length`; the gzipped pprof bytes.
fn capture(length: Duration) -> Result<Vec<u8>, ProfileError> {
    let profiler = SelfProfiler::start(FREQUENCY_HZ)?;
    std::thread::sleep(length);
    let (bytes, _decoded) = profiler.finish()?;
    Ok(bytes)
}
