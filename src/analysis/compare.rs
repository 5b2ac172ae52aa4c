//! Baseline comparison: the regression gate ("fail this PR if it made the service slower").
//! A pure function of two [`RunResult`]s, with no I/O: baselines are stored and read by
//! [`crate::result::save_baseline`] / [`crate::result::load_baseline`].
//!
//! # What is compared
//!
//! The samples are the measured (non-warm-up) **per-second windows** of `result.timeseries`,
//! per request name (and for all requests, `*`, when there is more than one name):
//! per-second p50/p90/p99 latency (seconds with traffic) and per-second throughput (requests
//! completed in that second; the first and last measured seconds are dropped as they are
//! usually partial). A second is the unit because it is what the result keeps losslessly in
//! time, and because seconds, unlike single requests, are roughly independent: one slow
//! request drags its neighbours, one slow second much less so.
//!
//! For each metric, `baseline` and `current` are the **medians of the per-second values**
//! (e.g. the median of the per-second p99s), and `change = current / baseline − 1`
//! (signed; for latency and error rate `+` is worse, for throughput `−` is worse).
//!
//! * **Significance**: the Mann–Whitney U rank test on the two sets of per-second values
//!   (two-sided; normal approximation with tie correction). Rank-based, so a few stalled
//!   seconds do not dominate it as they would a t-test.
//! * **Size**: a percentile-bootstrap confidence interval of the change of the median
//!   ([`BOOTSTRAP_RESAMPLES`] resamples of the seconds, at confidence `1 − significance`),
//!   seeded from the row's name, so the same files always give the same interval.
//! * **Error rate**: the two-proportion z-test on the error and request counts for the
//!   p-value; the bootstrap (over seconds, so bursts of errors count as bursts) of the pooled
//!   error ratio for the CI. Its change is relative to `ratio + ERROR_RATE_FLOOR`, so
//!   0 → 0.02 % reads +20 % instead of infinity.
//!
//! # The verdict
//!
//! Let *worse* be the change in the bad direction (e.g. `+change` for latency).
//!
//! * **Regressed** ⇔ `p < significance` ∧ the whole CI is worse by more than `noise` ∧ the
//!   point change is worse by more than `max_regression`.
//! * **Improved** ⇔ `p < significance` ∧ the whole CI is better by more than `noise`.
//! * **Inconclusive** when either side has fewer samples than the test needs at its
//!   (Bonferroni) level ([`min_samples`], at least [`MIN_SECONDS`]), or when a regression
//!   was found while either run's machine was busy with other work.
//! * **NoChange** otherwise.
//!
//! One comparison gates many metrics (4 per request name by default), so `significance` is
//! the family-wise level: with `m` tests each is judged at `significance / m` and its
//! interval computed at `1 − significance / m` (Bonferroni). Without this, 28 tests at 5 %
//! each cried wolf in one of nine unchanged pairs on this machine.
//!
//! `noise` is the smallest change that counts as a change at all, in either direction, and we
//! must be confident (CI, not just the point) that it was exceeded; `max_regression` is how much
//! slow-down is tolerated. With `max_regression = 0` the noise band alone still keeps tiny but
//! significant changes (which long runs always find) from failing builds. Per-second samples
//! cannot see run-to-run drift (a noisier CI neighbour slows the whole run), which is why the
//! thresholds, not the p-value alone, decide: `ci/baseline-bench.sh` measures the resulting
//! false-alarm and detection rates.

use serde::Serialize;

use crate::result::RunResult;

mod metric;

use metric::{Samples, compare_metric};

/// Resamples of the bootstrap confidence interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;
/// Fewest per-second samples per side for any verdict (fewer is `Inconclusive`); the
/// significance level may ask for more ([`min_samples`]).
pub const MIN_SECONDS: usize = 5;
/// Added to both error ratios before taking their relative change (0.1 %).
pub const ERROR_RATE_FLOOR: f64 = 0.001;

/// A gated metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateMetric {
    /// Median latency (per-second p50s).
    P50,
    /// 90th-percentile latency (per-second p90s).
    P90,
    /// 99th-percentile latency (per-second p99s).
    P99,
    /// Requests completed per second.
    Throughput,
    /// Failed / completed requests.
    ErrorRate,
}

impl GateMetric {
    /// Every metric, in display order.
    pub const ALL: [GateMetric; 5] = [
        GateMetric::P50,
        GateMetric::P90,
        GateMetric::P99,
        GateMetric::Throughput,
        GateMetric::ErrorRate,
    ];

    /// Whether a higher value is worse (latency, error rate) or better (throughput).
    pub fn higher_is_worse(self) -> bool {
        self != GateMetric::Throughput
    }

    /// The name used in scenario files and flags: `p50`, `p90`, `p99`, `throughput`,
    /// `error_rate`.
    pub fn key(self) -> &'static str {
        match self {
            GateMetric::P50 => "p50",
            GateMetric::P90 => "p90",
            GateMetric::P99 => "p99",
            GateMetric::Throughput => "throughput",
            GateMetric::ErrorRate => "error_rate",
        }
    }

    /// A label for reports: `p99 latency`.
    pub fn label(self) -> &'static str {
        match self {
            GateMetric::P50 => "p50 latency",
            GateMetric::P90 => "p90 latency",
            GateMetric::P99 => "p99 latency",
            GateMetric::Throughput => "throughput",
            GateMetric::ErrorRate => "error rate",
        }
    }
}

/// A gate metric name that is not one of [`GateMetric::ALL`]'s keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown gate metric `{0}`; use p50, p90, p99, throughput or error_rate")]
pub struct UnknownGateMetric(pub String);

impl std::str::FromStr for GateMetric {
    type Err = UnknownGateMetric;
    fn from_str(s: &str) -> Result<Self, UnknownGateMetric> {
        GateMetric::ALL
            .into_iter()
            .find(|m| m.key() == s)
            .ok_or_else(|| UnknownGateMetric(s.to_string()))
    }
}

/// The comparison's parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareOptions {
    /// Metrics gated, for each request name (and `*`).
    pub metrics: Vec<GateMetric>,
    /// Largest tolerated worsening of the point estimate (ratio: 0.10 = 10 %).
    pub max_regression: f64,
    /// Changes whose CI does not clear this band are not changes (ratio).
    pub noise: f64,
    /// Significance level α of the tests; the CI has confidence 1 − α.
    pub significance: f64,
    /// Compare even if the scenarios or load settings differ.
    pub force: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            metrics: vec![
                GateMetric::P50,
                GateMetric::P99,
                GateMetric::Throughput,
                GateMetric::ErrorRate,
            ],
            max_regression: 0.10,
            noise: 0.02,
            significance: 0.05,
            force: false,
        }
    }
}

/// The verdict on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Significantly better, beyond the noise band.
    Improved,
    /// No change we can stand behind.
    NoChange,
    /// Significantly worse, beyond the noise band and the tolerance.
    Regressed,
    /// Cannot be judged: too few per-second samples for the test at its (Bonferroni)
    /// level, or a regression measured while a machine was busy with other work.
    Inconclusive,
}

/// One metric of one request name, compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricComparison {
    /// Request name, or `*` for all requests.
    pub request: String,
    /// The metric.
    pub metric: GateMetric,
    /// Baseline value: median of the per-second values (ms, requests/s, or ratio).
    pub baseline: f64,
    /// Current value, same unit.
    pub current: f64,
    /// `current / baseline − 1` (error rate: of the floored ratios). Signed; whether `+` is
    /// worse depends on [`GateMetric::higher_is_worse`].
    pub change: f64,
    /// Lower end of the bootstrap CI of `change`.
    pub ci_low: f64,
    /// Upper end of the bootstrap CI of `change`.
    pub ci_high: f64,
    /// Two-sided p-value (Mann–Whitney U; two-proportion z for error rate).
    pub p_value: f64,
    /// Per-second samples in the baseline.
    pub baseline_samples: usize,
    /// Per-second samples in the current run.
    pub current_samples: usize,
    /// The verdict.
    pub verdict: Change,
    /// Why the verdict is what it is, when that is not obvious (too few samples, within
    /// tolerance…).
    pub note: Option<String>,
}

impl MetricComparison {
    /// The change in the bad direction (positive = worse).
    pub fn worsening(&self) -> f64 {
        if self.metric.higher_is_worse() {
            self.change
        } else {
            -self.change
        }
    }
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Scenario name (of the current run).
    pub scenario: String,
    /// Start of the baseline run (RFC 3339).
    pub baseline_started_at: String,
    /// Start of the current run (RFC 3339).
    pub current_started_at: String,
    /// The options used.
    pub options: CompareOptions,
    /// One row per request name and metric.
    pub rows: Vec<MetricComparison>,
    /// Number of gated tests: each is judged at `options.significance / tests`.
    pub tests: usize,
    /// `Some(what differed)` when the runs were not comparable and `force` was used.
    pub forced: Option<String>,
    /// Remarks about the comparison as a whole (different hosts, interrupted run…).
    pub notes: Vec<String>,
}

impl Comparison {
    /// Whether any gated metric regressed: the gate fails.
    pub fn regressed(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Change::Regressed)
    }

    /// Whether any gated metric could not be judged (and none regressed beyond doubt, which
    /// [`Comparison::regressed`] says): the gate must not pass.
    pub fn inconclusive(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Change::Inconclusive)
    }

    /// The rows that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &MetricComparison> {
        self.rows.iter().filter(|r| r.verdict == Change::Regressed)
    }
}

/// Why a comparison could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The runs are not comparable and `force` was not given.
    #[error("the runs are not comparable: {}; refresh the baseline, or pass --force to compare anyway", .0.join("; "))]
    Mismatch(Vec<String>),
    /// An option is out of range.
    #[error("invalid comparison option: {0}")]
    Option(String),
}

/// Compares `current` against `baseline`. Refuses runs of different scenarios (name or file
/// hash) or load settings unless `opts.force`.
pub fn compare(
    baseline: &RunResult,
    current: &RunResult,
    opts: &CompareOptions,
) -> Result<Comparison, CompareError> {
    check_options(opts)?;
    let differences = differences(baseline, current);
    if !differences.is_empty() && !opts.force {
        return Err(CompareError::Mismatch(differences));
    }
    let mut notes = Vec::new();
    for (run, which) in [(baseline, "baseline"), (current, "current run")] {
        if run.status != crate::result::RunStatus::Completed {
            notes.push(format!("the {which} did not complete ({:?})", run.status));
        }
    }
    if host_shape(baseline) != host_shape(current) {
        notes.push(format!(
            "different hosts: baseline {}, current {}",
            host_shape(baseline),
            host_shape(current)
        ));
    }
    let mut names: Vec<&str> = current.endpoints.iter().map(|e| e.name.as_str()).collect();
    for e in &baseline.endpoints {
        if current.endpoint(&e.name).is_none() {
            notes.push(format!("request `{}` is only in the baseline", e.name));
        }
    }
    names.retain(|n| {
        let both = baseline.endpoint(n).is_some();
        if !both {
            notes.push(format!("request `{n}` is not in the baseline"));
        }
        both
    });
    if names.len() > 1 || names.is_empty() {
        names.insert(0, "*");
    }
    // Bonferroni: each of the m gated tests runs at significance / m (its interval at
    // confidence 1 − significance / m), so the chance that a comparison shows *any* false
    // alarm stays within `significance` however many requests and metrics are gated.
    let tests = (names.len() * opts.metrics.len()).max(1);
    let per_test = CompareOptions {
        significance: opts.significance / tests as f64,
        ..opts.clone()
    };
    let mut rows = Vec::new();
    for name in names {
        let (b, c) = (Samples::of(baseline, name), Samples::of(current, name));
        for &metric in &opts.metrics {
            rows.push(compare_metric(name, metric, &b, &c, &per_test));
        }
    }
    // A regression measured beside other work may be the other work's.
    let busy: Vec<&str> = [(baseline, "baseline"), (current, "current run")]
        .into_iter()
        .filter(|(r, _)| machine_busy(r))
        .map(|(_, which)| which)
        .collect();
    if !busy.is_empty() {
        notes.push(format!(
            "the machine was busy with other work during the {}: regressions are inconclusive",
            busy.join(" and ")
        ));
        for row in rows.iter_mut().filter(|r| r.verdict == Change::Regressed) {
            row.verdict = Change::Inconclusive;
            row.note = Some(format!(
                "worse, but the machine was busy during the {}",
                busy.join(" and ")
            ));
        }
    }
    Ok(Comparison {
        scenario: current.scenario.name.clone(),
        baseline_started_at: baseline.started_at.clone(),
        current_started_at: current.started_at.clone(),
        options: opts.clone(),
        rows,
        tests,
        forced: (!differences.is_empty()).then(|| differences.join("; ")),
        notes,
    })
}

/// Whether other work on the run's machine was high enough to distort it.
fn machine_busy(r: &RunResult) -> bool {
    r.generator
        .as_ref()
        .and_then(|g| g.machine.as_ref())
        .is_some_and(|m| m.busy)
}

/// Fewest per-second samples per side with which the two-sided Mann–Whitney test can reach
/// level `alpha` at all: its smallest p-value with `n` samples each is `2 / C(2n, n)`, so
/// below this no difference, however large, is significant. At least [`MIN_SECONDS`].
pub fn min_samples(alpha: f64) -> usize {
    let mut n = 1usize;
    loop {
        // C(2n, n) by the product formula, in floating point (exact enough here).
        let c: f64 = (1..=n).map(|k| (n + k) as f64 / k as f64).product();
        if 2.0 / c < alpha || n >= 1000 {
            return n.max(MIN_SECONDS);
        }
        n += 1;
    }
}

fn check_options(o: &CompareOptions) -> Result<(), CompareError> {
    if !(o.significance > 0.0 && o.significance < 1.0) {
        return Err(CompareError::Option(format!(
            "significance must be between 0 and 1, got {}",
            o.significance
        )));
    }
    for (name, v) in [("max_regression", o.max_regression), ("noise", o.noise)] {
        if !(v >= 0.0 && v.is_finite()) {
            return Err(CompareError::Option(format!(
                "{name} must be a non-negative ratio, got {v}"
            )));
        }
    }
    if o.metrics.is_empty() {
        return Err(CompareError::Option("no metrics to gate".into()));
    }
    Ok(())
}

/// What makes two runs incomparable, in words.
fn differences(b: &RunResult, c: &RunResult) -> Vec<String> {
    let mut out = Vec::new();
    if b.scenario.name != c.scenario.name {
        out.push(format!(
            "scenario `{}` vs `{}`",
            b.scenario.name, c.scenario.name
        ));
    }
    if b.scenario.sha256 != c.scenario.sha256 {
        out.push("the scenario file changed (sha256 differs)".into());
    }
    let (bl, cl) = (&b.load, &c.load);
    if bl != cl {
        let mut what = Vec::new();
        let mut field = |name: &str, differs: bool| {
            if differs {
                what.push(name.to_string());
            }
        };
        field("model", bl.model != cl.model);
        field("start", bl.start != cl.start);
        field("stages", bl.stages != cl.stages);
        field("warm-up", bl.warmup_ms != cl.warmup_ms);
        field("duration", bl.duration_ms != cl.duration_ms);
        field("max_in_flight", bl.max_in_flight != cl.max_in_flight);
        field("think time", bl.think_time_ms != cl.think_time_ms);
        field("protocol", bl.protocol != cl.protocol);
        out.push(format!("load settings differ ({})", what.join(", ")));
    }
    out
}

fn host_shape(r: &RunResult) -> String {
    let cpus: Vec<String> = r
        .hosts
        .iter()
        .map(|h| format!("{} cpus/{} threads", h.cpus, h.threads))
        .collect();
    format!("{} host(s) [{}]", r.hosts.len(), cpus.join(", "))
}
