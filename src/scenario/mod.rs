//! Scenario files (TOML): the serde model, validation into a [`crate::plan::Plan`], and
//! errors with file, line and column. (Placeholder until the parser lands.)

use std::path::{Path, PathBuf};

use crate::plan::Plan;

/// Command-line overrides of scenario values.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Raw `key=value` pairs from `--set`.
    pub set: Vec<String>,
    /// `--target URL`.
    pub target: Option<String>,
    /// `--duration D`.
    pub duration: Option<String>,
}

/// One problem in a scenario file.
#[derive(Debug, Clone)]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0 for problems outside the file, such as `--set`).
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub message: String,
    /// What to write instead.
    pub help: Option<String>,
}

/// Every problem found in a scenario file.
#[derive(Debug, Clone)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl std::fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.0 {
            writeln!(
                f,
                "error: {}:{}:{}: {}",
                e.file.display(),
                e.line,
                e.col,
                e.message
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

/// Loads and validates a scenario file.
pub fn load(path: &Path, _overrides: &Overrides) -> Result<Plan, ScenarioErrors> {
    Err(ScenarioErrors(vec![ScenarioError {
        file: path.to_path_buf(),
        line: 0,
        col: 0,
        message: "scenario parsing is not available yet".into(),
        help: None,
    }]))
}

/// JSON Schema of scenario files.
pub fn json_schema() -> serde_json::Value {
    serde_json::json!({})
}
