//! Judging a merged result beyond its SLOs: a merge that lacks instances (or holds one that
//! did not complete) judged less load than was asked for, and a merge holding an instance
//! whose generator was saturated measured that generator. Pure: reads the result's
//! [`MergeInfo`](crate::result::MergeInfo), returns reasons and the verdict.

use crate::plan::{Metric, Op, Slo};
use crate::result::{RunResult, RunStatus, SloResult, Verdict};

/// What the merge itself says about the merged run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergeProblems {
    /// Reasons the gate fails whatever the SLOs say (instances missing or incomplete).
    pub failing: Vec<String>,
    /// Reasons the run cannot be judged (an instance's generator was saturated or ran out
    /// of its own resources), each naming the instance and host.
    pub unjudgeable: Vec<String>,
    /// Worth saying, not judged: a generator saturated in a merge of plain runs (judged as
    /// `run` judges it). (A machine busy with other work is in that input's warnings.)
    pub cautions: Vec<String>,
}

fn list(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// The problems of `r` as a merge (none for a result that is not a merge).
pub fn problems(r: &RunResult) -> MergeProblems {
    let mut p = MergeProblems::default();
    let Some(m) = &r.merge else {
        return p;
    };
    if !m.missing.is_empty() {
        let of = r.instances.first().map_or(0, |i| i.instances);
        p.failing.push(format!(
            "partial merge: instance(s) {} of {of} missing (merged with --allow-partial); the load asked for was not all sent",
            list(&m.missing)
        ));
    }
    for input in &m.inputs {
        let label = input.label();
        if input.instance.is_some() && input.status != RunStatus::Completed {
            p.failing.push(format!(
                "{label} did not complete (status {:?}): the load asked for was not all sent",
                input.status
            ));
        }
        let Some(g) = &input.generator else {
            continue;
        };
        if g.generator_errors > 0 {
            p.unjudgeable.push(format!(
                "{label}: the generator ran out of its own resources ({} connection(s) failed with `generator_error`)",
                g.generator_errors
            ));
        }
        if g.saturated {
            let text = format!(
                "{label}: the generator was saturated (CPU {:.0}% mean of {} CPU(s)); its share measured nexus-bench, not the target — add instances or lower the load",
                g.cpu_mean_percent, g.cpus
            );
            if input.instance.is_some() {
                p.unjudgeable.push(text);
            } else {
                p.cautions.push(text);
            }
        }
    }
    p
}

/// The merged verdict: a partial merge fails (whatever else holds: the load was not all
/// sent), then a saturated instance makes it unjudgeable, then the SLO verdict stands.
pub fn verdict(r: &RunResult, problems: &MergeProblems) -> Verdict {
    if !problems.failing.is_empty() {
        Verdict::Fail
    } else if !problems.unjudgeable.is_empty() {
        Verdict::Unjudgeable
    } else {
        r.verdict
    }
}

/// Whether `metric` is read from one machine's own sections (a launched target, probes)
/// rather than from the requests, which merge.
pub fn per_machine(metric: &Metric) -> bool {
    matches!(
        metric,
        Metric::TargetStartup
            | Metric::TargetRssMax
            | Metric::TargetCpuMean
            | Metric::Probe(_)
            | Metric::TargetRssSlope
            | Metric::TargetRssGrowth
            | Metric::ProbeSlope(_)
    )
}

/// Judges the per-machine SLOs among `slos` on each of `inputs` (the merged results) and
/// stores them in `merged`, whose other verdicts [`slo::apply`](super::slo::apply) already
/// made, then derives its verdict again. Such an SLO holds when it holds on every machine;
/// the value shown is a failing machine's, else an inconclusive one's, else the one
/// closest to the limit.
pub fn judge_per_machine(merged: &mut RunResult, inputs: &[RunResult], slos: &[Slo]) {
    for (slot, slo) in merged.slos.iter_mut().zip(slos) {
        if !per_machine(&slo.metric) || inputs.is_empty() {
            continue;
        }
        let each: Vec<SloResult> = inputs
            .iter()
            .map(|r| super::slo::evaluate(r, slo))
            .collect();
        let worst = |a: &&SloResult, b: &&SloResult| {
            let (x, y) = (
                a.observed.unwrap_or(f64::NAN),
                b.observed.unwrap_or(f64::NAN),
            );
            match slo.op {
                Op::Lt | Op::Le => x.total_cmp(&y),
                Op::Gt | Op::Ge => y.total_cmp(&x),
            }
        };
        let failed = each.iter().find(|s| !s.pass && s.inconclusive.is_none());
        let unjudged = each.iter().find(|s| s.inconclusive.is_some());
        let pick = failed
            .or(unjudged)
            .or_else(|| each.iter().max_by(worst))
            .expect("non-empty");
        *slot = pick.clone();
    }
    merged.verdict = super::judge::verdict(merged);
}
