//! The fault layer: one middleware over the API routes that adds latency, answers a fraction
//! of requests with `500`, stalls every request during periodic windows and stretches the
//! time spent on a request (injected latency and handler) by a slowdown factor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rand::RngExt;

use super::Faults;
use super::error::ApiError;

struct FaultState {
    faults: Faults,
    started: Instant,
}

/// Wraps every route of `api` in the fault middleware.
pub(crate) fn layer(api: Router, faults: Faults) -> Router {
    let state = Arc::new(FaultState {
        faults,
        started: Instant::now(),
    });
    api.layer(middleware::from_fn_with_state(state, inject))
}

async fn inject(State(state): State<Arc<FaultState>>, req: Request, next: Next) -> Response {
    let faults = &state.faults;
    if let Some((every, length)) = faults.stall
        && let Some(wait) = stall_remaining(state.started.elapsed(), every, length)
    {
        tokio::time::sleep(wait).await;
    }
    // The slow-down stretches the injected latency (in the same single wait, so a 1.05
    // slow-down of `--latency 1ms` is exactly 1.05 ms) and the handler's own time.
    let slowdown = faults.slowdown.max(1.0);
    if let Some((low, high)) = faults.latency {
        let delay = if high > low {
            rand::rng().random_range(low..=high)
        } else {
            low
        };
        crate::timer::sleep(delay.mul_f64(slowdown)).await;
    }
    if faults.error_rate > 0.0 && rand::rng().random::<f64>() < faults.error_rate {
        return ApiError::Internal("injected fault".into()).into_response();
    }
    if let Some(burn) = &faults.burn_cpu
        && req.uri().path() == burn.route
    {
        std::hint::black_box(super::nexus_fault_burn_cpu(burn.duration));
    }
    let handled = Instant::now();
    let response = next.run(req).await;
    if slowdown > 1.0 {
        let extra = handled.elapsed().mul_f64(slowdown - 1.0);
        stretch(extra).await;
    }
    response
}

/// Spends `extra` more on the request, precisely: tokio's millisecond timer would turn a
/// 5 % slow-down of a 50 µs handler into +2,000 %.
async fn stretch(extra: Duration) {
    crate::timer::sleep(extra).await;
}

/// How long a request arriving `elapsed` after start must wait: stall windows are
/// `[k·every, k·every + length)` for k ≥ 1.
pub(crate) fn stall_remaining(
    elapsed: Duration,
    every: Duration,
    length: Duration,
) -> Option<Duration> {
    if every.is_zero() || length.is_zero() || elapsed < every {
        return None;
    }
    let every_ns = every.as_nanos();
    let into_window = Duration::from_nanos((elapsed.as_nanos() % every_ns) as u64);
    (into_window < length).then(|| length - into_window)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn no_stall_before_the_first_window() {
        assert_eq!(stall_remaining(MS * 500, MS * 1000, MS * 100), None);
    }

    #[test]
    fn inside_a_window_waits_until_its_end() {
        assert_eq!(
            stall_remaining(MS * 1030, MS * 1000, MS * 100),
            Some(MS * 70)
        );
        assert_eq!(
            stall_remaining(MS * 3000, MS * 1000, MS * 100),
            Some(MS * 100)
        );
    }

    #[test]
    fn between_windows_does_not_wait() {
        assert_eq!(stall_remaining(MS * 1100, MS * 1000, MS * 100), None);
        assert_eq!(stall_remaining(MS * 1999, MS * 1000, MS * 100), None);
    }

    #[test]
    fn zero_settings_never_stall() {
        assert_eq!(stall_remaining(MS * 1000, Duration::ZERO, MS * 100), None);
        assert_eq!(stall_remaining(MS * 1000, MS * 1000, Duration::ZERO), None);
    }
}
