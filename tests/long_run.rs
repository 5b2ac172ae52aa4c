//! A synthetic hour through the recorder (issue #16, soak-ready): 3,600 one-second windows ×
//! 20 request names (3,000 requests/s) fed to the aggregate in compressed time. The memory
//! its time series holds and the size of the result file stay under the soak bounds, the
//! totals stay exact, and every second still leaves at full resolution for `latency.hlog`.

use std::path::Path;
use std::time::{Duration, Instant};

use nexus_bench::plan::Plan;
use nexus_bench::recorder::{
    Aggregate, Clock, ErrorKind, Hist, Phases, Window, WindowEndpoint, new_histogram,
};
use nexus_bench::result::{
    self, GeneratorHealth, MachineLoad, MachineReading, ResourceReading, RunMeta, RunStatus,
    TargetProcess,
};
use nexus_bench::scenario::{self, Overrides};

const NAMES: usize = 20;
const SECONDS: i64 = 3600;
const PER_NAME_PER_SECOND: u64 = 150;
/// 2026-11-25T12:00:00Z.
const START_S: i64 = 1_764_072_000;

/// Memory the series may hold after an hour of 20 names.
const MAX_HELD: usize = 24 << 20;
/// Growth of what it holds over the steady state, the bound for the generator's RSS.
const MAX_SLOPE_BYTES_PER_S: f64 = 0.05e6;
/// result.json of a one-hour, 20-name run.
const MAX_RESULT: usize = 20_000_000;

fn plan() -> Plan {
    let mut text = String::from(
        "name = \"hour\"\n[target]\nbase_url = \"http://127.0.0.1:9\"\n\
         [load]\nmodel = \"open\"\nrate = \"3000/s\"\nduration = \"1h\"\nwarmup = \"0s\"\n",
    );
    for i in 0..NAMES {
        text.push_str(&format!(
            "[[requests]]\nname = \"get-{i:02}\"\npath = \"/{i}\"\n"
        ));
    }
    scenario::load_str(
        &text,
        Path::new("hour.toml"),
        &Overrides::default(),
        &|_| None,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A deterministic latency stream: mostly 0.2–3 ms, one in 200 up to 80 ms.
struct Latencies(u64);

impl Latencies {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let r = self.0 >> 33;
        if r % 200 == 0 {
            5_000 + r % 75_000
        } else {
            200 + r % 2_800
        }
    }
}

fn window(second: i64, lat: &mut Latencies, whole: &mut Hist) -> Window {
    let endpoints = (0..NAMES)
        .map(|_| {
            let mut ep = WindowEndpoint {
                latency: new_histogram(),
                service: new_histogram(),
                requests: PER_NAME_PER_SECOND,
                errors: 1,
                status: vec![(200, PER_NAME_PER_SECOND - 1), (500, 1)],
                kinds: [0; ErrorKind::COUNT],
                phases: Phases::default(),
            };
            for _ in 0..PER_NAME_PER_SECOND {
                let v = lat.next();
                whole.record(v).unwrap();
                ep.latency.record(v).unwrap();
                ep.service.record(v).unwrap();
            }
            ep.kinds[ErrorKind::UnexpectedStatus as usize] = 1;
            Some(ep)
        })
        .collect();
    Window {
        second,
        warmup: false,
        endpoints,
        dropped: 0,
        in_flight_max: 3,
        samples: vec![],
        lag: None,
    }
}

/// Least-squares slope of `(x, y)`.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |a, p| (a.0 + p.0 / n, a.1 + p.1 / n));
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

/// The resource readings of an hour (ten a second, as a run samples the generator, the
/// launched target and the machine), thinned as a run stores them.
fn with_an_hour_of_readings(r: &mut result::RunResult) {
    let readings: Vec<ResourceReading> = (0..36_000u64)
        .map(|i| ResourceReading {
            t_ms: i as f64 * 100.0 + 0.123,
            rss_bytes: 41_234_567 + (i % 97) * 4096,
            cpu_percent: 55.0 + (i % 13) as f64 * 0.731,
        })
        .collect();
    let machine: Vec<MachineReading> = readings
        .iter()
        .map(|x| MachineReading {
            t_ms: x.t_ms,
            busy_percent: x.cpu_percent * 2.1,
            other_percent: x.cpu_percent / 7.0,
            steal_percent: 0.25,
        })
        .collect();
    r.target_process = Some(TargetProcess {
        command: vec!["nexus-bench".into(), "serve".into()],
        startup_ms: 12.5,
        rss_max_bytes: 60_000_000,
        cpu_mean_percent: 40.0,
        exe_size_bytes: None,
        exit: None,
        samples: result::thin_readings(readings.clone()),
    });
    r.generator = Some(GeneratorHealth {
        cpu_mean_percent: 55.0,
        cpu_max_percent: 70.0,
        cpus: 2,
        schedule_lag_ms: None,
        saturated: false,
        samples: result::thin_readings(readings),
        generator_errors: 0,
        machine: Some(MachineLoad {
            busy_mean_percent: 120.0,
            other_mean_percent: 8.0,
            steal_mean_percent: 0.25,
            busy: false,
            samples: result::thin_machine(machine),
        }),
        rss_trend: None,
    });
}

#[test]
fn a_synthetic_hour_stays_within_the_soak_bounds() {
    let plan = plan();
    let mut agg = Aggregate::new(NAMES);
    agg.series.keep_intervals();
    let mut lat = Latencies(7);
    let mut whole = new_histogram();
    let mut held = Vec::new();
    let mut intervals = 0;
    for s in 0..SECONDS {
        let w = window(START_S + s, &mut lat, &mut whole);
        agg.add(w);
        for iv in agg.series.take_intervals() {
            assert_eq!(iv.endpoints.len(), NAMES, "every name, every second");
            assert_eq!(iv.all.len(), NAMES as u64 * PER_NAME_PER_SECOND);
            intervals += 1;
        }
        if s % 60 == 59 {
            held.push((s as f64, agg.series.heap_bytes() as f64));
        }
    }
    agg.series.seal_all();
    intervals += agg.series.take_intervals().len();
    assert_eq!(
        intervals, SECONDS as usize,
        "one full-resolution interval per second"
    );

    let most = held.iter().map(|h| h.1).fold(0.0, f64::max) as usize;
    // The steady state: after the first minutes (per-second histograms for 10 minutes,
    // then per 10 s).
    let steady: Vec<(f64, f64)> = held.iter().copied().filter(|h| h.0 >= 600.0).collect();
    let growth = slope(&steady);
    eprintln!(
        "series memory: {:.1} MB at the end, {:.1} MB at 10 min, steady growth {:.0} B/s",
        most as f64 / 1e6,
        held[9].1 / 1e6,
        growth
    );
    assert!(most <= MAX_HELD, "the series holds {most} bytes");
    assert!(growth > 0.0, "counts are kept per second: some growth");
    assert!(
        growth <= MAX_SLOPE_BYTES_PER_S,
        "the series grows {growth:.0} B/s"
    );

    let epoch = Instant::now();
    let clock = Clock {
        epoch,
        epoch_unix_ns: i128::from(START_S) * 1_000_000_000,
        warmup_end: epoch,
    };
    let meta = RunMeta {
        clock,
        measured: Duration::from_secs(SECONDS as u64),
        status: RunStatus::Completed,
        threads: 1,
        cancelled: 0,
        warnings: vec![],
        ended: Some(epoch + Duration::from_secs(SECONDS as u64)),
    };
    let mut r = result::build(&plan, &agg, &meta);
    with_an_hour_of_readings(&mut r);
    let json = result::to_json(&r);
    eprintln!(
        "one-hour, 20-name result.json: {:.1} MB",
        json.len() as f64 / 1e6
    );
    assert!(
        json.len() <= MAX_RESULT,
        "result.json is {} bytes",
        json.len()
    );

    // Exact totals, from the whole-run histograms.
    let total = NAMES as u64 * PER_NAME_PER_SECOND * SECONDS as u64;
    assert_eq!(r.totals.requests, total);
    assert_eq!(r.overall.latency_ms.count, total);
    let p99 = whole.value_at_quantile(0.99) as f64 / 1000.0;
    assert_eq!(r.overall.latency_ms.p99, p99);

    // Per second for 10 minutes, then per 10 s; counts per second throughout.
    let (one, coarse): (Vec<_>, Vec<_>) = r.timeseries.iter().partition(|s| s.seconds.is_empty());
    assert_eq!(one.len(), 600);
    assert_eq!(coarse.len(), 300);
    assert!(
        coarse
            .iter()
            .all(|s| s.length_ms == 10_000.0 && s.seconds.len() == 10)
    );
    let per_second: Vec<u64> = r
        .timeseries
        .iter()
        .flat_map(|s| {
            if s.seconds.is_empty() {
                vec![s.requests]
            } else {
                s.seconds.iter().map(|c| c.requests).collect()
            }
        })
        .collect();
    assert_eq!(per_second.len(), SECONDS as usize);
    assert!(
        per_second
            .iter()
            .all(|&n| n == NAMES as u64 * PER_NAME_PER_SECOND)
    );
    let e = &coarse[0].endpoints[0];
    assert_eq!(e.requests_by_second, vec![PER_NAME_PER_SECOND; 10]);
    assert_eq!(
        e.latency_us.decode().unwrap().len(),
        10 * PER_NAME_PER_SECOND
    );

    // The file round-trips through the schema's types.
    let back: result::RunResult = serde_json::from_slice(&json).unwrap();
    assert_eq!(back.timeseries.len(), 900);
}
