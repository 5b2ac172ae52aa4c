//! Histogram storage in result files: lossless serialization (HdrHistogram V2 + deflate +
//! base64) and summaries. The histogram type itself is the recorder's ([`Hist`]).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Summary, WindowSummary};
use crate::recorder::{Hist, new_histogram};

/// A histogram serialized as HdrHistogram V2 (deflate) in base64: the form HdrHistogram's own
/// tools read in interval logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(transparent)]
pub struct EncodedHistogram(pub String);

/// A stored histogram that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistogramError {
    /// The text is not base64.
    #[error("histogram is not base64: {0}")]
    Base64(String),
    /// The bytes are not an HdrHistogram V2 (deflate) serialization.
    #[error("histogram does not decode: {0}")]
    Decode(String),
    /// The values do not fit the project-wide range.
    #[error("histogram out of range: {0}")]
    Range(String),
}

impl fmt::Debug for EncodedHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncodedHistogram({} chars)", self.0.len())
    }
}

impl EncodedHistogram {
    /// Serializes `h`.
    pub fn encode(h: &Hist) -> Self {
        let mut buf = Vec::new();
        V2DeflateSerializer::new()
            .serialize(h, &mut buf)
            .expect("serializing to memory cannot fail");
        EncodedHistogram(STANDARD.encode(buf))
    }

    /// The base64 form of bytes already serialized as HdrHistogram V2 (deflate), as the
    /// recorder's compact series keeps them (empty bytes: an empty histogram).
    pub fn of_bytes(bytes: &[u8]) -> Self {
        if bytes.is_empty() {
            return EncodedHistogram::encode(&new_histogram());
        }
        EncodedHistogram(STANDARD.encode(bytes))
    }

    /// Deserializes; an empty string is an empty histogram.
    pub fn decode(&self) -> Result<Hist, HistogramError> {
        if self.0.is_empty() {
            return Ok(new_histogram());
        }
        let bytes = STANDARD
            .decode(&self.0)
            .map_err(|e| HistogramError::Base64(e.to_string()))?;
        let h: Hist = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| HistogramError::Decode(format!("{e:?}")))?;
        // Re-home into the standard bounds so histograms from any writer add together.
        let mut out = new_histogram();
        out.add(&h)
            .map_err(|e| HistogramError::Range(format!("{e:?}")))?;
        Ok(out)
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Summary {
    /// Summary of `h` (µs) in milliseconds.
    pub fn of(h: &Hist) -> Self {
        if h.is_empty() {
            return Summary::default();
        }
        Summary {
            count: h.len(),
            min: ms(h.min()),
            mean: h.mean() / 1000.0,
            stdev: h.stdev() / 1000.0,
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            p99_9: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

impl WindowSummary {
    /// Percentiles of `h` (µs) in milliseconds.
    pub fn of(h: &Hist) -> Self {
        if h.is_empty() {
            return WindowSummary::default();
        }
        WindowSummary {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_losslessly() {
        let mut h = new_histogram();
        for v in [1u64, 150, 999, 12_345, 2_000_000] {
            h.record(v).unwrap();
        }
        let back = EncodedHistogram::encode(&h).decode().unwrap();
        assert_eq!(back, h);
        assert_eq!(EncodedHistogram::default().decode().unwrap().len(), 0);
        assert!(EncodedHistogram("!!".into()).decode().is_err());
    }

    #[test]
    fn summary_in_ms() {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap();
        }
        let s = Summary::of(&h);
        assert_eq!(s.count, 1000);
        assert!((s.p50 - 500.0).abs() < 1.0, "{}", s.p50);
        assert!((s.p99 - 990.0).abs() < 1.0, "{}", s.p99);
        assert!((s.max - 1000.0).abs() < 1.0);
    }
}
