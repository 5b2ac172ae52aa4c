//! `nexus-bench merge`: the gate of a distributed run. The results of every instance (files,
//! run folders, or frames collected from logs) are checked to be one run's complete set,
//! merged exactly (counts add, histograms add losslessly, seconds align on wall-clock
//! time), judged again on the merged numbers — SLOs, what the merge itself says (missing or
//! saturated instances), an optional baseline — and written as a full run folder.

use std::io::BufRead;
use std::path::Path;

use anyhow::Context;

use super::Outcome;
use crate::analysis::{merged, slo};
use crate::cli::MergeArgs;
use crate::output::{self, OutputOptions, ReportInput};
use crate::plan::{Op, Slo};
use crate::result::{self, RunResult, SloResult, Verdict};

/// Runs `nexus-bench merge`.
pub fn merge(args: MergeArgs) -> anyhow::Result<Outcome> {
    let mut results: Vec<RunResult> = args
        .results
        .iter()
        .map(|p| result::load(p))
        .collect::<Result<_, _>>()?;
    if let Some(logs) = &args.from_logs {
        let found = from_logs(logs)?;
        eprintln!(
            "{} result(s) reassembled from {}",
            found.len(),
            logs.display()
        );
        results.extend(found);
    }
    let set = result::check_set(&results, args.allow_partial)?;
    let mut merged = result::merge(&results)?;
    if let Some(info) = merged.merge.as_mut() {
        info.missing = set.missing.clone();
    }
    let (slos, compare_opts) = match &args.scenario {
        Some(file) => {
            let plan = scenario_plan(file, &merged)?;
            (plan.slos, super::compare::scenario_options(&plan.gate))
        }
        None => (
            recorded_slos(&results)?,
            crate::analysis::compare::CompareOptions::default(),
        ),
    };
    let compare_opts = super::compare::options_over(
        compare_opts,
        args.max_regression.as_deref(),
        args.noise.as_deref(),
        args.significance,
        args.force,
    )?;
    slo::apply(&mut merged, &slos);
    merged::judge_per_machine(&mut merged, &results, &slos);
    let problems = merged::problems(&merged);
    merged.verdict = merged::verdict(&merged, &problems);
    // Not copied into the warnings: every output shows them as banners, computed from
    // `merged.merge`.

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let path = args.out.join("result.json");
    // Saved first, as `run` does: a renderer that fails loses nothing.
    result::save_atomic(&merged, &path)?;
    let mut gate_failed = merged.verdict == Verdict::Fail;
    let mut invalid = matches!(merged.verdict, Verdict::Unjudgeable | Verdict::Inconclusive);
    let mut sections = Vec::new();
    if let Some(name) = &args.baseline {
        let store = args
            .baselines
            .clone()
            .unwrap_or_else(|| result::BASELINES_DIR.into());
        match super::baseline::load(name, &merged.scenario.name, &store) {
            Some(base) => {
                let b = super::baseline::gate(&base, &merged, &args.out, &compare_opts, args.quiet);
                gate_failed |= b.regressed;
                invalid |= b.invalid;
                sections = b.sections;
            }
            None => invalid = true,
        }
    }
    let input = ReportInput {
        result: &merged,
        sections: &sections,
    };
    for (file, outcome) in output::write_all(&input, &args.out, &OutputOptions::default()) {
        if let Err(e) = outcome {
            eprintln!("warning: {}: {e}", file.display());
        }
    }
    if !args.quiet {
        eprintln!(
            "{}",
            output::terminal_summary(&merged, super::color_enabled())
        );
    }
    eprintln!("merged {} results into {}", results.len(), path.display());
    // A partial merge fails (exit 1) whatever else holds; otherwise as for `run`:
    // unjudgeable (2) before a failed gate (1).
    Ok(if !problems.failing.is_empty() {
        Outcome::GateFailed
    } else if invalid {
        Outcome::Invalid
    } else if gate_failed {
        Outcome::GateFailed
    } else {
        Outcome::Pass
    })
}

/// Results framed in a log (`-`: stdin).
fn from_logs(path: &Path) -> anyhow::Result<Vec<RunResult>> {
    let read = |input: &mut dyn BufRead| result::parse_frames(input);
    let found = if path == Path::new("-") {
        read(&mut std::io::stdin().lock())
    } else {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        read(&mut std::io::BufReader::new(file))
    };
    found.with_context(|| format!("--from-logs {}", path.display()))
}

/// The plan of `--scenario FILE`, which must be the file the instances ran.
fn scenario_plan(file: &Path, merged: &RunResult) -> anyhow::Result<crate::plan::Plan> {
    let plan = crate::scenario::load(file, &crate::scenario::Overrides::default())
        .map_err(|errors| anyhow::anyhow!("{errors}"))
        .with_context(|| format!("--scenario {}", file.display()))?;
    if plan.source.sha256 != merged.scenario.sha256 {
        anyhow::bail!(
            "--scenario {}: not the scenario file the results ran ({}): its contents differ",
            file.display(),
            merged.scenario.file
        );
    }
    Ok(plan)
}

/// The SLOs the instances judged (the scenario's, as each result records them): they must
/// agree, since every instance ran the same scenario.
fn recorded_slos(results: &[RunResult]) -> anyhow::Result<Vec<Slo>> {
    let key = |r: &RunResult| -> Vec<(String, String, u64)> {
        r.slos
            .iter()
            .map(|s| (s.key.clone(), s.op.clone(), s.limit.to_bits()))
            .collect()
    };
    let first = &results[0];
    if let Some(other) = results.iter().find(|r| key(r) != key(first)) {
        anyhow::bail!(
            "the results were judged by different SLOs ({} and {}; a `--set` override?): pass --scenario FILE to judge the merge by one set",
            describe(first),
            describe(other)
        );
    }
    slo_definitions(&first.slos)
}

fn describe(r: &RunResult) -> String {
    match r.instances.first() {
        Some(i) => format!("instance {} on {}", i.instance, i.hostname),
        None => r
            .hosts
            .first()
            .map_or_else(|| r.started_at.clone(), |h| h.hostname.clone()),
    }
}

/// Rebuilds the SLO definitions a result was judged by.
fn slo_definitions(verdicts: &[SloResult]) -> anyhow::Result<Vec<Slo>> {
    verdicts
        .iter()
        .map(|v| {
            // The key names the metric; the value's unit is irrelevant once op and limit are
            // taken from the verdict, so any well-formed value serves to parse the key.
            let probe = match v.unit.as_str() {
                "ms" => "< 1ms",
                "ratio" => "< 1%",
                "per_sec" => "> 1/s",
                "bytes" => "< 1MB",
                "bytes_per_min" => "< 1MB/min",
                "per_min" => "< 1/min",
                _ => "< 1",
            };
            let mut slo = crate::scenario::parse_slo(&v.key, probe)
                .map_err(|e| anyhow::anyhow!("SLO `{}` in the result: {e}", v.key))?;
            slo.op = match v.op.as_str() {
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                other => anyhow::bail!("SLO `{}` has an unknown operator `{other}`", v.key),
            };
            slo.limit = v.limit;
            Ok(slo)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of SLO a result records comes back as the definition it was judged by.
    #[test]
    fn recorded_slos_round_trip_for_every_unit() {
        let result = crate::result::load(Path::new("fixtures/results/sample.json")).unwrap();
        let written = [
            ("latency.p99", "< 250ms"),
            ("get.service_time.mean", "<= 2ms"),
            ("error_rate", "< 0.5%"),
            ("throughput", ">= 900/s"),
            ("expect_pass_rate", "> 99%"),
            ("target.startup", "< 2s"),
            ("target.rss.max", "< 50MB"),
            ("target.cpu.mean", "< 150%"),
            ("probe.hit_ratio", "> 85%"),
            ("probe.queue", "< 12"),
            ("target.rss.slope", "< 2MB/min"),
            ("target.rss.growth", "< 10MB"),
            ("probe.queue.slope", "< 10/min"),
        ];
        let slos: Vec<Slo> = written
            .iter()
            .map(|(k, v)| crate::scenario::parse_slo(k, v).unwrap())
            .collect();
        let recorded: Vec<SloResult> = slos.iter().map(|s| slo::evaluate(&result, s)).collect();
        let back = slo_definitions(&recorded).unwrap();
        for (a, b) in slos.iter().zip(&back) {
            assert_eq!(
                (&a.key, &a.request, &a.metric, a.op, a.limit),
                (&b.key, &b.request, &b.metric, b.op, b.limit)
            );
        }
    }
}
