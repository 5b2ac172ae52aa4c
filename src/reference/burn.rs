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
        let duration = crate::units::parse_duration(duration).map_err(|e| err(&e.to_string()))?;
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
    let mut x = black_box(0x9e37_79b9_7f4a_7c15_u64);
    loop {
        // A few thousand xorshift steps between clock reads keep the samples in this very
        // function: plain operators and a `while` loop call nothing, even unoptimised (an
        // iterator or `wrapping_mul` would be a call of its own in a debug build).
        let mut i = 0u32;
        while i < 4_096 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            i += 1;
        }
        if Instant::now() >= end {
            return black_box(x);
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
