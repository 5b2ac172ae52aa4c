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

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use super::{Output, OutputError, ReportInput};
use crate::result::new_histogram;

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
                // A partial first second starts late, a partial last one ends early.
                let length = Duration::from_secs_f64(s.length_ms.clamp(0.0, 1000.0) / 1000.0);
                let mut start = Duration::from_millis((s.unix_s * 1000 - base_ms).max(0) as u64);
                if i == 0 {
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
