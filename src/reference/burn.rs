//! The `--burn-cpu ROUTE:DURATION` fault knob: every request to one route first spends the
//! given CPU time in [`nexus_fault_burn_cpu`], a function with a distinctive name, so a CPU
//! profile (and a differential flamegraph against a run without the knob) names it.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// One route whose requests burn CPU before being handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurnCpu {
    /// The request path that burns (exact match, e.g. `/api/cache/k`).
    pub route: String,
    /// CPU time spent per request.
    pub duration: Duration,
}

/// Why a `--burn-cpu` value is not `ROUTE:DURATION`.
#[derive(Debug, thiserror::Error)]
#[error("--burn-cpu {text:?}: {reason} (expected ROUTE:DURATION, e.g. /api/services:2ms)")]
pub struct BurnCpuError {
    text: String,
    reason: String,
}

impl BurnCpu {
    /// Parses `ROUTE:DURATION`; the duration uses the crate's units (`500us`, `2ms`).
    pub fn parse(text: &str) -> Result<BurnCpu, BurnCpuError> {
        let err = |reason: &str| BurnCpuError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let (route, duration) = text.rsplit_once(':').ok_or_else(|| err("no `:`"))?;
        if !route.starts_with('/') {
            return Err(err("the route must start with `/`"));
        }
        let duration = crate::units::parse_duration(duration).map_err(|e| err(&e))?;
        if duration.is_zero() || duration > Duration::from_secs(1) {
            return Err(err("the duration must be more than 0 and at most 1s"));
        }
        Ok(BurnCpu {
            route: route.to_string(),
            duration,
        })
    }
}

/// Spins on the CPU for `time` (wall time on the calling thread) and returns a value the
/// optimiser cannot drop. Never inlined, so profiles name it.
#[inline(never)]
pub fn nexus_fault_burn_cpu(time: Duration) -> u64 {
    let end = Instant::now() + time;
    let mut acc = 0u64;
    loop {
        // A few thousand multiply-adds between clock reads keep the samples in this function
        // rather than in the clock.
        for i in 0..4_096u64 {
            acc = black_box(acc.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
        }
        if Instant::now() >= end {
            return acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_route_and_duration() {
        let b = BurnCpu::parse("/api/cache/x:2ms").unwrap();
        assert_eq!(b.route, "/api/cache/x");
        assert_eq!(b.duration, Duration::from_millis(2));
        for bad in ["", "/a", "a:1ms", "/a:0ms", "/a:5s", "/a:fast"] {
            assert!(BurnCpu::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn burns_at_least_the_time() {
        let start = Instant::now();
        nexus_fault_burn_cpu(Duration::from_millis(3));
        assert!(start.elapsed() >= Duration::from_millis(3));
    }
}
