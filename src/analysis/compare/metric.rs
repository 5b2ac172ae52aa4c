//! Per-metric judgement: the per-second samples of one request name, the tests, and the
//! verdict rule documented in [`super`].

use super::{
    BOOTSTRAP_RESAMPLES, Change, CompareOptions, ERROR_RATE_FLOOR, GateMetric, MetricComparison,
    min_samples,
};
use crate::analysis::stats::{bootstrap_ci, mann_whitney_p, median, seed_of, two_proportion_p};
use crate::result::RunResult;

/// The per-second samples of one request name (or `*`) in one run.
pub(super) struct Samples {
    p50: Vec<f64>,
    p90: Vec<f64>,
    p99: Vec<f64>,
    throughput: Vec<f64>,
    /// `(errors, requests)` of seconds with traffic.
    errors: Vec<(u64, u64)>,
}

impl Samples {
    pub(super) fn of(r: &RunResult, name: &str) -> Samples {
        let mut s = Samples {
            p50: vec![],
            p90: vec![],
            p99: vec![],
            throughput: vec![],
            errors: vec![],
        };
        for sec in r.timeseries.iter().filter(|s| !s.warmup) {
            let (requests, errors, lat) = if name == "*" {
                (sec.requests, sec.errors, Some(&sec.latency_ms))
            } else {
                match sec.endpoints.iter().find(|e| e.name == name) {
                    Some(e) => (e.requests, e.errors, Some(&e.latency_ms)),
                    None => (0, 0, None),
                }
            };
            s.throughput.push(requests as f64);
            if requests > 0 {
                if let Some(l) = lat {
                    s.p50.push(l.p50);
                    s.p90.push(l.p90);
                    s.p99.push(l.p99);
                }
                s.errors.push((errors, requests));
            }
        }
        // The first and last measured seconds are usually partial: not throughput samples.
        if s.throughput.len() > 2 {
            s.throughput.pop();
            s.throughput.remove(0);
        }
        s
    }

    fn values(&self, m: GateMetric) -> &[f64] {
        match m {
            GateMetric::P50 => &self.p50,
            GateMetric::P90 => &self.p90,
            GateMetric::P99 => &self.p99,
            GateMetric::Throughput | GateMetric::ErrorRate => &self.throughput,
        }
    }
}

fn pooled_ratio(s: &[(u64, u64)]) -> f64 {
    let (e, n) = s.iter().fold((0u64, 0u64), |(e, n), x| (e + x.0, n + x.1));
    if n == 0 { 0.0 } else { e as f64 / n as f64 }
}

fn floored_change(base: f64, cur: f64) -> f64 {
    (cur + ERROR_RATE_FLOOR) / (base + ERROR_RATE_FLOOR) - 1.0
}

pub(super) fn compare_metric(
    request: &str,
    metric: GateMetric,
    b: &Samples,
    c: &Samples,
    o: &CompareOptions,
) -> MetricComparison {
    let seed = seed_of(&format!("{request}\u{0}{}", metric.key()));
    let confidence = 1.0 - o.significance;
    let mut row = MetricComparison {
        request: request.to_string(),
        metric,
        baseline: f64::NAN,
        current: f64::NAN,
        change: f64::NAN,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        p_value: 1.0,
        baseline_samples: 0,
        current_samples: 0,
        verdict: Change::NoChange,
        note: None,
    };
    if metric == GateMetric::ErrorRate {
        let (sum_b, sum_c) = (sum(&b.errors), sum(&c.errors));
        row.baseline_samples = b.errors.len();
        row.current_samples = c.errors.len();
        row.baseline = pooled_ratio(&b.errors);
        row.current = pooled_ratio(&c.errors);
        row.change = floored_change(row.baseline, row.current);
        row.p_value = two_proportion_p(sum_b.0, sum_b.1, sum_c.0, sum_c.1);
        if enough(&mut row, o.significance) {
            (row.ci_low, row.ci_high) = bootstrap_ci(
                &b.errors,
                &c.errors,
                pooled_ratio,
                floored_change,
                BOOTSTRAP_RESAMPLES,
                confidence,
                seed,
            );
        }
    } else {
        let (bv, cv) = (b.values(metric), c.values(metric));
        row.baseline_samples = bv.len();
        row.current_samples = cv.len();
        row.baseline = median(bv);
        row.current = median(cv);
        row.change = row.current / row.baseline - 1.0;
        if enough(&mut row, o.significance) {
            if row.baseline <= 0.0 {
                row.change = f64::NAN;
                row.note = Some("baseline is zero: no relative change".into());
                return row;
            }
            row.p_value = mann_whitney_p(bv, cv);
            (row.ci_low, row.ci_high) = bootstrap_ci(
                bv,
                cv,
                median,
                |x, y| y / x - 1.0,
                BOOTSTRAP_RESAMPLES,
                confidence,
                seed,
            );
        }
    }
    if row.ci_low.is_nan() {
        return row;
    }
    judge(&mut row, o);
    row
}

fn sum(s: &[(u64, u64)]) -> (u64, u64) {
    s.iter().fold((0, 0), |(e, n), x| (e + x.0, n + x.1))
}

/// Whether both sides have enough samples for the test at level `alpha`; when not, the row
/// is inconclusive and says how long to run instead.
fn enough(row: &mut MetricComparison, alpha: f64) -> bool {
    let need = min_samples(alpha);
    let ok = row.baseline_samples >= need && row.current_samples >= need;
    if !ok {
        // Throughput drops the first and last (partial) seconds.
        let extra = if row.metric == GateMetric::Throughput {
            2
        } else {
            0
        };
        row.note = Some(format!(
            "inconclusive: too few samples ({} s baseline, {} s current; the test at α = {alpha:.2e} needs {need} each): run at least {} s measured (after the warm-up)",
            row.baseline_samples,
            row.current_samples,
            need + extra
        ));
        row.p_value = f64::NAN;
        row.verdict = Change::Inconclusive;
    }
    ok
}

/// Applies the verdict rule of the module docs.
fn judge(row: &mut MetricComparison, o: &CompareOptions) {
    let sign = if row.metric.higher_is_worse() {
        1.0
    } else {
        -1.0
    };
    let worse = sign * row.change;
    // The CI in the "worse" direction: [least worse, most worse].
    let (w_low, w_high) = if sign > 0.0 {
        (row.ci_low, row.ci_high)
    } else {
        (-row.ci_high, -row.ci_low)
    };
    let significant = row.p_value < o.significance;
    row.verdict = if significant && w_low > o.noise && worse > o.max_regression {
        Change::Regressed
    } else if significant && w_high < -o.noise {
        Change::Improved
    } else {
        if significant && w_low > o.noise {
            row.note = Some(format!(
                "worse, but within the {:.0}% tolerance",
                o.max_regression * 100.0
            ));
        } else if worse > o.max_regression.max(o.noise) {
            row.note = Some("worse, but not beyond doubt (p or CI)".into());
        }
        Change::NoChange
    };
}
