//! Baseline comparison on synthetic results: false alarms, detection, refusal of
//! incomparable runs, baselines on disk, renderers and the `compare` command's exit codes.

use std::process::Command;

use nexus_bench::analysis::compare::{
    Change, CompareError, CompareOptions, Comparison, GateMetric, compare,
};
use nexus_bench::analysis::stats::SplitMix64;
use nexus_bench::output::comparison::{junit_cases, render_html, render_markdown, render_terminal};
use nexus_bench::result::*;

/// How a synthetic run behaves.
#[derive(Clone)]
struct Shape {
    seconds: usize,
    warmup: usize,
    /// Multiplies every latency.
    latency: f64,
    /// Requests per second per request name.
    rate: f64,
    error_ratio: f64,
    names: &'static [&'static str],
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            seconds: 60,
            warmup: 5,
            latency: 1.0,
            rate: 500.0,
            error_ratio: 0.0,
            names: &["get"],
        }
    }
}

fn window(rng: &mut SplitMix64, scale: f64) -> WindowSummary {
    // Realistic per-second noise: ~5 % on the median, ~10 % on the tail.
    let p50 = 2.0 * scale * (1.0 + 0.05 * rng.normal());
    let p90 = 4.0 * scale * (1.0 + 0.08 * rng.normal());
    let p99 = 9.0 * scale * (1.0 + 0.10 * rng.normal());
    WindowSummary {
        p50,
        p90,
        p99,
        max: p99 * 1.5,
        mean: p50 * 1.2,
    }
}

fn endpoint(name: &str, requests: u64, errors: u64, secs: f64, h: &Hist) -> EndpointStats {
    EndpointStats {
        name: name.into(),
        flow: None,
        requests,
        errors,
        throughput_per_sec: requests as f64 / secs,
        status: Default::default(),
        error_kinds: Default::default(),
        latency_ms: Summary::of(h),
        service_time_ms: Summary::of(h),
        histograms: Histograms {
            latency_us: EncodedHistogram::encode(h),
            service_time_us: EncodedHistogram::encode(h),
        },
        connections: None,
    }
}

fn synth(seed: u64, shape: &Shape) -> RunResult {
    let mut rng = SplitMix64::new(seed);
    let mut timeseries = Vec::new();
    let mut per_name: Vec<(u64, u64, Hist)> = shape
        .names
        .iter()
        .map(|_| (0, 0, new_histogram()))
        .collect();
    let mut all = new_histogram();
    for i in 0..shape.seconds + shape.warmup {
        let warmup = i < shape.warmup;
        // Warm-up seconds are deliberately terrible: they must not count.
        let scale = if warmup { 10.0 } else { shape.latency };
        let mut endpoints = Vec::new();
        for (k, name) in shape.names.iter().enumerate() {
            let requests = (shape.rate * (1.0 + 0.03 * rng.normal())).round().max(1.0) as u64;
            let errors = (0..requests)
                .filter(|_| rng.unit() < shape.error_ratio)
                .count() as u64;
            let w = window(&mut rng, scale);
            if !warmup {
                let h = &mut per_name[k].2;
                for (v, n) in [
                    (w.p50, requests / 2),
                    (w.p90, requests * 2 / 5),
                    (w.p99, requests / 10),
                ] {
                    h.record_n((v * 1000.0) as u64, n.max(1)).unwrap();
                    all.record_n((v * 1000.0) as u64, n.max(1)).unwrap();
                }
                per_name[k].0 += requests;
                per_name[k].1 += errors;
            }
            endpoints.push(SecondEndpoint {
                name: name.to_string(),
                requests,
                errors,
                latency_ms: w,
                latency_us: EncodedHistogram::default(),
                requests_by_second: vec![],
                errors_by_second: vec![],
            });
        }
        timeseries.push(Second {
            unix_s: 1_700_000_000 + i as i64,
            offset_s: i as i64,
            warmup,
            length_ms: 1000.0,
            requests: endpoints.iter().map(|e| e.requests).sum(),
            errors: endpoints.iter().map(|e| e.errors).sum(),
            dropped: 0,
            in_flight_max: 4,
            load_level: shape.rate,
            latency_ms: window(&mut rng, scale),
            endpoints,
            seconds: vec![],
        });
    }
    let secs = shape.seconds as f64;
    let endpoints: Vec<EndpointStats> = shape
        .names
        .iter()
        .zip(&per_name)
        .map(|(n, (r, e, h))| endpoint(n, *r, *e, secs, h))
        .collect();
    let (requests, errors) = per_name.iter().fold((0, 0), |a, x| (a.0 + x.0, a.1 + x.1));
    RunResult {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "nexus-bench".into(),
            version: "test".into(),
        },
        scenario: ScenarioInfo {
            name: "cache".into(),
            description: String::new(),
            file: "scenarios/cache.toml".into(),
            sha256: "abc".into(),
            target: "embedded:cache".into(),
        },
        hosts: vec![HostInfo {
            hostname: "ci".into(),
            os: "linux-x86_64".into(),
            cpus: 2,
            threads: 1,
        }],
        started_at: format!("2026-01-01T00:00:{:02}Z", seed % 60),
        start_unix_ms: 1_700_000_000_000,
        load: LoadInfo {
            // Closed model: the same users; throughput is what the service achieved.
            model: "closed".into(),
            start: 16.0,
            stages: vec![],
            warmup_ms: shape.warmup as f64 * 1000.0,
            duration_ms: (shape.seconds + shape.warmup) as f64 * 1000.0,
            max_in_flight: None,
            think_time_ms: None,
            protocol: "http1".into(),
        },
        status: RunStatus::Completed,
        measured_ms: secs * 1000.0,
        totals: Totals {
            requests,
            errors,
            ..Default::default()
        },
        overall: endpoint("*", requests, errors, secs, &all),
        endpoints,
        timeseries,
        slos: vec![],
        verdict: Verdict::Pass,
        error_samples: vec![],
        warnings: vec![],
        target_process: None,
        generator: None,
        probes: vec![],
        profiles: vec![],
        run_id: None,
        instances: vec![],
        merge: None,
    }
}

fn run(base: &Shape, cur: &Shape, opts: &CompareOptions) -> Comparison {
    compare(&synth(1, base), &synth(2, cur), opts).expect("comparable")
}

fn verdict_of(c: &Comparison, request: &str, metric: GateMetric) -> Change {
    c.rows
        .iter()
        .find(|r| r.request == request && r.metric == metric)
        .unwrap_or_else(|| panic!("no row {request} {metric:?}"))
        .verdict
}

#[test]
fn identical_distributions_raise_no_alarm_in_50_trials() {
    let shape = Shape::default();
    let opts = CompareOptions::default();
    for trial in 0..50u64 {
        let c = compare(
            &synth(100 + 2 * trial, &shape),
            &synth(101 + 2 * trial, &shape),
            &opts,
        )
        .unwrap();
        assert!(
            !c.regressed(),
            "trial {trial}: {}",
            render_terminal(&c, false)
        );
        for r in &c.rows {
            assert_eq!(r.verdict, Change::NoChange, "trial {trial}: {r:?}");
            assert!(r.change.abs() < 0.1, "{r:?}");
        }
    }
}

#[test]
fn twenty_percent_slower_is_a_regression() {
    let slow = Shape {
        latency: 1.2,
        ..Shape::default()
    };
    let c = run(&Shape::default(), &slow, &CompareOptions::default());
    assert!(c.regressed());
    for m in [GateMetric::P50, GateMetric::P99] {
        assert_eq!(verdict_of(&c, "get", m), Change::Regressed, "{m:?}");
        let row = c.rows.iter().find(|r| r.metric == m).unwrap();
        assert!(row.ci_low > 0.1 && row.ci_high < 0.3, "{row:?}");
        assert!(row.p_value < 1e-6, "{row:?}");
        assert!((row.change - 0.2).abs() < 0.06, "{row:?}");
    }
    assert_eq!(
        verdict_of(&c, "get", GateMetric::Throughput),
        Change::NoChange
    );
    assert_eq!(
        verdict_of(&c, "get", GateMetric::ErrorRate),
        Change::NoChange
    );
}

#[test]
fn five_percent_slower_is_within_tolerance() {
    let slower = Shape {
        latency: 1.05,
        ..Shape::default()
    };
    let opts = CompareOptions {
        noise: 0.02,
        max_regression: 0.10,
        ..CompareOptions::default()
    };
    let c = run(&Shape::default(), &slower, &opts);
    assert!(!c.regressed(), "{}", render_terminal(&c, false));
    let p50 = c.rows.iter().find(|r| r.metric == GateMetric::P50).unwrap();
    assert!(p50.p_value < 0.05 && p50.change > 0.02, "{p50:?}");
    assert!(
        p50.note.as_deref().unwrap_or("").contains("tolerance"),
        "{p50:?}"
    );
    // With no tolerance, the same change does fail the gate: the noise band alone is cleared.
    let strict = CompareOptions {
        max_regression: 0.0,
        ..opts
    };
    assert_eq!(
        verdict_of(
            &run(&Shape::default(), &slower, &strict),
            "get",
            GateMetric::P50
        ),
        Change::Regressed
    );
}

#[test]
fn a_tiny_significant_change_stays_inside_the_noise_band() {
    let slower = Shape {
        latency: 1.015,
        seconds: 1800,
        ..Shape::default()
    };
    let opts = CompareOptions {
        max_regression: 0.0,
        ..CompareOptions::default()
    };
    let c = run(
        &Shape {
            seconds: 1800,
            ..Shape::default()
        },
        &slower,
        &opts,
    );
    assert!(!c.regressed(), "{}", render_terminal(&c, false));
    let p50 = c.rows.iter().find(|r| r.metric == GateMetric::P50).unwrap();
    assert!(
        p50.p_value < 0.05,
        "the test should be significant: {p50:?}"
    );
    assert_eq!(p50.verdict, Change::NoChange);
}

#[test]
fn throughput_drop_is_a_regression_and_improvement_is_improved() {
    let fewer = Shape {
        rate: 400.0,
        ..Shape::default()
    };
    let c = run(&Shape::default(), &fewer, &CompareOptions::default());
    assert_eq!(
        verdict_of(&c, "get", GateMetric::Throughput),
        Change::Regressed
    );
    let row = c
        .rows
        .iter()
        .find(|r| r.metric == GateMetric::Throughput)
        .unwrap();
    assert!(row.change < -0.15 && row.worsening() > 0.15, "{row:?}");

    let faster = Shape {
        latency: 0.8,
        rate: 600.0,
        ..Shape::default()
    };
    let c = run(&Shape::default(), &faster, &CompareOptions::default());
    assert!(!c.regressed());
    for m in [GateMetric::P50, GateMetric::P99, GateMetric::Throughput] {
        assert_eq!(verdict_of(&c, "get", m), Change::Improved, "{m:?}");
    }
}

#[test]
fn new_errors_are_a_regression() {
    let failing = Shape {
        error_ratio: 0.05,
        ..Shape::default()
    };
    let c = run(&Shape::default(), &failing, &CompareOptions::default());
    assert_eq!(
        verdict_of(&c, "get", GateMetric::ErrorRate),
        Change::Regressed
    );
    let same = run(&failing, &failing, &CompareOptions::default());
    assert_eq!(
        verdict_of(&same, "get", GateMetric::ErrorRate),
        Change::NoChange
    );
}

#[test]
fn several_requests_get_rows_each_and_overall() {
    let shape = Shape {
        names: &["get", "put"],
        ..Shape::default()
    };
    let c = run(
        &shape,
        &shape,
        &CompareOptions {
            metrics: vec![GateMetric::P90],
            ..Default::default()
        },
    );
    let names: Vec<&str> = c.rows.iter().map(|r| r.request.as_str()).collect();
    assert_eq!(names, ["*", "get", "put"]);
}

#[test]
fn too_few_seconds_are_inconclusive() {
    let short = Shape {
        seconds: 4,
        ..Shape::default()
    };
    let slow = Shape {
        latency: 2.0,
        ..short.clone()
    };
    let c = run(&short, &slow, &CompareOptions::default());
    assert!(!c.regressed());
    assert!(c.inconclusive());
    assert!(c.rows.iter().all(|r| r.verdict == Change::Inconclusive
        && r.note.as_deref().unwrap_or("").contains("too few samples")));
    let text = render_terminal(&c, false);
    assert!(text.contains("Inconclusive:"), "{text}");
    assert!(text.contains("run at least"), "{text}");
}

#[test]
fn the_minimum_sample_count_follows_the_bonferroni_level() {
    use nexus_bench::analysis::compare::min_samples;
    // Smallest two-sided Mann–Whitney p with n each is 2 / C(2n, n): 0.0286 at 4, 0.0079 at 5.
    assert_eq!(min_samples(0.05 / 4.0), 5);
    // 2 / C(12, 6) = 0.00216 > 0.05 / 28; 2 / C(14, 7) = 0.00058.
    assert_eq!(min_samples(0.05 / 28.0), 7);
    assert_eq!(min_samples(0.5), 5);
}

#[test]
fn incomparable_runs_are_refused_unless_forced() {
    let base = synth(1, &Shape::default());
    let mut other = synth(2, &Shape::default());
    other.scenario.sha256 = "def".into();
    other.load.start = 900.0;
    let err = compare(&base, &other, &CompareOptions::default()).unwrap_err();
    let CompareError::Mismatch(what) = &err else {
        panic!("{err}")
    };
    assert_eq!(what.len(), 2, "{what:?}");
    assert!(what[1].contains("start"), "{what:?}");
    assert!(err.to_string().contains("--force"));

    let forced = CompareOptions {
        force: true,
        ..Default::default()
    };
    let c = compare(&base, &other, &forced).unwrap();
    assert!(c.forced.as_deref().unwrap().contains("sha256"));
    assert!(render_terminal(&c, false).contains("FORCED"));
    assert!(compare(&base, &base, &forced).unwrap().forced.is_none());

    let mut renamed = synth(2, &Shape::default());
    renamed.scenario.name = "mesh".into();
    assert!(matches!(
        compare(&base, &renamed, &CompareOptions::default()),
        Err(CompareError::Mismatch(_))
    ));
    let bad = CompareOptions {
        significance: 1.5,
        ..Default::default()
    };
    assert!(matches!(
        compare(&base, &base, &bad),
        Err(CompareError::Option(_))
    ));
}

#[test]
fn baselines_by_name_and_by_path() {
    let store = std::path::Path::new("ci-out/baselines");
    assert_eq!(
        baseline_path("main", "cache", store),
        std::path::Path::new("ci-out/baselines/main/cache.json")
    );
    assert_eq!(
        baseline_path("x/base.json", "cache", store),
        std::path::Path::new("x/base.json")
    );
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    let arg = run_dir.to_str().unwrap();
    assert_eq!(
        baseline_path(arg, "cache", store),
        run_dir.join("result.json")
    );

    let result = synth(1, &Shape::default());
    let target = dir.path().join("nested/main.json");
    let saved = save_baseline(&result, target.to_str().unwrap(), store).unwrap();
    assert_eq!(saved, target);
    let (path, back) = load_baseline(target.to_str().unwrap(), "cache", store).unwrap();
    assert_eq!(path, target);
    assert_eq!(back, result);
    assert!(matches!(
        load_baseline("nope/none.json", "cache", store),
        Err(ResultIoError::Io { .. })
    ));
}

#[test]
fn renderers_agree_and_escape() {
    let names: &'static [&'static str] = &["<b>get</b>", "put|x"];
    let base = Shape {
        names,
        ..Shape::default()
    };
    let slow = Shape {
        latency: 1.3,
        ..base.clone()
    };
    let (b, c) = (synth(1, &base), synth(2, &slow));
    let cmp = compare(&b, &c, &CompareOptions::default()).unwrap();
    let plain = render_terminal(&cmp, false);
    assert!(
        plain.contains("REGRESSED") && !plain.contains('\x1b'),
        "{plain}"
    );
    assert!(render_terminal(&cmp, true).contains("\x1b[1;31m"));
    let md = render_markdown(&cmp);
    assert!(
        md.contains("**regressed**") && md.contains("put\\|x") && !md.contains("<b>"),
        "{md}"
    );
    let html = render_html(&cmp, &b, &c);
    assert!(!html.contains("<b>get"), "unescaped request name");
    assert!(html.contains("&lt;b&gt;get"));
    assert_eq!(
        html.matches("<svg").count(),
        3,
        "one chart per request and overall"
    );
    assert!(html.contains("baseline") && html.contains("current"));
    let cases = junit_cases(&cmp);
    assert_eq!(cases.len(), cmp.rows.len());
    let failed: Vec<_> = cases.iter().filter(|c| c.1.is_some()).collect();
    assert_eq!(failed.len(), cmp.regressions().count());
    assert!(failed.iter().any(|c| c.0 == "compare.*.p99"));
    // The same change, formatted the same way, in every output.
    let row = cmp.regressions().next().unwrap();
    let shown = format!("{:+.1}%", row.change * 100.0);
    assert!(plain.contains(&shown) && md.contains(&shown) && html.contains(&shown));
}

#[test]
fn compare_command_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, r: &RunResult| {
        let p = dir.path().join(name);
        save_atomic(r, &p).unwrap();
        p
    };
    let base = write("base.json", &synth(1, &Shape::default()));
    let same = write("same.json", &synth(2, &Shape::default()));
    let slow = write(
        "slow.json",
        &synth(
            2,
            &Shape {
                latency: 1.25,
                ..Shape::default()
            },
        ),
    );
    let mut other = synth(2, &Shape::default());
    other.scenario.sha256 = "changed".into();
    let other = write("other.json", &other);
    let code = |args: &[&std::path::Path], extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_nexus-bench"))
            .arg("compare")
            .args(args)
            .args(extra)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The comparison is for people: stderr; stdout stays empty.
    let (c, out, err) = code(&[&base, &same], &[]);
    assert_eq!(c, 0, "{err}");
    assert!(
        err.contains("No regression") && out.is_empty(),
        "{out}{err}"
    );
    let (c, _, err) = code(&[&base, &slow], &[]);
    assert_eq!(c, 1, "{err}");
    assert!(err.contains("REGRESSED"));
    assert_eq!(code(&[&base, &slow], &["--max-regression", "40%"]).0, 0);
    let (c, _, err) = code(&[&base, &other], &[]);
    assert_eq!(c, 2);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(code(&[&base, &other], &["--force"]).0, 0);
    assert_eq!(
        code(&[&base, &same], &["--noise", "2"]).0,
        2,
        "a percent needs its %"
    );
}

#[test]
fn a_regression_on_a_busy_machine_is_inconclusive() {
    let slow = Shape {
        latency: 1.2,
        ..Shape::default()
    };
    let base = synth(1, &Shape::default());
    let mut cur = synth(2, &slow);
    cur.generator = Some(GeneratorHealth {
        cpu_mean_percent: 50.0,
        cpu_max_percent: 60.0,
        cpus: 2,
        schedule_lag_ms: None,
        saturated: false,
        samples: Vec::new(),
        generator_errors: 0,
        machine: Some(MachineLoad {
            busy_mean_percent: 190.0,
            other_mean_percent: 120.0,
            steal_mean_percent: 0.0,
            busy: true,
            samples: Vec::new(),
        }),
        rss_trend: None,
    });
    let c = compare(&base, &cur, &CompareOptions::default()).expect("comparable");
    assert!(!c.regressed(), "{}", render_terminal(&c, false));
    assert!(c.inconclusive());
    assert_eq!(verdict_of(&c, "get", GateMetric::P50), Change::Inconclusive);
    assert!(c.notes.iter().any(|n| n.contains("busy")), "{:?}", c.notes);
}
