//! Loading and saving result files. Saves are atomic (temporary file, then rename), so a
//! reader never sees half a file, even when a run is interrupted mid-write.
//!
//! A run in progress checkpoints incrementally: `result.json` holds everything but the time
//! series (small, rewritten atomically), and the time series goes to the **journal**
//! `result.journal` beside it, one JSON [`Second`] per line, appended (never rewritten). A
//! later line for the same `unix_s` replaces an earlier one (a provisional second, completed
//! later). [`load`] joins the two, so `report` and `merge` read a run killed mid-way; a line
//! cut short by the kill is ignored. The finished result, saved whole, replaces the journal.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use super::{RunResult, RunStatus, SCHEMA_VERSION, Second};

/// The journal's extension: `result.json` → `result.journal`.
const JOURNAL_EXTENSION: &str = "journal";

/// The journal beside a result file.
pub fn journal_path(result: &Path) -> PathBuf {
    result.with_extension(JOURNAL_EXTENSION)
}

/// The append-only time-series journal of a run in progress (see the module docs).
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
}

impl Journal {
    /// Starts an empty journal beside `result` (replacing an old one).
    pub fn create(result: &Path) -> Result<Journal, ResultIoError> {
        let path = journal_path(result);
        let file = std::fs::File::create(&path).map_err(|source| ResultIoError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Journal { path, file })
    }

    /// Appends `seconds` and flushes them to the disk.
    pub fn append(&mut self, seconds: &[Second]) -> Result<(), ResultIoError> {
        let mut buf = Vec::new();
        for s in seconds {
            serde_json::to_writer(&mut buf, s).expect("seconds always serialize");
            buf.push(b'\n');
        }
        let io = |source| ResultIoError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&buf).map_err(io)?;
        self.file.sync_data().map_err(io)
    }

    /// Writes a checkpoint: the new `seconds` appended to the journal first, then `head`
    /// (the result without its time series) saved atomically as `result`.
    pub fn checkpoint(
        &mut self,
        head: &RunResult,
        seconds: &[Second],
        result: &Path,
    ) -> Result<(), ResultIoError> {
        self.append(seconds)?;
        save_atomic(head, result)
    }
}

/// The seconds of a journal, the last line for each `unix_s` winning; unreadable lines (the
/// last one, cut by a kill) are skipped.
fn read_journal(path: &Path) -> Result<Vec<Second>, ResultIoError> {
    let file = std::fs::File::open(path).map_err(|source| ResultIoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut seconds = BTreeMap::new();
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line.map_err(|source| ResultIoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if let Ok(s) = serde_json::from_slice::<Second>(&line) {
            seconds.insert(s.unix_s, s);
        }
    }
    Ok(seconds.into_values().collect())
}

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

/// `result` as the JSON of a result file: the first two levels indented, deeper values on
/// one line each (one line per second of the time series, per request name, per SLO), so a
/// long run's file stays small (half the size of fully indented JSON) and greppable.
pub fn to_json(result: &RunResult) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Shallow::default());
    serde::Serialize::serialize(result, &mut ser).expect("results always serialize");
    out
}

/// Containers nested this deep or deeper are written on one line.
const INDENTED_LEVELS: usize = 2;

/// A JSON formatter that indents the outer levels only.
#[derive(Default)]
struct Shallow {
    depth: usize,
    pretty: serde_json::ser::PrettyFormatter<'static>,
    compact: serde_json::ser::CompactFormatter,
}

macro_rules! by_depth {
    ($self:ident, $inner:expr, $name:ident ( $($arg:expr),* )) => {
        if $inner {
            $self.pretty.$name($($arg),*)
        } else {
            $self.compact.$name($($arg),*)
        }
    };
}

impl serde_json::ser::Formatter for Shallow {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        by_depth!(self, self.depth <= INDENTED_LEVELS, begin_array(w))
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        let r = by_depth!(self, self.depth <= INDENTED_LEVELS, end_array(w));
        self.depth -= 1;
        r
    }
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        by_depth!(
            self,
            self.depth <= INDENTED_LEVELS,
            begin_array_value(w, first)
        )
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        by_depth!(self, self.depth <= INDENTED_LEVELS, end_array_value(w))
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        by_depth!(self, self.depth <= INDENTED_LEVELS, begin_object(w))
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        let r = by_depth!(self, self.depth <= INDENTED_LEVELS, end_object(w));
        self.depth -= 1;
        r
    }
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        by_depth!(
            self,
            self.depth <= INDENTED_LEVELS,
            begin_object_key(w, first)
        )
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        by_depth!(self, self.depth <= INDENTED_LEVELS, begin_object_value(w))
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        by_depth!(self, self.depth <= INDENTED_LEVELS, end_object_value(w))
    }
}

/// Writes `result` to `path` atomically ([`to_json`]). A finished result (status other than
/// `running`) removes the checkpoint journal beside it.
pub fn save_atomic(result: &RunResult, path: &Path) -> Result<(), ResultIoError> {
    let io = |source| ResultIoError::Io {
        path: path.to_path_buf(),
        source,
    };
    let json = to_json(result);
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(&json).map_err(io)?;
    file.write_all(b"\n").map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)?;
    // A finished result holds its whole time series: the checkpoint journal is superseded.
    if result.status != RunStatus::Running {
        let journal = journal_path(path);
        if journal.is_file() {
            std::fs::remove_file(&journal).map_err(|source| ResultIoError::Io {
                path: journal,
                source,
            })?;
        }
    }
    Ok(())
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
    let mut result = from_json_bytes(&bytes).map_err(|message| ResultIoError::Format {
        path: path.clone(),
        message,
    })?;
    // A checkpoint of a run in progress (or killed): its time series is in the journal.
    let journal = journal_path(&path);
    if result.status == RunStatus::Running && result.timeseries.is_empty() && journal.is_file() {
        result.timeseries = read_journal(&journal)?;
    }
    Ok(result)
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
