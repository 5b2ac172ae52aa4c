//! Loading and saving result files. Saves are atomic (temporary file, then rename), so a
//! reader never sees half a file, even when a run is interrupted mid-write.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{RunResult, SCHEMA_VERSION};

/// A result file that could not be read or written, with its path.
#[derive(Debug, thiserror::Error)]
pub enum ResultIoError {
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a result this version understands.
    #[error("{path}: not a nexus-bench result: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// Writes `result` to `path` atomically (pretty JSON).
pub fn save_atomic(result: &RunResult, path: &Path) -> Result<(), ResultIoError> {
    let io = |source| ResultIoError::Io {
        path: path.to_path_buf(),
        source,
    };
    let json = serde_json::to_vec_pretty(result).expect("results always serialize");
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(&json).map_err(io)?;
    file.write_all(b"\n").map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)
}

/// Reads a result file, refusing unknown schema versions with a clear message.
/// `path` may be a run folder, in which case its `result.json` is read.
pub fn load(path: &Path) -> Result<RunResult, ResultIoError> {
    let path = if path.is_dir() {
        path.join("result.json")
    } else {
        path.to_path_buf()
    };
    let bytes = std::fs::read(&path).map_err(|source| ResultIoError::Io {
        path: path.clone(),
        source,
    })?;
    from_json_bytes(&bytes).map_err(|message| ResultIoError::Format {
        path: path.clone(),
        message,
    })
}

/// Parses a result from its JSON, refusing unknown schema versions with a clear message.
pub(super) fn from_json_bytes(bytes: &[u8]) -> Result<RunResult, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        // Versions 1 and 2 lack only optional sections and fields, which default to empty.
        Some(v) if (1..=u64::from(SCHEMA_VERSION)).contains(&v) => {}
        Some(v) => {
            return Err(format!(
                "schema_version {v}, but this nexus-bench reads version {SCHEMA_VERSION}; use the nexus-bench that wrote it"
            ));
        }
        None => return Err("no schema_version field".into()),
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}
