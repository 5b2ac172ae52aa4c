//! Trends of a series over the steady state: the least-squares slope (per minute) with its
//! 95 % confidence interval, and the growth from the first to the last reading. What leak
//! SLOs (`target.rss.slope`, `target.rss.growth`, `probe.<name>.slope`) judge.
//!
//! Pure functions over `(t_ms, value)` points; no I/O.

use std::time::Duration;

use crate::plan::Metric;
use crate::result::RunResult;

/// The shortest steady state a slope is estimated over: shorter runs (or allocator warm-up
/// left in the window) say little about a trend.
pub const MIN_STEADY: Duration = Duration::from_secs(5);

/// The fewest readings a slope is estimated from.
pub const MIN_POINTS: usize = 5;

/// A fitted trend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    /// Least-squares slope, in value units per minute.
    pub slope_per_min: f64,
    /// 95 % confidence interval of the slope (ordinary least squares; readings taken close
    /// together are correlated, so the real uncertainty can be wider).
    pub interval: (f64, f64),
    /// Last reading minus first reading.
    pub growth: f64,
    /// Readings used.
    pub points: usize,
    /// Time from the first to the last reading used.
    pub span: Duration,
}

/// Why no trend could be estimated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrendError {
    /// The window held too few readings.
    #[error(
        "the steady state has {found} reading(s); a slope needs at least {MIN_POINTS} over at least {}s",
        MIN_STEADY.as_secs()
    )]
    TooFewPoints {
        /// Readings found.
        found: usize,
    },
    /// The readings span too short a time.
    #[error(
        "the steady state is {:.1}s long; a slope needs at least {}s after the warm-up (run longer)",
        span.as_secs_f64(),
        MIN_STEADY.as_secs()
    )]
    TooShort {
        /// Time covered by the readings.
        span: Duration,
    },
}

/// The trend of the `(t_ms, value)` points whose time lies in `[from_ms, to_ms]`.
pub fn trend(points: &[(f64, f64)], from_ms: f64, to_ms: f64) -> Result<Trend, TrendError> {
    let mut window: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(t, v)| *t >= from_ms && *t <= to_ms && t.is_finite() && v.is_finite())
        .collect();
    window.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = window.len();
    if n < MIN_POINTS {
        return Err(TrendError::TooFewPoints { found: n });
    }
    let span_ms = window[n - 1].0 - window[0].0;
    let span = Duration::from_secs_f64(span_ms.max(0.0) / 1000.0);
    if span < MIN_STEADY {
        return Err(TrendError::TooShort { span });
    }
    // Time in minutes, centred, for numerical stability.
    let xs: Vec<f64> = window.iter().map(|(t, _)| t / 60_000.0).collect();
    let ys: Vec<f64> = window.iter().map(|(_, v)| *v).collect();
    let nf = n as f64;
    let mx = xs.iter().sum::<f64>() / nf;
    let my = ys.iter().sum::<f64>() / nf;
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let sse: f64 = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (y - intercept - slope * x).powi(2))
        .sum();
    let df = nf - 2.0;
    let se = (sse / df / sxx).sqrt();
    let half = t_975(df) * se;
    Ok(Trend {
        slope_per_min: slope,
        interval: (slope - half, slope + half),
        growth: ys[n - 1] - ys[0],
        points: n,
        span,
    })
}

/// What a trend SLO observed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    /// The value (slope per minute, or growth), `None` when nothing was measured or it
    /// could not be estimated.
    pub value: Option<f64>,
    /// The slope's 95 % confidence interval.
    pub interval: Option<[f64; 2]>,
    /// Why it could not be estimated.
    pub inconclusive: Option<String>,
}

/// The trend metrics of `result` over its steady state (after the warm-up, until the end
/// of the measured period); `None` for metrics that are not trends.
pub fn observe(result: &RunResult, metric: &Metric) -> Option<Observed> {
    let series: Option<Vec<(f64, f64)>> = match metric {
        Metric::TargetRssSlope | Metric::TargetRssGrowth => {
            result.target_process.as_ref().map(|t| {
                t.samples
                    .iter()
                    .map(|s| (s.t_ms, s.rss_bytes as f64))
                    .collect()
            })
        }
        Metric::ProbeSlope(name) => result
            .probes
            .iter()
            .find(|p| &p.name == name)
            .map(|p| p.samples.iter().map(|s| (s.t_ms, s.value)).collect()),
        _ => return None,
    };
    // Not measured (no launched target, or the probe never ran): like any other metric,
    // the SLO does not hold.
    let Some(series) = series else {
        return Some(Observed::default());
    };
    let from = result.load.warmup_ms;
    let to = from + result.measured_ms;
    Some(match trend(&series, from, to) {
        Ok(t) if *metric == Metric::TargetRssGrowth => Observed {
            value: Some(t.growth),
            ..Observed::default()
        },
        Ok(t) => Observed {
            value: Some(t.slope_per_min),
            interval: Some([t.interval.0, t.interval.1]),
            inconclusive: None,
        },
        Err(e) => Observed {
            inconclusive: Some(e.to_string()),
            ..Observed::default()
        },
    })
}

/// The 97.5 % quantile of Student's t with `df` degrees of freedom (two-sided 95 %), by
/// the Cornish–Fisher expansion around the normal quantile (within 1 % for df ≥ 3).
fn t_975(df: f64) -> f64 {
    const Z: f64 = 1.959_963_984_540_054;
    let (z3, z5, z7) = (Z.powi(3), Z.powi(5), Z.powi(7));
    Z + (z3 + Z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * Z) / (96.0 * df * df)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * Z) / (384.0 * df.powi(3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::stats::SplitMix64;

    /// Readings every 100 ms for `secs`, `base + per_min·t + noise·N(0,1)`.
    fn series(secs: f64, base: f64, per_min: f64, noise: f64, seed: u64) -> Vec<(f64, f64)> {
        let mut rng = SplitMix64::new(seed);
        (0..(secs * 10.0) as usize)
            .map(|i| {
                let t_ms = i as f64 * 100.0;
                (
                    t_ms,
                    base + per_min * t_ms / 60_000.0 + noise * rng.normal(),
                )
            })
            .collect()
    }

    #[test]
    fn flat_noise_interval_contains_zero() {
        // A 95 % interval misses the true slope (0) in about 1 series out of 20: count.
        let mut covered = 0;
        for seed in 1..=40 {
            // 20 MB resident, ±256 KB of noise, 60 s.
            let s = series(60.0, 20e6, 0.0, 256e3, seed);
            let t = trend(&s, 0.0, f64::INFINITY).unwrap();
            assert!(t.interval.0 < t.slope_per_min && t.slope_per_min < t.interval.1);
            // Noise alone never looks like a leak of 1 MB/min.
            assert!(t.slope_per_min.abs() < 1e6, "seed {seed}: {t:?}");
            covered += usize::from(t.interval.0 <= 0.0 && 0.0 <= t.interval.1);
        }
        assert!(
            covered >= 35,
            "0 inside the interval in {covered}/40 series"
        );
    }

    #[test]
    fn linear_growth_is_recovered_within_5_percent() {
        for seed in 1..=20 {
            // 4 MB/min on 20 MB with ±128 KB of noise over 60 s.
            let s = series(60.0, 20e6, 4e6, 128e3, seed);
            let t = trend(&s, 0.0, f64::INFINITY).unwrap();
            let err = (t.slope_per_min - 4e6).abs() / 4e6;
            assert!(err < 0.05, "seed {seed}: {t:?} ({:.1} %)", err * 100.0);
            assert!(t.interval.0 > 0.0, "growth is significant: {t:?}");
            // Growth is end minus start: about 4 MB over the minute (noise on both ends).
            assert!((t.growth - 4e6).abs() < 4e6 * 0.25, "{t:?}");
        }
    }

    #[test]
    fn only_the_window_is_used() {
        // A warm-up climb of 50 MB, then flat: the window after it shows no growth.
        let mut s: Vec<(f64, f64)> = (0..50)
            .map(|i| (i as f64 * 100.0, i as f64 * 1e6))
            .collect();
        s.extend((50..200).map(|i| (i as f64 * 100.0, 50e6)));
        let t = trend(&s, 5000.0, 20_000.0).unwrap();
        assert_eq!(t.slope_per_min, 0.0);
        assert_eq!(t.growth, 0.0);
        assert_eq!(t.points, 150);
    }

    #[test]
    fn short_or_sparse_windows_are_refused() {
        let s = series(3.0, 1.0, 1.0, 0.0, 1);
        let e = trend(&s, 0.0, f64::INFINITY).unwrap_err();
        assert!(matches!(e, TrendError::TooShort { .. }), "{e:?}");
        assert!(e.to_string().contains("at least 5s"), "{e}");
        let sparse = [(0.0, 1.0), (10_000.0, 2.0)];
        let e = trend(&sparse, 0.0, f64::INFINITY).unwrap_err();
        assert_eq!(e, TrendError::TooFewPoints { found: 2 });
    }

    #[test]
    fn t_quantile_matches_tables() {
        // Tabulated t(0.975): df 5 → 2.571, 10 → 2.228, 30 → 2.042, 100 → 1.984.
        for (df, table) in [(5.0, 2.571), (10.0, 2.228), (30.0, 2.042), (100.0, 1.984)] {
            assert!((t_975(df) - table).abs() / table < 0.01, "df {df}");
        }
    }
}
