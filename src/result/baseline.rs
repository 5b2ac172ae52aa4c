//! Baselines on disk: where a named baseline lives, storing and reading one. Comparing them
//! is judgement and lives in [`crate::analysis::compare`]; this module only stores results.

use std::path::{Path, PathBuf};

use super::{ResultIoError, RunResult};

/// The folder named baselines live in when neither `--baselines` nor [`BASELINES_ENV`] says
/// otherwise and there is no `--out`: `reports/baselines` (`run` uses `<out>/baselines`).
pub const BASELINES_DIR: &str = "reports/baselines";

/// The environment variable that sets the baselines folder (like `--baselines`).
pub const BASELINES_ENV: &str = "NEXUS_BENCH_BASELINES";

/// Where a baseline lives. A NAME (no `/`, not ending `.json`) is `<dir>/NAME/<scenario>.json`
/// (`dir` is the baselines folder); anything else is a path (a run folder stands for its
/// `result.json`).
pub fn baseline_path(name_or_path: &str, scenario: &str, dir: &Path) -> PathBuf {
    let is_path = name_or_path.contains('/')
        || name_or_path.contains('\\')
        || name_or_path.ends_with(".json")
        || name_or_path == "."
        || name_or_path == "..";
    if is_path {
        let p = PathBuf::from(name_or_path);
        if p.is_dir() { p.join("result.json") } else { p }
    } else {
        let file: String = scenario
            .chars()
            .map(|c| if c == '/' || c == '\\' { '_' } else { c })
            .collect();
        dir.join(name_or_path).join(format!("{file}.json"))
    }
}

/// Stores `result` as the baseline `name_or_path` (see [`baseline_path`]), atomically,
/// creating folders as needed. Returns where it went.
pub fn save_baseline(
    result: &RunResult,
    name_or_path: &str,
    dir: &Path,
) -> Result<PathBuf, ResultIoError> {
    let path = baseline_path(name_or_path, &result.scenario.name, dir);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| ResultIoError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    super::save_atomic(result, &path)?;
    Ok(path)
}

/// Reads the baseline `name_or_path` for `scenario` (see [`baseline_path`]).
pub fn load_baseline(
    name_or_path: &str,
    scenario: &str,
    dir: &Path,
) -> Result<(PathBuf, RunResult), ResultIoError> {
    let path = baseline_path(name_or_path, scenario, dir);
    let result = super::load(&path)?;
    Ok((path, result))
}
