//! `latency.hlog`: the per-second latency histograms (warm-up included) in HdrHistogram's
//! interval-log format (V2 compressed histograms), for HdrHistogram's own tools
//! (`HistogramLogProcessor`, HdrHistogram plotters). Each second is one untagged interval
//! (all request names merged) followed by one `Tag=<request name>` interval per request name
//! with traffic in it; intervals of partial first and last seconds have their real length.
//!
//! Values are microseconds: pass `-outputValueUnitRatio 1000` to `HistogramLogProcessor` to
//! read milliseconds. The `Interval_Max` column is in milliseconds (`MaxValueDivisor` 1000).
//! `StartTime` is the run's start; `BaseTime` the start of its first second, and interval
//! timestamps are relative to it.
//!
//! A run writes the log while it goes ([`LiveLog`], every second at full resolution). A
//! result whose time series coarsens after 10 minutes (entries of 10 s) cannot give back
//! per-second histograms, so the run's own live log is kept when it belongs to the result
//! ([`for_dir`]); otherwise the log is rendered from the result (coarse entries as 10 s
//! intervals).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};

use super::{Output, OutputError, ReportInput};
use crate::recorder::series::Interval;
use crate::result::{Hist, RunResult, new_histogram};

/// The comment that marks a log written live by the run that started at the given Unix ms.
fn live_marker(start_unix_ms: i64) -> String {
    format!("Written during the run started at {start_unix_ms} (Unix ms), every second")
}

/// The interval log written while a run goes: one untagged interval per sealed second and
/// one `Tag=<request name>` interval per request name with traffic in it.
pub struct LiveLog {
    file: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
    base_ms: i64,
    names: Vec<String>,
    serializer: V2DeflateSerializer,
    buf: Vec<u8>,
}

impl LiveLog {
    /// Starts `path` with the log's header for a run of `scenario` started at
    /// `start_unix_ms` whose request ids are named `names`.
    pub fn create(
        path: &Path,
        scenario: &str,
        start_unix_ms: i64,
        names: Vec<String>,
    ) -> std::io::Result<LiveLog> {
        let base_ms = start_unix_ms - start_unix_ms.rem_euclid(1000);
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut serializer = V2DeflateSerializer::new();
        IntervalLogWriterBuilder::new()
            .add_comment(&format!(
                "Logged with nexus-bench {}: latency of scenario {} in microseconds",
                env!("CARGO_PKG_VERSION"),
                scenario.replace(['\n', '\r'], " ")
            ))
            .add_comment(&live_marker(start_unix_ms))
            .add_comment("[Histogram log format version 1.3]")
            .with_start_time(epoch_ms(start_unix_ms))
            .with_base_time(epoch_ms(base_ms))
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut file, &mut serializer)?;
        file.flush()?;
        Ok(LiveLog {
            file,
            path: path.to_path_buf(),
            base_ms,
            names,
            serializer,
            buf: Vec::new(),
        })
    }

    /// The log's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one sealed second; `covered_ms` is how much of it the run covered (the first
    /// and last seconds are partial: a partial first second starts late).
    pub fn write(&mut self, iv: &Interval, covered_ms: f64) -> std::io::Result<()> {
        let length = Duration::from_secs_f64(covered_ms.clamp(0.0, 1000.0) / 1000.0);
        let mut start = Duration::from_millis((iv.unix_s * 1000 - self.base_ms).max(0) as u64);
        if iv.unix_s * 1000 == self.base_ms {
            start += Duration::from_secs(1).saturating_sub(length);
        }
        self.line(None, &iv.all, start, length)?;
        for (id, h) in &iv.endpoints {
            let name = self.names.get(*id).cloned().unwrap_or_default();
            // A name the format cannot carry as a tag is only in the total.
            if Tag::new(&name).is_some() {
                self.line(Some(&name), h, start, length)?;
            }
        }
        Ok(())
    }

    /// One interval line, in the format of HdrHistogram's interval-log writer.
    fn line(
        &mut self,
        tag: Option<&str>,
        h: &Hist,
        start: Duration,
        length: Duration,
    ) -> std::io::Result<()> {
        self.buf.clear();
        self.serializer
            .serialize(h, &mut self.buf)
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        if let Some(t) = tag {
            write!(self.file, "Tag={t},")?;
        }
        writeln!(
            self.file,
            "{:.3},{:.3},{:.3},{}",
            start.as_secs_f64(),
            length.as_secs_f64(),
            h.max() as f64 / 1000.0,
            base64::engine::general_purpose::STANDARD.encode(&self.buf)
        )
    }

    /// Pushes what was written to the file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The `latency.hlog` output for the run folder `dir`: the run's live log when it belongs to
/// the result and the result's series is coarse (the live log has every second), else the
/// log rendered from the result.
pub fn for_dir(dir: &Path) -> LatencyLogIn {
    LatencyLogIn {
        dir: dir.to_path_buf(),
    }
}

/// See [`for_dir`].
pub struct LatencyLogIn {
    dir: PathBuf,
}

impl LatencyLogIn {
    fn live(&self, r: &RunResult) -> Option<Vec<u8>> {
        if r.timeseries.iter().all(|s| s.seconds.is_empty()) {
            return None;
        }
        let bytes = std::fs::read(self.dir.join("latency.hlog")).ok()?;
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).into_owned();
        head.contains(&live_marker(r.start_unix_ms))
            .then_some(bytes)
    }
}

impl Output for LatencyLogIn {
    fn file_name(&self) -> &'static str {
        "latency.hlog"
    }

    fn render(&self, input: &ReportInput) -> Result<Vec<u8>, OutputError> {
        match self.live(input.result) {
            Some(bytes) => Ok(bytes),
            None => LatencyLog.render(input),
        }
    }
}

/// The interval log.
pub struct LatencyLog;

fn log_err(e: impl std::fmt::Debug) -> OutputError {
    OutputError::Render {
        what: "latency.hlog",
        message: format!("{e:?}"),
    }
}

fn epoch_ms(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

impl Output for LatencyLog {
    fn file_name(&self) -> &'static str {
        "latency.hlog"
    }

    fn render(&self, input: &ReportInput) -> Result<Vec<u8>, OutputError> {
        let r = input.result;
        let base_ms = r
            .timeseries
            .first()
            .map_or(r.start_unix_ms, |s| (s.unix_s * 1000).min(r.start_unix_ms));
        let mut buf = Vec::new();
        let mut serializer = V2DeflateSerializer::new();
        {
            let mut log = IntervalLogWriterBuilder::new()
                .add_comment(&format!(
                    "Logged with {} {}: latency of scenario {} in microseconds",
                    r.tool.name,
                    r.tool.version,
                    r.scenario.name.replace(['\n', '\r'], " ")
                ))
                .add_comment("[Histogram log format version 1.3]")
                .with_start_time(epoch_ms(r.start_unix_ms))
                .with_base_time(epoch_ms(base_ms))
                .with_max_value_divisor(1000.0)
                .begin_log_with(&mut buf, &mut serializer)
                .map_err(log_err)?;
            for (i, s) in r.timeseries.iter().enumerate() {
                let mut h = new_histogram();
                let mut tagged = Vec::with_capacity(s.endpoints.len());
                for e in &s.endpoints {
                    let eh = e.latency_us.decode().map_err(|m| OutputError::Histogram {
                        what: format!("second {} of {}", s.offset_s, e.name),
                        message: m.to_string(),
                    })?;
                    h.add(&eh).map_err(log_err)?;
                    tagged.push((e.name.as_str(), eh));
                }
                // A partial first second starts late, a partial last one ends early; a coarse
                // entry (after 10 minutes of a long run) covers its seconds.
                let nominal = if s.seconds.is_empty() {
                    1000.0
                } else {
                    s.length_ms.max(1000.0)
                };
                let length = Duration::from_secs_f64(s.length_ms.clamp(0.0, nominal) / 1000.0);
                let mut start = Duration::from_millis((s.unix_s * 1000 - base_ms).max(0) as u64);
                if i == 0 && s.seconds.is_empty() {
                    start += Duration::from_secs(1).saturating_sub(length);
                }
                log.write_histogram(&h, start, length, None)
                    .map_err(log_err)?;
                for (name, eh) in &tagged {
                    // A name the format cannot carry as a tag is only in the total.
                    if let Some(t) = Tag::new(name) {
                        log.write_histogram(eh, start, length, Some(t))
                            .map_err(log_err)?;
                    }
                }
            }
        }
        Ok(buf)
    }
}
