//! A deterministic builder of realistic results: three request names, per-second windows
//! with real encoded histograms, warm-up, errors, status codes, dropped arrivals and SLOs.
//! `generate_fixtures` (ignored) writes `fixtures/results/{sample,hostile}.json` from it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nexus_bench::result::*;

/// What varies between fixtures.
pub struct Spec {
    pub names: [String; 3],
    pub seconds: i64,
    pub warmup_s: i64,
    pub per_second: u64,
    pub scenario: String,
    pub description: String,
    pub target: String,
    pub error_message: String,
    pub warning: String,
}

impl Spec {
    pub fn sample() -> Spec {
        Spec {
            names: ["get-item".into(), "put-item".into(), "search".into()],
            seconds: 60,
            warmup_s: 5,
            per_second: 100,
            scenario: "cache-read".into(),
            description: "Read-heavy cache traffic: point reads, writes and a prefix search."
                .into(),
            target: "http://127.0.0.1:8080".into(),
            error_message: "request timed out after 1s".into(),
            warning: "generator saturated: fell 12ms behind its schedule at 41s".into(),
        }
    }

    pub fn hostile() -> Spec {
        Spec {
            names: [
                "<script>alert(1)</script>".into(),
                "\"><img src=x onerror=alert(1)>".into(),
                "</svg><svg onload=alert(1)>|*x*|".into(),
            ],
            seconds: 20,
            warmup_s: 2,
            per_second: 50,
            scenario: "<script>alert('scenario')</script>".into(),
            description: "</title><script>alert(2)</script><style>body{display:none}</style>"
                .into(),
            target: "http://x/\"><script src=//evil.example/x.js></script>".into(),
            error_message: "<img src=x onerror=alert(3)> ]]> & \u{1b}[31mred".into(),
            warning: "<b onmouseover=alert(4)>warn</b>".into(),
        }
    }
}

/// xorshift64*: deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Log-normal around `median_us` with shape `sigma`.
    fn latency_us(&mut self, median_us: f64, sigma: f64) -> u64 {
        let (u1, u2) = (self.next().max(1e-12), self.next());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (median_us * (sigma * z).exp()).clamp(20.0, 5_000_000.0) as u64
    }
}

struct Acc {
    lat: Hist,
    svc: Hist,
    requests: u64,
    errors: u64,
    status: BTreeMap<String, u64>,
    kinds: BTreeMap<String, u64>,
}

impl Acc {
    fn new() -> Acc {
        Acc {
            lat: new_histogram(),
            svc: new_histogram(),
            requests: 0,
            errors: 0,
            status: BTreeMap::new(),
            kinds: BTreeMap::new(),
        }
    }

    fn stats(&self, name: &str, measured_s: f64) -> EndpointStats {
        EndpointStats {
            name: name.into(),
            flow: None,
            requests: self.requests,
            errors: self.errors,
            throughput_per_sec: self.requests as f64 / measured_s,
            status: self.status.clone(),
            error_kinds: self.kinds.clone(),
            latency_ms: Summary::of(&self.lat),
            service_time_ms: Summary::of(&self.svc),
            histograms: Histograms {
                latency_us: EncodedHistogram::encode(&self.lat),
                service_time_us: EncodedHistogram::encode(&self.svc),
            },
            connections: None,
        }
    }
}

/// The result described by `spec`.
pub fn build(spec: &Spec) -> RunResult {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start_unix_s = 1_764_072_000i64; // 2025-11-25T12:00:00Z
    let medians = [1_800.0, 4_500.0, 16_000.0];
    let mut acc: Vec<Acc> = (0..3).map(|_| Acc::new()).collect();
    let mut overall = Acc::new();
    let mut timeseries = Vec::new();
    let mut dropped_total = 0;
    for sec in 0..spec.seconds {
        let warmup = sec < spec.warmup_s;
        // A slow patch in the middle of the run: latencies triple, errors appear.
        let slow = (spec.seconds * 2 / 3..spec.seconds * 2 / 3 + 4).contains(&sec);
        let mut second_all = new_histogram();
        let mut endpoints = Vec::new();
        let (mut s_req, mut s_err) = (0, 0);
        for (i, name) in spec.names.iter().enumerate() {
            let mut h = new_histogram();
            let n = spec.per_second * [3, 1, 1][i] / if warmup { 2 } else { 1 };
            let mut errors = 0;
            for _ in 0..n {
                let factor = if slow { 3.0 } else { 1.0 };
                let lat = rng.latency_us(medians[i] * factor, 0.45 + 0.1 * i as f64);
                let svc = (lat as f64 * (0.8 + 0.15 * rng.next())).max(10.0) as u64;
                h.record(lat).unwrap();
                let err_p = if slow { 0.08 } else { 0.002 * (i as f64 + 1.0) };
                let (status, kind) = if rng.next() < err_p {
                    errors += 1;
                    if rng.next() < 0.5 {
                        (Some("503"), Some("status"))
                    } else {
                        (None, Some("timeout"))
                    }
                } else {
                    (Some("200"), None)
                };
                if !warmup {
                    for a in [&mut acc[i], &mut overall] {
                        a.lat.record(lat).unwrap();
                        a.svc.record(svc).unwrap();
                        a.requests += 1;
                        if let Some(s) = status {
                            *a.status.entry(s.into()).or_default() += 1;
                        }
                        if let Some(k) = kind {
                            a.errors += 1;
                            *a.kinds.entry(k.into()).or_default() += 1;
                        }
                    }
                }
            }
            second_all.add(&h).unwrap();
            s_req += n;
            s_err += errors;
            endpoints.push(SecondEndpoint {
                name: name.clone(),
                requests: n,
                errors,
                latency_ms: WindowSummary::of(&h),
                latency_us: EncodedHistogram::encode(&h),
                requests_by_second: vec![],
                errors_by_second: vec![],
            });
        }
        let dropped = if slow { 7 * (sec % 3 + 1) as u64 } else { 0 };
        if !warmup {
            dropped_total += dropped;
        }
        timeseries.push(Second {
            unix_s: start_unix_s + sec,
            offset_s: sec,
            warmup,
            length_ms: 1000.0,
            requests: s_req,
            errors: s_err,
            dropped,
            in_flight_max: if slow { 48 } else { 9 + (sec % 5) as u64 },
            load_level: if warmup {
                (spec.per_second * 5) as f64 * (sec + 1) as f64 / spec.warmup_s as f64
            } else {
                (spec.per_second * 5) as f64
            },
            latency_ms: WindowSummary::of(&second_all),
            endpoints,
            seconds: vec![],
        });
    }
    let measured_s = (spec.seconds - spec.warmup_s) as f64;
    let endpoints: Vec<EndpointStats> = spec
        .names
        .iter()
        .zip(&acc)
        .map(|(n, a)| a.stats(n, measured_s))
        .collect();
    let overall = overall.stats("*", measured_s);
    let slo =
        |key: &str, req: Option<&str>, metric: &str, op: &str, limit: f64, obs: f64, unit: &str| {
            let pass = match op {
                "<" => obs < limit,
                "<=" => obs <= limit,
                ">" => obs > limit,
                _ => obs >= limit,
            };
            SloResult {
                key: key.into(),
                metric: metric.into(),
                request: req.map(str::to_string),
                op: op.into(),
                limit,
                observed: Some(obs),
                unit: unit.into(),
                pass,
                interval: None,
                inconclusive: None,
            }
        };
    let error_rate = overall.errors as f64 / overall.requests as f64;
    let slos = vec![
        slo(
            &format!("{}.latency.p99", spec.names[0]),
            Some(&spec.names[0]),
            "latency.p99",
            "<",
            10.0,
            endpoints[0].latency_ms.p99,
            "ms",
        ),
        slo(
            &format!("{}.latency.p99", spec.names[2]),
            Some(&spec.names[2]),
            "latency.p99",
            "<",
            40.0,
            endpoints[2].latency_ms.p99,
            "ms",
        ),
        slo(
            "error_rate",
            None,
            "error_rate",
            "<",
            0.005,
            error_rate,
            "ratio",
        ),
        slo(
            "throughput",
            None,
            "throughput",
            ">=",
            400.0,
            overall.throughput_per_sec,
            "per_sec",
        ),
    ];
    let verdict = if slos.iter().all(|s| s.pass) {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    RunResult {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "nexus-bench".into(),
            version: "0.1.0".into(),
        },
        scenario: ScenarioInfo {
            name: spec.scenario.clone(),
            description: spec.description.clone(),
            file: "scenarios/cache.toml".into(),
            sha256: "0".repeat(64),
            target: spec.target.clone(),
        },
        hosts: vec![HostInfo {
            hostname: "runner-1".into(),
            os: "linux x86_64".into(),
            cpus: 8,
            threads: 4,
        }],
        started_at: "2025-11-25T12:00:00Z".into(),
        start_unix_ms: start_unix_s * 1000,
        load: LoadInfo {
            model: "open".into(),
            start: spec.per_second as f64,
            stages: vec![
                StageInfo {
                    duration_ms: spec.warmup_s as f64 * 1000.0,
                    target: (spec.per_second * 5) as f64,
                },
                StageInfo {
                    duration_ms: measured_s * 1000.0,
                    target: (spec.per_second * 5) as f64,
                },
            ],
            warmup_ms: spec.warmup_s as f64 * 1000.0,
            duration_ms: spec.seconds as f64 * 1000.0,
            max_in_flight: Some(48),
            think_time_ms: None,
            protocol: "http1".into(),
        },
        status: RunStatus::Completed,
        measured_ms: measured_s * 1000.0,
        totals: Totals {
            requests: overall.requests,
            errors: overall.errors,
            dropped: dropped_total,
            cancelled: 2,
            throughput_per_sec: overall.throughput_per_sec,
            error_rate,
        },
        overall,
        endpoints,
        timeseries,
        slos,
        verdict,
        error_samples: vec![
            ErrorSample {
                request: spec.names[2].clone(),
                kind: "timeout".into(),
                message: spec.error_message.clone(),
                count: 17,
            },
            ErrorSample {
                request: spec.names[1].clone(),
                kind: "status".into(),
                message: "HTTP 503 Service Unavailable: cache shard rebalancing".into(),
                count: 9,
            },
        ],
        warnings: vec![spec.warning.clone()],
        target_process: None,
        generator: None,
        probes: Vec::new(),
        profiles: Vec::new(),
        run_id: None,
        instances: Vec::new(),
        merge: None,
    }
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/results")
        .join(name)
}

/// The committed sample result.
pub fn sample() -> RunResult {
    load(&fixture_path("sample.json")).expect("fixtures/results/sample.json loads")
}

/// The committed hostile result.
pub fn hostile() -> RunResult {
    load(&fixture_path("hostile.json")).expect("fixtures/results/hostile.json loads")
}

#[test]
#[ignore = "regenerates the committed fixtures"]
fn generate_fixtures() {
    save_atomic(&build(&Spec::sample()), &fixture_path("sample.json")).unwrap();
    save_atomic(&build(&Spec::hostile()), &fixture_path("hostile.json")).unwrap();
}

#[test]
fn fixtures_are_realistic() {
    let r = sample();
    assert_eq!(r.endpoints.len(), 3);
    assert_eq!(r.timeseries.len(), 60);
    assert_eq!(r.timeseries.iter().filter(|s| s.warmup).count(), 5);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(r.slos.iter().any(|s| s.pass) && r.slos.iter().any(|s| !s.pass));
    assert!(r.overall.error_kinds.len() >= 2 && r.overall.status.len() >= 2);
    let h = r.endpoints[0].histograms.latency_us.decode().unwrap();
    assert_eq!(h.len(), r.endpoints[0].requests);
}

/// `result` with everything observed beside the load: a launched target's process, the
/// generator's health (saturated), two probes (one failing) and two profiles (one with a
/// flamegraph file, one failed). `name` goes into every free-text field (hostile tests).
pub fn observed(mut result: RunResult, name: &str) -> RunResult {
    let readings = |scale: f64| -> Vec<ResourceReading> {
        (0..40)
            .map(|i| ResourceReading {
                t_ms: f64::from(i) * 250.0 - 500.0,
                rss_bytes: 40_000_000 + (i as u64) * 250_000,
                cpu_percent: scale * (1.0 + f64::from(i % 7)),
            })
            .collect()
    };
    result.target_process = Some(TargetProcess {
        command: vec!["./my-service".into(), name.into()],
        startup_ms: 84.5,
        rss_max_bytes: 49_750_000,
        cpu_mean_percent: 42.5,
        exe_size_bytes: Some(12_345_678),
        exit: Some("signal: 15".into()),
        samples: readings(12.0),
    });
    result.generator = Some(GeneratorHealth {
        cpu_mean_percent: 97.0,
        cpu_max_percent: 100.0,
        cpus: 2,
        schedule_lag_ms: None,
        saturated: true,
        samples: readings(14.0),
        generator_errors: 0,
        machine: None,
        rss_trend: None,
    });
    result.probes = vec![
        ProbeSeries {
            name: "hit_ratio".into(),
            source: "GET /api/v1/cache/stats → /hit_ratio".into(),
            before: Some(0.0),
            after: Some(0.8125),
            samples: (1..9)
                .map(|i| ProbeReading {
                    t_ms: f64::from(i) * 1000.0,
                    value: 0.1 * f64::from(i),
                })
                .collect(),
            error: None,
        },
        ProbeSeries {
            name: name.into(),
            source: format!("GET /metrics → {name}"),
            before: None,
            after: None,
            samples: vec![],
            error: Some(format!("no sample {name}")),
        },
    ];
    result.profiles = vec![
        ProfileInfo {
            kind: "target".into(),
            pprof_file: Some("target.pb.gz".into()),
            flamegraph_file: Some("target-flamegraph.svg".into()),
            start_ms: 5000.0,
            duration_ms: 10_000.0,
            top: vec![TopFunctionInfo {
                name: format!("cache::lookup<{name}>"),
                self_samples: 120,
                total_samples: 300,
                self_percent: 24.0,
                total_percent: 60.0,
            }],
            error: None,
            heap: None,
        },
        ProfileInfo {
            kind: "generator".into(),
            pprof_file: None,
            flamegraph_file: None,
            start_ms: 0.0,
            duration_ms: 0.0,
            top: vec![],
            error: Some(format!("self-profiling failed: {name}")),
            heap: None,
        },
    ];
    result
}
