//! Baselines on disk: where a named baseline lives, storing and reading one.

use std::path::{Path, PathBuf};

use super::CompareError;
use crate::result::{ResultIoError, RunResult};

/// Where a baseline lives. A NAME (no `/`, not ending `.json`) is
/// `reports/baselines/NAME/<scenario>.json`; anything else is a path (a run folder stands for
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
        Path::new("reports")
            .join("baselines")
            .join(name_or_path)
            .join(format!("{file}.json"))
    }
}

/// Stores `result` as the baseline `name_or_path` (see [`baseline_path`]), atomically,
/// creating folders as needed. Returns where it went.
pub fn save_baseline(result: &RunResult, name_or_path: &str) -> Result<PathBuf, CompareError> {
    let path = baseline_path(name_or_path, &result.scenario.name);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| ResultIoError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    crate::result::save_atomic(result, &path)?;
    Ok(path)
}

/// Reads the baseline `name_or_path` for `scenario` (see [`baseline_path`]).
pub fn load_baseline(
    name_or_path: &str,
    scenario: &str,
) -> Result<(PathBuf, RunResult), CompareError> {
    let path = baseline_path(name_or_path, scenario);
    let result = crate::result::load(&path)?;
    Ok((path, result))
}
