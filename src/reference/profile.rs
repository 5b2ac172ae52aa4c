//! `GET /debug/pprof/profile?seconds=N`: a CPU profile in Go's `net/http/pprof` convention,
//! answered as the gzip-compressed protobuf `go tool pprof` reads.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pprof::protos::Message;
use serde::Deserialize;

use super::error::ApiError;

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
        .map_err(ApiError::Internal)?;
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

fn capture(length: Duration) -> Result<Vec<u8>, String> {
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(FREQUENCY_HZ)
        // Only the unwinder: see `profiler::BLOCKLIST` for why libc and the vDSO must not be
        // listed (every sample taken in a system call was dropped).
        .blocklist(&["libgcc"])
        .build()
        .map_err(|e| format!("cannot start the profiler: {e}"))?;
    std::thread::sleep(length);
    let report = guard
        .report()
        .build()
        .map_err(|e| format!("cannot build the profile: {e}"))?;
    drop(guard);
    let profile = report
        .pprof()
        .map_err(|e| format!("cannot encode the profile: {e}"))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&profile.encode_to_vec())
        .and_then(|()| gz.finish())
        .map_err(|e| format!("cannot compress the profile: {e}"))
}
