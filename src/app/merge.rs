//! `nexus-bench merge`: one result from several generators that ran the same scenario at the
//! same time (counts add, histograms add losslessly, seconds align on wall-clock time), with
//! the SLOs judged again on the merged numbers and every report written.

use anyhow::Context;

use super::Outcome;
use crate::analysis::slo;
use crate::cli::MergeArgs;
use crate::output::{self, OutputOptions, ReportInput};
use crate::plan::{Op, Slo};
use crate::result::{self, RunResult, SloResult, Verdict};

/// Runs `nexus-bench merge`.
pub fn merge(args: MergeArgs) -> anyhow::Result<Outcome> {
    let results: Vec<RunResult> = args
        .results
        .iter()
        .map(|p| result::load(p))
        .collect::<Result<_, _>>()?;
    let slos = slo_definitions(&results[0].slos)?;
    let mut merged = result::merge(&results)?;
    slo::apply(&mut merged, &slos);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let path = args.out.join("result.json");
    result::save_atomic(&merged, &path)?;
    let input = ReportInput {
        result: &merged,
        sections: &[],
    };
    for (file, outcome) in output::write_all(&input, &args.out, &OutputOptions::default()) {
        if let Err(e) = outcome {
            eprintln!("warning: {}: {e}", file.display());
        }
    }
    eprintln!(
        "{}",
        output::terminal_summary(&merged, super::color_enabled())
    );
    eprintln!("merged {} results into {}", results.len(), path.display());
    Ok(match merged.verdict {
        Verdict::Fail => Outcome::GateFailed,
        Verdict::Unjudgeable | Verdict::Inconclusive => Outcome::Invalid,
        Verdict::Pass | Verdict::NotGated => Outcome::Pass,
    })
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
