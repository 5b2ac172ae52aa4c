//! Outputs (placeholder until the report work lands).

use crate::result::RunResult;

/// The end-of-run table for the terminal.
pub fn terminal_summary(result: &RunResult, _color: bool) -> String {
    format!(
        "{} requests, {} errors, {:.1} req/s, p99 {:.3} ms, verdict {:?}",
        result.totals.requests,
        result.totals.errors,
        result.totals.throughput_per_sec,
        result.overall.latency_ms.p99,
        result.verdict
    )
}
