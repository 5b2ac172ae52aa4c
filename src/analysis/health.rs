//! Judging the generator itself: did it keep to its schedule, did it send late, was its CPU
//! pegged, did its own memory grow? When it did not keep up, the result measures the
//! generator, not the target; when its memory grows, a soak run would outlive it.
//! Pure functions over values gathered during the run (`app` gathers them); the thresholds
//! are the documented constants below.

use std::time::Duration;

use super::trend;
use crate::plan::{LoadModel, MixRun, Plan};
use crate::result::{GeneratorHealth, ResourceReading, RssTrend, Summary};
use crate::units::format_ms;

/// Open model: a p99 send lateness above this (ms) means the generator fell behind.
pub const LATE_MS: f64 = 50.0;

/// Open model: issuing fewer than this share of the scheduled arrivals is falling behind.
pub const ISSUED_SHARE_MIN: f64 = 0.95;

/// Fewer scheduled arrivals than this are too few to judge the schedule by.
pub const SCHEDULED_MIN: f64 = 100.0;

/// The generator's CPU is pegged at this share of the cores its worker threads can use.
pub const PEGGED_SHARE: f64 = 0.9;

/// Open model: a warning when fewer arrivals were `issued` (completed, dropped or cancelled)
/// than the schedule asked for during `ran`. Plans with flows are not judged: a flow issues
/// several requests per arrival.
pub fn schedule_warning(plan: &Plan, issued: u64, ran: Duration) -> Option<String> {
    let LoadModel::Open { .. } = plan.load.model else {
        return None;
    };
    // This instance's share of the global schedule (all of it on one machine).
    let scheduled = plan
        .split
        .share(crate::plan::arrivals_before(&plan.load.profile, ran)) as f64;
    let flows = plan
        .mix
        .iter()
        .any(|m| matches!(m.run, MixRun::Flow { .. }));
    (!flows && scheduled > SCHEDULED_MIN && (issued as f64) < scheduled * ISSUED_SHARE_MIN).then(
        || {
            format!(
                "the generator fell behind its schedule: {issued} of {scheduled:.0} scheduled arrivals were issued ({:.1}%); the numbers describe the generator's limits, not the target's",
                issued as f64 * 100.0 / scheduled
            )
        },
    )
}

/// Open model: a warning when requests were sent late against their intended start (p99
/// of `lag` above [`LATE_MS`]).
pub fn lag_warning(lag: &Summary) -> Option<String> {
    (lag.p99 > LATE_MS).then(|| {
        format!(
            "the generator sent requests late: p99 {} behind their intended start (latencies count from the intended start, so they include this)",
            format_ms(lag.p99)
        )
    })
}

/// The most the generator's own resident memory may grow over a run's steady state, in
/// bytes per minute (0.05 MB/s): above it, a soak run of hours would exhaust the machine
/// before the target.
pub const GENERATOR_RSS_SLOPE_MAX: f64 = 3e6;

/// The shortest steady state whose memory growth is judged: in the first tens of seconds
/// the allocator's pools and the connections' buffers still fill up.
pub const GENERATOR_RSS_JUDGED_AFTER: Duration = Duration::from_secs(60);

/// The generator's resident-memory trend over the steady state `[from_ms, to_ms]` of its
/// `readings`, and a warning when, over at least [`GENERATOR_RSS_JUDGED_AFTER`], it grew
/// faster than [`GENERATOR_RSS_SLOPE_MAX`] (the whole 95 % interval above zero: a real
/// growth, not one allocator step).
pub fn memory_trend(
    readings: &[ResourceReading],
    from_ms: f64,
    to_ms: f64,
) -> (Option<RssTrend>, Option<String>) {
    let points: Vec<(f64, f64)> = readings
        .iter()
        .map(|r| (r.t_ms, r.rss_bytes as f64))
        .collect();
    let Ok(t) = trend::trend(&points, from_ms, to_ms) else {
        return (None, None);
    };
    let rss = RssTrend {
        slope_bytes_per_min: t.slope_per_min,
        interval: [t.interval.0, t.interval.1],
        growth_bytes: t.growth,
        points: t.points,
    };
    let grew = t.span >= GENERATOR_RSS_JUDGED_AFTER
        && t.slope_per_min > GENERATOR_RSS_SLOPE_MAX
        && t.interval.0 > 0.0;
    let warning = grew.then(|| {
        format!(
            "the generator's memory grew {:.1} MB/min over the steady state (95 % interval {:.1} to {:.1} MB/min; at most {:.0} MB/min is expected): nexus-bench itself could run out of memory in a longer run",
            t.slope_per_min / 1e6,
            t.interval.0 / 1e6,
            t.interval.1 / 1e6,
            GENERATOR_RSS_SLOPE_MAX / 1e6
        )
    });
    (Some(rss), warning)
}

/// The generator's health from its CPU `readings`, with `threads` worker threads on `cpus`
/// cores. It was saturated when it fell `behind` its schedule (judged by the warnings
/// above), or when its CPU was pegged; then latencies include its own queueing. The warning
/// says so when pegging is the only sign.
pub fn generator_health(
    readings: Vec<ResourceReading>,
    threads: usize,
    cpus: usize,
    behind: bool,
) -> (GeneratorHealth, Option<String>) {
    let mean = if readings.is_empty() {
        0.0
    } else {
        readings.iter().map(|s| s.cpu_percent).sum::<f64>() / readings.len() as f64
    };
    let max = readings.iter().map(|s| s.cpu_percent).fold(0.0, f64::max);
    let capacity = (threads.min(cpus) as f64) * 100.0;
    let pegged = mean >= PEGGED_SHARE * capacity;
    let warning = (pegged && !behind).then(|| {
        format!(
            "the generator's CPU was pegged ({mean:.0}% of one core on average with {threads} worker thread(s)): latencies include its own queueing; run with more --threads or less load"
        )
    });
    let health = GeneratorHealth {
        cpu_mean_percent: mean,
        cpu_max_percent: max,
        cpus,
        schedule_lag_ms: None,
        saturated: behind || pegged,
        samples: readings,
        generator_errors: 0,
        machine: None,
        rss_trend: None,
    };
    (health, warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(cpu_percent: f64) -> ResourceReading {
        ResourceReading {
            t_ms: 0.0,
            rss_bytes: 0,
            cpu_percent,
        }
    }

    fn plan(toml: &str) -> Plan {
        let path = std::path::Path::new("t.toml");
        crate::scenario::load_str(toml, path, &Default::default(), &|_| None)
            .expect("valid scenario")
    }

    #[test]
    fn pegged_cpu_is_saturation_and_warns_unless_already_behind() {
        let busy = || vec![reading(180.0), reading(190.0)];
        let (h, w) = generator_health(busy(), 2, 4, false);
        assert!(h.saturated);
        assert_eq!(h.cpu_mean_percent, 185.0);
        assert_eq!(h.cpu_max_percent, 190.0);
        assert_eq!(h.cpus, 4);
        assert!(w.unwrap().contains("pegged (185% of one core"));
        let (h, w) = generator_health(busy(), 2, 4, true);
        assert!(h.saturated && w.is_none());
        // Four threads on two cores can use two cores, not four.
        let (h, _) = generator_health(busy(), 4, 2, false);
        assert!(h.saturated);
    }

    #[test]
    fn generator_memory_growth_above_the_bound_warns() {
        let at = |t_s: f64, mb: f64| ResourceReading {
            t_ms: t_s * 1000.0,
            rss_bytes: (mb * 1e6) as u64,
            cpu_percent: 10.0,
        };
        // Flat at 30 MB with ±0.2 MB noise: a trend, no warning.
        let flat: Vec<_> = (0..=60)
            .map(|i| at(i as f64, 30.0 + 0.2 * ((i % 3) as f64 - 1.0)))
            .collect();
        let (t, w) = memory_trend(&flat, 0.0, 60_000.0);
        assert!(t.expect("a trend").slope_bytes_per_min.abs() < 0.5e6);
        assert_eq!(w, None);
        // 0.1 MB/s = 6 MB/min: twice the bound.
        let growing: Vec<_> = (0..=60)
            .map(|i| at(i as f64, 30.0 + 0.1 * i as f64))
            .collect();
        let (t, w) = memory_trend(&growing, 0.0, 60_000.0);
        assert!((t.expect("a trend").slope_bytes_per_min - 6e6).abs() < 1e5);
        assert!(
            w.expect("a warning")
                .starts_with("the generator's memory grew 6.0 MB/min")
        );
        // Too short a steady state: nothing to say; under a minute: recorded, not judged.
        assert_eq!(memory_trend(&growing[..3], 0.0, 60_000.0), (None, None));
        let (t, w) = memory_trend(&growing[..30], 0.0, 60_000.0);
        assert!(t.is_some() && w.is_none());
    }

    #[test]
    fn idle_cpu_is_healthy() {
        let (h, w) = generator_health(vec![reading(20.0)], 2, 4, false);
        assert!(!h.saturated && w.is_none());
        let (h, w) = generator_health(Vec::new(), 1, 1, false);
        assert_eq!(h.cpu_mean_percent, 0.0);
        assert!(!h.saturated && w.is_none());
        let (h, _) = generator_health(Vec::new(), 1, 1, true);
        assert!(h.saturated);
    }

    #[test]
    fn late_sends_warn_above_the_threshold() {
        let lag = |p99| Summary {
            p99,
            ..Summary::default()
        };
        assert!(lag_warning(&lag(LATE_MS)).is_none());
        assert!(lag_warning(&lag(80.0)).unwrap().contains("p99 80"));
    }

    const OPEN: &str = r#"
name = "t"
[target]
base_url = "http://127.0.0.1:1"
[load]
model = "open"
rate = "100/s"
duration = "10s"
[[requests]]
name = "a"
path = "/"
"#;

    #[test]
    fn falling_behind_an_open_schedule_warns() {
        let p = plan(OPEN);
        // 10 s at 100/s: 1000 scheduled.
        let ran = Duration::from_secs(10);
        assert!(schedule_warning(&p, 1000, ran).is_none());
        assert!(schedule_warning(&p, 950, ran).is_none());
        let w = schedule_warning(&p, 500, ran).unwrap();
        assert!(w.contains("500 of 1000 scheduled arrivals"), "{w}");
        // A run longer than the profile is judged on the profile.
        assert!(schedule_warning(&p, 1000, Duration::from_secs(20)).is_none());
        // Too few arrivals to judge.
        assert!(schedule_warning(&p, 0, Duration::from_millis(500)).is_none());
    }

    #[test]
    fn closed_model_is_not_judged_on_a_schedule() {
        let closed = OPEN.replace(
            "model = \"open\"\nrate = \"100/s\"",
            "model = \"closed\"\nusers = 10",
        );
        let p = plan(&closed);
        assert!(schedule_warning(&p, 0, Duration::from_secs(10)).is_none());
    }
}
