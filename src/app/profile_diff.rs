//! The target's CPU profile beside a baseline, and the profile diff against it.
//!
//! `--save-baseline NAME` stores `<scenario>.json`; when the run captured the target's CPU
//! profile, `<scenario>.target.pb.gz` goes beside it. A baseline given as a run folder (or
//! its `result.json`) uses the `target.pb.gz` the result names. With profiles on both sides,
//! `run --baseline` and `compare` write `target-diff.svg` into the run folder and add a
//! report section (the diff flamegraph and the functions whose CPU per request changed
//! most; the top 5 in summary.md).
//!
//! The diff is not in result.json: it is derived from two files that stay in place, and it
//! would tie the result schema to one baseline. The run folder's `target-diff.svg` and the
//! report sections carry it.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::output::Section;
use crate::profiler;
use crate::result::{ProfileInfo, RunResult};

/// Rows of the diff table in the report.
const DIFF_ROWS: usize = 15;
/// The diff flamegraph's file in the run folder.
pub const DIFF_SVG: &str = "target-diff.svg";

fn target_profile(r: &RunResult) -> Option<&ProfileInfo> {
    r.profiles
        .iter()
        .find(|p| p.kind == "target" && p.pprof_file.is_some() && p.error.is_none())
}

/// `<stem>.target.pb.gz` beside a baseline JSON file.
fn beside(json: &Path) -> PathBuf {
    let stem = json
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    json.with_file_name(format!("{stem}.target.pb.gz"))
}

/// Copies the run's target CPU profile beside the saved baseline `saved_json`, if the run
/// captured one. Returns where it went.
pub fn save_baseline_profile(
    run_dir: &Path,
    result: &RunResult,
    saved_json: &Path,
) -> anyhow::Result<Option<PathBuf>> {
    let Some(file) = target_profile(result).and_then(|p| p.pprof_file.as_deref()) else {
        return Ok(None);
    };
    let to = beside(saved_json);
    std::fs::copy(run_dir.join(file), &to)
        .with_context(|| format!("copying the target profile to {}", to.display()))?;
    Ok(Some(to))
}

/// The baseline's target CPU profile: beside its JSON, else the file its result names.
fn baseline_profile(base_json: &Path, base: &RunResult) -> Option<PathBuf> {
    let saved = beside(base_json);
    if saved.is_file() {
        return Some(saved);
    }
    let name = target_profile(base)?.pprof_file.as_deref()?;
    if name.contains(['/', '\\']) || name == ".." {
        return None;
    }
    Some(base_json.with_file_name(name)).filter(|p| p.is_file())
}

/// Requests completed during a profile's window, from the per-second series (whole seconds
/// overlapping the window, pro rata), else from the mean throughput.
fn requests_in_window(r: &RunResult, p: &ProfileInfo) -> f64 {
    let (start, end) = (p.start_ms / 1000.0, (p.start_ms + p.duration_ms) / 1000.0);
    let from_series: f64 = r
        .timeseries
        .iter()
        .map(|s| {
            let (a, b) = (s.offset_s as f64, s.offset_s as f64 + 1.0);
            let overlap = (b.min(end) - a.max(start)).max(0.0);
            overlap * s.requests as f64
        })
        .sum();
    if from_series > 0.0 {
        from_series
    } else {
        r.totals.throughput_per_sec * p.duration_ms / 1000.0
    }
}

/// The profile-diff section for `current` (whose files are in `dir`) against the baseline
/// at `base_json`, writing `target-diff.svg` into `dir`. `None` when either side has no
/// target profile; an error when the profiles exist but cannot be read or compared.
pub fn section(
    base_json: &Path,
    base: &RunResult,
    dir: &Path,
    current: &RunResult,
) -> anyhow::Result<Option<Section>> {
    let (Some(now_info), Some(base_file)) =
        (target_profile(current), baseline_profile(base_json, base))
    else {
        return Ok(None);
    };
    let Some(base_info) = target_profile(base) else {
        return Ok(None);
    };
    let read = |path: &Path| -> anyhow::Result<profiler::Profile> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        profiler::decode_pprof(&bytes).with_context(|| format!("decoding {}", path.display()))
    };
    let now_file = dir.join(now_info.pprof_file.as_deref().unwrap_or_default());
    let (before, after) = (read(&base_file)?, read(&now_file)?);
    let (nb, na) = (
        requests_in_window(base, base_info),
        requests_in_window(current, now_info),
    );
    let rows = profiler::cpu_diff(&before, nb, &after, na, DIFF_ROWS)?;
    let svg = profiler::diff_flamegraph_svg(
        &before,
        nb,
        &after,
        na,
        "target CPU per request: baseline → this run",
    )?;
    std::fs::write(dir.join(DIFF_SVG), &svg)
        .with_context(|| format!("writing {}", dir.join(DIFF_SVG).display()))?;
    Ok(Some(Section {
        id: "profile-diff".into(),
        title: "CPU profile diff".into(),
        html: crate::output::profile_diff::render_html(&rows, Some(&svg), DIFF_SVG),
        markdown: crate::output::profile_diff::render_markdown(&rows),
        junit: Vec::new(),
    }))
}
