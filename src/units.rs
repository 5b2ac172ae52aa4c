//! Units a person writes and reads: durations (`250ms`, `2s`, `1m30s`), rates (`1000/s`),
//! percentages (`0.1%`) and byte sizes (`50MB`), with parsing and human display.
//!
//! Scenario files, `--set` overrides and SLO limits all parse through here, so a value means
//! the same wherever it is written.

use std::time::Duration;

/// Parses a duration such as `500us`, `250ms`, `2s`, `1.5s`, `3m`, `1h` or `1m30s`.
///
/// A bare number is refused: the unit is part of the value.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration; write e.g. \"30s\"".into());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{s}` has no unit; write e.g. \"{s}s\" or \"{s}ms\""))?;
        if num_len == 0 {
            return Err(format!(
                "`{s}` is not a duration; write e.g. \"30s\", \"250ms\" or \"1m30s\""
            ));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("`{s}` is not a duration; write e.g. \"30s\""))?;
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
                return Err(format!(
                    "unknown duration unit `{other}` in `{s}`; use ns, us, ms, s, m or h"
                ));
            }
        };
        total += value * scale;
        rest = &after[unit_len..];
    }
    if !total.is_finite() || total > 1e9 {
        return Err(format!("`{s}` is too long a duration"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Parses a rate such as `1000/s`, `1000`, `60/m` or `5/ms` into events per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let s = text.trim();
    let (num, per) = match s.split_once('/') {
        Some((n, p)) => (n.trim(), p.trim()),
        None => (s, "s"),
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a rate; write e.g. \"1000/s\""))?;
    let per_sec = match per {
        "s" | "sec" => 1.0,
        "ms" => 1000.0,
        "m" | "min" => 1.0 / 60.0,
        "h" => 1.0 / 3600.0,
        other => {
            return Err(format!(
                "unknown rate unit `/{other}` in `{s}`; use /s, /m or /h"
            ));
        }
    };
    if !(value.is_finite() && value >= 0.0) {
        return Err(format!("`{s}` must be a non-negative rate"));
    }
    Ok(value * per_sec)
}

/// Parses a percentage (`0.1%`) into a ratio (`0.001`).
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let s = text.trim();
    let num = s
        .strip_suffix('%')
        .ok_or_else(|| format!("`{s}` is not a percentage; write e.g. \"0.1%\""))?;
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage; write e.g. \"0.1%\""))?;
    Ok(value / 100.0)
}

/// Parses a byte size (`512`, `64KB`, `50MB`, `1GiB`) into bytes. `KB`/`MB`/`GB` are powers of
/// 1000, `KiB`/`MiB`/`GiB` powers of 1024.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let value: f64 = s[..split]
        .parse()
        .map_err(|_| format!("`{s}` is not a size; write e.g. \"50MB\""))?;
    let scale = match s[split..].trim() {
        "" | "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown size unit `{other}` in `{s}`; use B, KB, MB, GB, KiB, MiB or GiB"
            ));
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
        assert!(parse_duration("30").unwrap_err().contains("no unit"));
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
