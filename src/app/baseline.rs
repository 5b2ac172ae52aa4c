//! The baseline gate shared by `run --baseline` and `merge --baseline`: load the named
//! baseline, compare, print, and turn the comparison into report sections (the comparison
//! table and, when both runs have one, the CPU profile diff).

use std::path::{Path, PathBuf};

use crate::analysis::compare::{self, CompareOptions};
use crate::output::{JunitCase, Section, comparison};
use crate::result::{self, RunResult};

/// What the baseline comparison decided.
#[derive(Debug, Default)]
pub struct BaselineGate {
    /// A significant regression: the gate failed.
    pub regressed: bool,
    /// The comparison could not be made or was inconclusive: no pass.
    pub invalid: bool,
    /// `held`, `regressed`, `inconclusive` or `not comparable`, for the summaries.
    pub outcome: &'static str,
    /// Report sections to add.
    pub sections: Vec<Section>,
}

/// Reads the baseline `name` of `scenario` from the folder of named baselines `store` (a
/// path is read as such); says why on stderr when it cannot. Called before the run, so a
/// baseline that does not exist stops it before any traffic.
pub fn load(name: &str, scenario: &str, store: &Path) -> Option<(PathBuf, RunResult)> {
    result::load_baseline(name, scenario, store)
        .map_err(|e| eprintln!("error: baseline `{name}`: {e}"))
        .ok()
}

/// Compares `result` (written to `dir`) with the baseline `base` (read from its path).
pub fn gate(
    (base_path, base): &(PathBuf, RunResult),
    result: &RunResult,
    dir: &Path,
    opts: &CompareOptions,
    quiet: bool,
) -> BaselineGate {
    let mut out = BaselineGate::default();
    match compare::compare(base, result, opts) {
        Err(e) => {
            eprintln!("error: cannot compare with {}: {e}", base_path.display());
            out.invalid = true;
            out.outcome = "not comparable";
        }
        Ok(c) => {
            if !quiet {
                eprintln!(
                    "{}",
                    comparison::render_terminal(&c, super::color_enabled())
                );
            }
            out.regressed = c.regressed();
            // An inconclusive gate is not a pass.
            out.invalid = !c.regressed() && c.inconclusive();
            out.outcome = if out.regressed {
                "regressed"
            } else if out.invalid {
                "inconclusive"
            } else {
                "held"
            };
            out.sections.push(comparison_section(&c, base, result));
            match super::profile_diff::section(base_path, base, dir, result) {
                Ok(s) => out.sections.extend(s),
                Err(e) => eprintln!("warning: CPU profile diff: {e:#}"),
            }
        }
    }
    out
}

/// The baseline comparison as a report section (HTML, Markdown, one JUnit case per metric).
fn comparison_section(c: &compare::Comparison, base: &RunResult, current: &RunResult) -> Section {
    Section {
        id: "baseline".into(),
        title: "Baseline comparison".into(),
        html: comparison::render_html(c, base, current),
        markdown: comparison::render_markdown(c),
        junit: comparison::junit_cases(c)
            .into_iter()
            .map(|(name, failure)| JunitCase {
                name,
                failure,
                details: String::new(),
            })
            .collect(),
    }
}
