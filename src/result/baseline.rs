//! Baselines on disk: where a named baseline lives, storing and reading one. Comparing them
//! is judgement and lives in [`crate::analysis::compare`]; this module only stores results.

use std::path::{Path, PathBuf};

use super::{ResultIoError, RunResult};

/// The folder under which named baselines live (relative to the working directory).
pub const BASELINES_DIR: &str = "reports/baselines";

/// Where a baseline lives. A NAME (no `/`, not ending `.json`) is
/// `reports/baselines/NAME/<scenario>.json` (under [`BASELINES_DIR`]); anything else is a path (a run folder stands for
/// its `result.json`).
pub fn baseline_path(name_or_path: &str, scenario: &str) -> PathBuf {
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
        Path::new(BASELINES_DIR)
            .join(name_or_path)
            .join(format!("{file}.json"))
    }
}

/// Stores `result` as the baseline `name_or_path` (see [`baseline_path`]), atomically,
/// creating folders as needed. Returns where it went.
pub fn save_baseline(result: &RunResult, name_or_path: &str) -> Result<PathBuf, ResultIoError> {
    let path = baseline_path(name_or_path, &result.scenario.name);
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
) -> Result<(PathBuf, RunResult), ResultIoError> {
    let path = baseline_path(name_or_path, scenario);
    let result = super::load(&path)?;
    Ok((path, result))
}
