//! Units a person writes and reads: durations (`250ms`, `2s`, `1m30s`), rates (`1000/s`),
//! percentages (`0.1%`) and byte sizes (`50MB`), with parsing and human display.
//!
//! Scenario files, `--set` overrides and SLO limits all parse through here, so a value means
//! the same wherever it is written.

use std::time::Duration;

/// A value that does not parse as the unit asked for. The message ends with a hint after
/// `; ` (e.g. `; write e.g. "30s"`) where one helps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// A size per time (`1MB/min`) without the `/`.
    #[error("`{0}` is not a size per time; write e.g. \"1MB/min\"")]
    NotSizePerTime(String),
    /// Nothing was written where a duration belongs.
    #[error("empty duration; write e.g. \"30s\"")]
    EmptyDuration,
    /// A number without a unit.
    #[error("`{0}` has no unit; write e.g. \"{0}s\" or \"{0}ms\"")]
    NoUnit(String),
    /// Not a number followed by a unit.
    #[error("`{0}` is not a duration; write e.g. \"30s\", \"250ms\" or \"1m30s\"")]
    NotADuration(String),
    /// The number part of a duration does not parse.
    #[error("`{0}` is not a duration; write e.g. \"30s\"")]
    DurationNumber(String),
    /// A unit that is not a duration unit.
    #[error("unknown duration unit `{unit}` in `{text}`; use ns, us, ms, s, m or h")]
    DurationUnit {
        /// The unit as written.
        unit: String,
        /// The whole value.
        text: String,
    },
    /// Longer than any run can be.
    #[error("`{0}` is too long a duration")]
    TooLong(String),
    /// Not a number (per unit of time).
    #[error("`{0}` is not a rate; write e.g. \"1000/s\"")]
    NotARate(String),
    /// A unit of time that rates do not use.
    #[error("unknown rate unit `/{unit}` in `{text}`; use /s, /m or /h")]
    RateUnit {
        /// The unit as written.
        unit: String,
        /// The whole value.
        text: String,
    },
    /// A negative, infinite or NaN rate.
    #[error("`{0}` must be a non-negative rate")]
    NegativeRate(String),
    /// Not a number followed by `%`.
    #[error("`{0}` is not a percentage; write e.g. \"0.1%\"")]
    NotAPercentage(String),
    /// Not a number followed by a size unit.
    #[error("`{0}` is not a size; write e.g. \"50MB\"")]
    NotASize(String),
    /// A unit that is not a size unit.
    #[error("unknown size unit `{unit}` in `{text}`; use B, KB, MB, GB, KiB, MiB or GiB")]
    SizeUnit {
        /// The unit as written.
        unit: String,
        /// The whole value.
        text: String,
    },
}

/// Parses a duration such as `500us`, `250ms`, `2s`, `1.5s`, `3m`, `1h` or `1m30s`.
///
/// A bare number is refused: the unit is part of the value.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(UnitError::EmptyDuration);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| UnitError::NoUnit(s.to_string()))?;
        if num_len == 0 {
            return Err(UnitError::NotADuration(s.to_string()));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| UnitError::DurationNumber(s.to_string()))?;
        let after = &rest[num_len..];
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let unit = &after[..unit_len];
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            other => {
                return Err(UnitError::DurationUnit {
                    unit: other.to_string(),
                    text: s.to_string(),
                });
            }
        };
        total += value * scale;
        rest = &after[unit_len..];
    }
    if !total.is_finite() || total > 1e9 {
        return Err(UnitError::TooLong(s.to_string()));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Parses a rate such as `1000/s`, `1000`, `60/m` or `5/ms` into events per second.
pub fn parse_rate(text: &str) -> Result<f64, UnitError> {
    let s = text.trim();
    let (num, per) = match s.split_once('/') {
        Some((n, p)) => (n.trim(), p.trim()),
        None => (s, "s"),
    };
    let value: f64 = num
        .parse()
        .map_err(|_| UnitError::NotARate(s.to_string()))?;
    let per_sec = match per {
        "s" | "sec" => 1.0,
        "ms" => 1000.0,
        "m" | "min" => 1.0 / 60.0,
        "h" => 1.0 / 3600.0,
        other => {
            return Err(UnitError::RateUnit {
                unit: other.to_string(),
                text: s.to_string(),
            });
        }
    };
    if !(value.is_finite() && value >= 0.0) {
        return Err(UnitError::NegativeRate(s.to_string()));
    }
    Ok(value * per_sec)
}

/// Parses a percentage (`0.1%`) into a ratio (`0.001`).
pub fn parse_percent(text: &str) -> Result<f64, UnitError> {
    let s = text.trim();
    let num = s
        .strip_suffix('%')
        .ok_or_else(|| UnitError::NotAPercentage(s.to_string()))?;
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| UnitError::NotAPercentage(s.to_string()))?;
    Ok(value / 100.0)
}

/// Parses a byte size (`512`, `64KB`, `50MB`, `1GiB`) into bytes. `KB`/`MB`/`GB` are powers of
/// 1000, `KiB`/`MiB`/`GiB` powers of 1024.
pub fn parse_bytes(text: &str) -> Result<u64, UnitError> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let value: f64 = s[..split]
        .parse()
        .map_err(|_| UnitError::NotASize(s.to_string()))?;
    let scale = match s[split..].trim() {
        "" | "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(UnitError::SizeUnit {
                unit: other.to_string(),
                text: s.to_string(),
            });
        }
    };
    Ok((value * scale).round() as u64)
}

/// Formats milliseconds the way a person reads them: `850µs`, `12.3ms`, `1.25s`.
pub fn format_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "–".into();
    }
    // Each unit is chosen after rounding, so 0.9996 ms is "1.00ms", never "1000µs".
    let us = round_to(ms * 1000.0, 0);
    if us < 1000.0 {
        return format!("{us:.0}µs");
    }
    let r = round_to(ms, 2);
    if r < 10.0 {
        return format!("{r:.2}ms");
    }
    let r = round_to(ms, 1);
    if r < 1000.0 {
        return format!("{r:.1}ms");
    }
    format!("{:.2}s", ms / 1000.0)
}

/// `x` rounded to `decimals` decimal places exactly as `format!` rounds it for display, so
/// the unit chosen and the digits shown agree.
fn round_to(x: f64, decimals: i32) -> f64 {
    format!("{x:.*}", decimals.max(0) as usize)
        .parse()
        .unwrap_or(x)
}

/// Formats a duration compactly: `250ms`, `30s`, `1m30s`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if round_to(ms, 1) < 1000.0 {
        return format_ms(ms);
    }
    let secs = d.as_secs_f64();
    if round_to(secs, 2) < 60.0 {
        if secs.fract() == 0.0 {
            format!("{secs:.0}s")
        } else {
            format!("{:.2}s", round_to(secs, 2))
        }
    } else {
        // Whole seconds, carried into minutes: 119.6 s is "2m", never "1m60s".
        let total = secs.round();
        let (m, s) = ((total / 60.0).floor(), total % 60.0);
        if s == 0.0 {
            format!("{m:.0}m")
        } else {
            format!("{m:.0}m{s:.0}s")
        }
    }
}

/// Formats a rate per second: `950/s`, `12.5k/s`, `1.20M/s`.
pub fn format_rate(per_sec: f64) -> String {
    if round_to(per_sec / 1e3, 1) >= 1e3 {
        format!("{:.2}M/s", per_sec / 1e6)
    } else if round_to(per_sec, 0) >= 1e4 {
        format!("{:.1}k/s", per_sec / 1e3)
    } else if round_to(per_sec, 1) >= 100.0 {
        format!("{per_sec:.0}/s")
    } else {
        format!("{per_sec:.1}/s")
    }
}

/// Formats a ratio as a percentage with sensible precision: `0.05%`, `12.3%`.
pub fn format_percent(ratio: f64) -> String {
    let p = ratio * 100.0;
    if p == 0.0 {
        "0%".into()
    } else if round_to(p, 3) < 0.1 {
        format!("{p:.3}%")
    } else if round_to(p, 2) < 10.0 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

/// Formats a byte count: `512B`, `12.0KB`, `48.3MB`.
pub fn format_bytes(bytes: f64) -> String {
    if round_to(bytes / 1e6, 1) >= 1e3 {
        format!("{:.2}GB", bytes / 1e9)
    } else if round_to(bytes / 1e3, 1) >= 1e3 {
        format!("{:.1}MB", bytes / 1e6)
    } else if round_to(bytes, 0) >= 1e3 {
        format!("{:.1}KB", bytes / 1e3)
    } else {
        format!("{bytes:.0}B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("500us").unwrap(), Duration::from_micros(500));
        assert_eq!(parse_duration("30"), Err(UnitError::NoUnit("30".into())));
        assert_eq!(
            parse_duration("30").unwrap_err().to_string(),
            "`30` has no unit; write e.g. \"30s\" or \"30ms\""
        );
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn rates_percents_bytes() {
        assert_eq!(parse_rate("1000/s").unwrap(), 1000.0);
        assert_eq!(parse_rate("60/m").unwrap(), 1.0);
        assert_eq!(parse_rate("2/ms").unwrap(), 2000.0);
        assert!(parse_rate("fast").is_err());
        assert!((parse_percent("0.1%").unwrap() - 0.001).abs() < 1e-12);
        assert!(parse_percent("0.1").is_err());
        assert_eq!(parse_bytes("50MB").unwrap(), 50_000_000);
        assert_eq!(parse_bytes("1KiB").unwrap(), 1024);
    }

    #[test]
    fn display() {
        assert_eq!(format_ms(0.85), "850µs");
        assert_eq!(format_ms(12.34), "12.3ms");
        assert_eq!(format_ms(1250.0), "1.25s");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_rate(12_500.0), "12.5k/s");
        assert_eq!(format_percent(0.0005), "0.050%");
    }
}
