//! Fetching a target's profiles over HTTP: the CPU profile (Go's and pprof-rs's
//! `/debug/pprof/profile`) and a heap snapshot (Go's and jemalloc's `/debug/pprof/heap`).

use std::time::Duration;

use super::ProfileError;

/// Larger profile responses are refused.
const MAX_BODY_BYTES: usize = 256 << 20;

/// Fetches `GET {base_url}{path}?seconds=N` and returns the body (usually a `.pb.gz`).
///
/// The target profiles itself for `seconds` before answering, so the whole request may take
/// `seconds + 10` s. A non-2xx answer is an error naming the status and the start of the
/// body. Only plain `http://` is supported.
pub async fn fetch_profile(
    base_url: &str,
    path: &str,
    seconds: u64,
) -> Result<Vec<u8>, ProfileError> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let url = format!(
        "{}{path}{separator}seconds={seconds}",
        base_url.trim_end_matches('/')
    );
    let limit = Duration::from_secs(seconds.saturating_add(10));
    match tokio::time::timeout(limit, get(&url)).await {
        Ok(result) => result,
        Err(_) => Err(ProfileError::Fetch {
            reason: format!("no complete answer within {}s", limit.as_secs()),
            url,
        }),
    }
}

/// How long a heap snapshot may take (it is a dump, not a sampling window).
const HEAP_TIMEOUT: Duration = Duration::from_secs(30);

/// Fetches a heap snapshot: `GET {base_url}{path}?gc=1` (Go runs a collection first, so the
/// in-use figures are current; other servers ignore the parameter). The body is usually a
/// `.pb.gz`. Errors as for [`fetch_profile`].
pub async fn fetch_heap_profile(base_url: &str, path: &str) -> Result<Vec<u8>, ProfileError> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let url = format!("{}{path}{separator}gc=1", base_url.trim_end_matches('/'));
    match tokio::time::timeout(HEAP_TIMEOUT, get(&url)).await {
        Ok(result) => result,
        Err(_) => Err(ProfileError::Fetch {
            reason: format!("no complete answer within {}s", HEAP_TIMEOUT.as_secs()),
            url,
        }),
    }
}

async fn get(url: &str) -> Result<Vec<u8>, ProfileError> {
    use crate::fetch::GetError;
    crate::fetch::get(url, MAX_BODY_BYTES)
        .await
        .map(|body| body.to_vec())
        .map_err(|e| match e {
            GetError::BadUrl(reason) => ProfileError::BadUrl {
                url: url.to_string(),
                reason,
            },
            GetError::Fetch(reason) => ProfileError::Fetch {
                url: url.to_string(),
                reason,
            },
            GetError::Status(status, body) => ProfileError::Status {
                url: url.to_string(),
                status,
                body,
            },
        })
}
