//! `--export ndjson=PATH|-`: one JSON object per finished second, exactly the result's
//! timeseries entry (`unix_s`, `offset_s`, `requests`, `errors`, `latency_ms`, per-name
//! `endpoints`…), written and flushed as the second finishes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::{Sink, Tick};
use crate::result::RunResult;

/// The ndjson exporter: a file or stdout.
pub struct Ndjson {
    out: BufWriter<Box<dyn Write + Send>>,
    failed: Option<String>,
}

impl Ndjson {
    /// Opens `path` (created or truncated), or stdout for `None`.
    pub fn open(path: Option<&Path>) -> std::io::Result<Self> {
        let out: Box<dyn Write + Send> = match path {
            Some(p) => Box::new(File::create(p)?),
            None => Box::new(std::io::stdout()),
        };
        Ok(Ndjson {
            out: BufWriter::new(out),
            failed: None,
        })
    }
}

impl Sink for Ndjson {
    fn push(&mut self, tick: &Tick<'_>) {
        if self.failed.is_some() {
            return;
        }
        let written = serde_json::to_writer(&mut self.out, tick.second)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush());
        if let Err(e) = written {
            self.failed = Some(format!("--export ndjson stopped: {e}"));
        }
    }

    fn finish(mut self: Box<Self>, _result: &RunResult) -> Vec<String> {
        let _ = self.out.flush();
        self.failed.into_iter().collect()
    }
}
