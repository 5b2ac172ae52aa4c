//! `nexus-bench compare`: load a baseline and a run, compare them, print the table, and fail
//! (exit 1) when a gated metric regressed. Runs that are not comparable are an error (exit 2)
//! unless `--force`; a comparison that cannot be judged (too few seconds, a busy machine)
//! exits 2, never 0.

use anyhow::Context;

use super::Outcome;
use crate::analysis::compare::{CompareOptions, compare as compare_runs};
use crate::cli::CompareArgs;
use crate::output::comparison::render_terminal;
use crate::result::{BASELINES_DIR, load_baseline};
use crate::units::parse_percent;

/// Runs `nexus-bench compare`.
pub fn compare(args: CompareArgs) -> anyhow::Result<Outcome> {
    let opts = options(
        args.max_regression.as_deref(),
        args.noise.as_deref(),
        args.significance,
        args.force,
    )?;
    let current = crate::result::load(&args.current).context("reading the current run")?;
    let store = args
        .baselines
        .clone()
        .unwrap_or_else(|| BASELINES_DIR.into());
    let (path, baseline) = load_baseline(&args.baseline, &current.scenario.name, &store)
        .with_context(|| format!("reading the baseline `{}`", args.baseline))?;
    let comparison = compare_runs(&baseline, &current, &opts).with_context(|| {
        format!(
            "comparing {} with {}",
            path.display(),
            args.current.display()
        )
    })?;
    eprint!("{}", render_terminal(&comparison, super::color_enabled()));
    // The current run's folder: where its profile is and the diff SVG goes.
    let dir = if args.current.is_dir() {
        args.current.as_path()
    } else {
        args.current
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."))
    };
    match super::profile_diff::section(&path, &baseline, dir, &current) {
        Ok(Some(s)) => eprintln!(
            "\nCPU profile diff ({}):\n{}",
            dir.join(super::profile_diff::DIFF_SVG).display(),
            s.markdown
        ),
        Ok(None) => {}
        Err(e) => eprintln!("warning: CPU profile diff: {e:#}"),
    }
    Ok(if comparison.regressed() {
        Outcome::GateFailed
    } else if comparison.inconclusive() {
        Outcome::Invalid
    } else {
        Outcome::Pass
    })
}

/// Comparison options from flag values (`"10%"`, `"2%"`, `0.05`); unset ones keep their
/// defaults.
pub fn options(
    max_regression: Option<&str>,
    noise: Option<&str>,
    significance: Option<f64>,
    force: bool,
) -> anyhow::Result<CompareOptions> {
    options_over(
        CompareOptions::default(),
        max_regression,
        noise,
        significance,
        force,
    )
}

/// The scenario's `[baseline]` settings over the defaults (already validated).
pub fn scenario_options(gate: &crate::plan::GateSettings) -> CompareOptions {
    let mut opts = CompareOptions::default();
    if let Some(metrics) = &gate.metrics {
        opts.metrics = metrics.iter().filter_map(|m| m.parse().ok()).collect();
    }
    opts.max_regression = gate.max_regression.unwrap_or(opts.max_regression);
    opts.noise = gate.noise.unwrap_or(opts.noise);
    opts.significance = gate.significance.unwrap_or(opts.significance);
    opts
}

/// Flag values over `base`.
pub fn options_over(
    base: CompareOptions,
    max_regression: Option<&str>,
    noise: Option<&str>,
    significance: Option<f64>,
    force: bool,
) -> anyhow::Result<CompareOptions> {
    let mut opts = CompareOptions { force, ..base };
    if let Some(text) = max_regression {
        opts.max_regression = parse_percent(text)
            .map_err(anyhow::Error::msg)
            .context("--max-regression")?;
    }
    if let Some(text) = noise {
        opts.noise = parse_percent(text)
            .map_err(anyhow::Error::msg)
            .context("--noise")?;
    }
    if let Some(alpha) = significance {
        opts.significance = alpha;
    }
    Ok(opts)
}
