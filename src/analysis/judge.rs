//! Whether a run can be judged at all, before its SLOs are: a run where the generator hit
//! its own limits measured the generator, and a run with no SLO and no successful request
//! proves nothing. Pure: reads a result, returns the verdict and the reasons.

use crate::recorder::ErrorKind;
use crate::result::{RunResult, Verdict};

/// Start of the warning recorded when a scenario has no SLOs.
pub const NOT_GATED: &str = "nothing is gated";

/// Generator-side failures in the result (warm-up included when the generator section has
/// them).
pub fn generator_errors(r: &RunResult) -> u64 {
    let measured = r
        .overall
        .error_kinds
        .get(ErrorKind::GeneratorError.name())
        .copied()
        .unwrap_or(0);
    r.generator
        .as_ref()
        .map_or(measured, |g| g.generator_errors.max(measured))
}

/// Requests that succeeded in the measured period.
pub fn successes(r: &RunResult) -> u64 {
    r.overall.requests.saturating_sub(r.overall.errors)
}

/// Why the run cannot be judged (empty when it can).
pub fn unjudgeable_reasons(r: &RunResult) -> Vec<String> {
    let mut why = Vec::new();
    let gen_errors = generator_errors(r);
    if gen_errors > 0 {
        why.push(format!(
            "nexus-bench ran out of its own resources: {gen_errors} connection(s) failed with `generator_error` (open files, ephemeral ports or socket memory); \
             they never reached the target, and the run cannot be judged — raise `ulimit -n`, widen `net.ipv4.ip_local_port_range`, or lower the load"
        ));
    }
    if r.slos.is_empty() && successes(r) == 0 {
        why.push("no SLO is set and no request succeeded: the run cannot be judged".to_string());
    }
    why
}

/// The overall verdict: unjudgeable first, then not gated (no SLOs), then the SLOs.
pub fn verdict(r: &RunResult) -> Verdict {
    if !unjudgeable_reasons(r).is_empty() {
        Verdict::Unjudgeable
    } else if r.slos.is_empty() {
        Verdict::NotGated
    } else if r.slos.iter().all(|s| s.pass) {
        Verdict::Pass
    } else if r.slos.iter().all(|s| s.pass || s.inconclusive.is_some()) {
        // No SLO failed, but one could not be judged (a slope over too short a run).
        Verdict::Inconclusive
    } else {
        Verdict::Fail
    }
}

/// The warnings to record about judging the run: the unjudgeable reasons, and, unless the
/// scenario silenced it (`[slo] default = false`), that nothing is gated.
pub fn warnings(r: &RunResult, warn_not_gated: bool) -> Vec<String> {
    let mut out = unjudgeable_reasons(r);
    if r.slos.is_empty() && warn_not_gated {
        out.push(format!(
            "{NOT_GATED}: the scenario has no SLOs, so this run passes whatever the target did; add an [slo] table, or set `[slo] default = false` to say that is intended"
        ));
    }
    out
}
