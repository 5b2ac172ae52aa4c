//! Building a [`RunResult`] from the plan and the aggregate of a run (also for checkpoints
//! of a run in progress).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use super::merge::{per_sec, ratio};
use super::{
    EncodedHistogram, EndpointStats, ErrorSample, Histograms, HostInfo, InstanceInfo, LoadInfo,
    PerSecond, RunResult, RunStatus, SCHEMA_VERSION, ScenarioInfo, Second, SecondEndpoint,
    StageInfo, Summary, Tool, Totals, Verdict, WindowSummary,
};
use crate::plan::{LoadModel, Plan, TargetBase};
use crate::recorder::series::{Pcts, Span};
use crate::recorder::{Aggregate, Clock, EndpointAgg, ErrorKind, Hist};

/// Facts about the run that the aggregate does not hold.
#[derive(Debug, Clone)]
pub struct RunMeta {
    /// The run's clock.
    pub clock: Clock,
    /// Measured time (after the warm-up) so far.
    pub measured: Duration,
    /// How the run ended (or `Running` for a checkpoint).
    pub status: RunStatus,
    /// Generator worker threads.
    pub threads: usize,
    /// Requests abandoned at the end of the drain.
    pub cancelled: u64,
    /// Warnings about the run itself.
    pub warnings: Vec<String>,
    /// When recording ended (after the drain), or `None` for "now": the real length of the
    /// last second.
    pub ended: Option<std::time::Instant>,
}

/// Builds the result. SLOs are evaluated separately ([`crate::analysis::slo::apply`]).
pub fn build(plan: &Plan, agg: &Aggregate, meta: &RunMeta) -> RunResult {
    assemble(plan, agg, meta, timeseries(plan, &agg.series.spans(), meta))
}

/// The result without its time series: what a checkpoint rewrites (the series goes to the
/// journal, [`super::Journal`]).
pub fn head(plan: &Plan, agg: &Aggregate, meta: &RunMeta) -> RunResult {
    assemble(plan, agg, meta, Vec::new())
}

fn assemble(plan: &Plan, agg: &Aggregate, meta: &RunMeta, timeseries: Vec<Second>) -> RunResult {
    let measured_ms = meta.measured.as_secs_f64() * 1000.0;
    let endpoints: Vec<EndpointStats> = plan
        .requests
        .iter()
        .zip(&agg.endpoints)
        .map(|(spec, e)| endpoint_stats(&spec.name, spec.flow.clone(), e, measured_ms))
        .collect();
    let mut all = EndpointAgg::default();
    for e in &agg.endpoints {
        all.add(e);
    }
    let overall = endpoint_stats("*", None, &all, measured_ms);
    let requests = agg.requests();
    let errors = agg.errors();
    let totals = Totals {
        requests,
        errors,
        dropped: agg.dropped,
        cancelled: meta.cancelled,
        throughput_per_sec: per_sec(requests, measured_ms),
        error_rate: ratio(errors, requests),
    };
    let error_samples = agg
        .samples
        .iter()
        .map(|(id, kind, message, count)| ErrorSample {
            request: plan.requests[*id].name.clone(),
            kind: kind.name().to_string(),
            message: message.clone(),
            count: *count,
        })
        .collect();
    let host = host_info(meta.threads);
    // Which share of the run this is: a run on one machine is instance 0 of 1.
    let run_id = plan
        .identity
        .run_id
        .clone()
        .unwrap_or_else(|| derived_run_id(&plan.source.sha256, meta.clock.start_unix_ms()));
    let instance = InstanceInfo {
        instance: plan.split.instance(),
        instances: plan.split.instances(),
        start_at: plan.identity.start_at_unix_ms.map(rfc3339_ms),
        hostname: host.hostname.clone(),
    };
    RunResult {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "nexus-bench".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        scenario: ScenarioInfo {
            name: plan.name.clone(),
            description: plan.description.clone(),
            file: plan.source.file.display().to_string(),
            sha256: plan.source.sha256.clone(),
            target: target_label(&plan.target.base),
        },
        hosts: vec![host],
        started_at: rfc3339_ms(meta.clock.start_unix_ms()),
        start_unix_ms: meta.clock.start_unix_ms(),
        load: load_info(plan),
        status: meta.status,
        measured_ms,
        totals,
        overall,
        endpoints,
        timeseries,
        slos: Vec::new(),
        verdict: Verdict::Pass,
        error_samples,
        warnings: meta.warnings.clone(),
        target_process: None,
        generator: None,
        probes: Vec::new(),
        profiles: Vec::new(),
        run_id: Some(run_id),
        instances: vec![instance],
        merge: None,
    }
}

/// The run id of a run without `--run-id`: the scenario's hash (12 hex digits) and the
/// start in Unix milliseconds. Instances given one `--start-at` start their clocks at that
/// very millisecond, so they derive the same id.
pub fn derived_run_id(scenario_sha256: &str, start_unix_ms: i64) -> String {
    let hash: String = scenario_sha256.chars().take(12).collect();
    format!("{hash}-{start_unix_ms}")
}

/// Unix milliseconds as RFC 3339 in UTC, to the millisecond (empty if out of range).
pub fn rfc3339_ms(unix_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(unix_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// This instance's part of the global load level (all of it on one machine), so that the
/// levels of a split run's instances add up to the scenario's when merged: its users
/// (`u mod N`) in the closed model, `1/N` of the rate in the open model.
fn share_of_level(plan: &Plan, level: f64) -> f64 {
    let split = plan.split;
    if !split.is_split() {
        return level;
    }
    match plan.load.model {
        LoadModel::Closed { .. } => split.share(level.round().max(0.0) as u64) as f64,
        LoadModel::Open { .. } => level / f64::from(split.instances()),
    }
}

/// The time-series entries of `spans` (see [`crate::recorder::series`]): one [`Second`] per
/// span; a coarse span carries its per-second counts.
pub fn timeseries(plan: &Plan, spans: &[Cow<'_, Span>], meta: &RunMeta) -> Vec<Second> {
    let start_s = meta.clock.start_unix_ms().div_euclid(1000);
    let length_ms = |unix_s: i64| covered_ms(&meta.clock, meta.ended, unix_s);
    let level = |unix_s: i64| {
        let offset = Duration::from_millis(((unix_s - start_s).max(0) as u64 + 1) * 1000);
        share_of_level(
            plan,
            plan.load
                .profile
                .level_at(offset.min(plan.load.profile.duration())),
        )
    };
    spans
        .iter()
        .map(|span| {
            let coarse = span.length_s > 1;
            let counts = &span.seconds;
            let last = counts.last().map_or(span.start, |c| c.unix_s);
            let seconds: Vec<PerSecond> = if coarse {
                counts
                    .iter()
                    .map(|c| PerSecond {
                        unix_s: c.unix_s,
                        warmup: c.warmup,
                        length_ms: length_ms(c.unix_s),
                        requests: c.requests,
                        errors: c.errors,
                        dropped: c.dropped,
                        in_flight_max: c.in_flight_max,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Second {
                unix_s: span.start,
                offset_s: span.start - start_s,
                warmup: span.warmup(),
                length_ms: if coarse {
                    seconds.iter().map(|c| c.length_ms).sum()
                } else {
                    length_ms(span.start)
                },
                requests: counts.iter().map(|c| c.requests).sum(),
                errors: counts.iter().map(|c| c.errors).sum(),
                dropped: counts.iter().map(|c| c.dropped).sum(),
                in_flight_max: counts.iter().map(|c| c.in_flight_max).max().unwrap_or(0),
                load_level: level(last),
                latency_ms: window_summary(&span.latency),
                endpoints: span
                    .endpoints
                    .iter()
                    .enumerate()
                    .filter_map(|(id, e)| {
                        let by = |pick: fn((u64, u64)) -> u64| -> Vec<u64> {
                            if !coarse {
                                return Vec::new();
                            }
                            counts
                                .iter()
                                .map(|c| c.endpoints[id].map_or(0, pick))
                                .collect()
                        };
                        e.as_ref().map(|e| SecondEndpoint {
                            name: plan.requests[id].name.clone(),
                            requests: e.requests,
                            errors: e.errors,
                            latency_ms: window_summary(&e.latency),
                            latency_us: EncodedHistogram::of_bytes(&e.histogram),
                            requests_by_second: by(|(r, _)| r),
                            errors_by_second: by(|(_, e)| e),
                        })
                    })
                    .collect(),
                seconds,
            }
        })
        .collect()
}

/// How much of second `unix_s` a run on `clock` covered, in milliseconds (1000 except for
/// the partial first and last seconds); `ended` is when recording ended, `None` for now.
pub fn covered_ms(clock: &Clock, ended: Option<std::time::Instant>, unix_s: i64) -> f64 {
    let ended = ended.unwrap_or_else(std::time::Instant::now);
    let run_start_ms = clock.epoch_unix_ns as f64 / 1e6;
    let run_end_ms =
        run_start_ms + ended.saturating_duration_since(clock.epoch).as_secs_f64() * 1000.0;
    let lo = (unix_s as f64 * 1000.0).max(run_start_ms);
    let hi = ((unix_s + 1) as f64 * 1000.0).min(run_end_ms);
    (hi - lo).clamp(0.0, 1000.0)
}

/// Percentiles (µs) in milliseconds.
fn window_summary(p: &Pcts) -> WindowSummary {
    if p.count == 0 {
        return WindowSummary::default();
    }
    let ms = |us: u64| us as f64 / 1000.0;
    WindowSummary {
        p50: ms(p.p50),
        p90: ms(p.p90),
        p99: ms(p.p99),
        max: ms(p.max),
        mean: p.mean / 1000.0,
    }
}

/// The target as shown in results: the URL, or `embedded:<api>` (never a secret: base URLs
/// are not templates).
pub fn target_label(base: &TargetBase) -> String {
    match base {
        TargetBase::Url(u) => u.clone(),
        TargetBase::Embedded { api, .. } => format!("embedded:{api}"),
    }
}

fn endpoint_stats(
    name: &str,
    flow: Option<String>,
    e: &EndpointAgg,
    measured_ms: f64,
) -> EndpointStats {
    let status: BTreeMap<String, u64> = e.status.iter().map(|(c, n)| (c.to_string(), *n)).collect();
    let error_kinds: BTreeMap<String, u64> = ErrorKind::ALL
        .iter()
        .filter(|k| e.kinds[**k as usize] > 0)
        .map(|k| (k.name().to_string(), e.kinds[*k as usize]))
        .collect();
    let mut stats = EndpointStats {
        name: name.to_string(),
        flow,
        requests: e.requests,
        errors: e.errors,
        throughput_per_sec: 0.0,
        status,
        error_kinds,
        latency_ms: Summary::default(),
        service_time_ms: Summary::default(),
        histograms: Histograms {
            latency_us: EncodedHistogram::encode(&e.latency),
            service_time_us: EncodedHistogram::encode(&e.service),
        },
        connections: super::ConnectionStats::of(&e.phases),
    };
    derive(&mut stats, &e.latency, &e.service, measured_ms);
    stats
}

/// Sets an endpoint's derived fields (summaries, throughput) from its counts and
/// distributions: the one place a run's result and a merge of results compute them.
pub(super) fn derive(e: &mut EndpointStats, latency: &Hist, service: &Hist, measured_ms: f64) {
    e.latency_ms = Summary::of(latency);
    e.service_time_ms = Summary::of(service);
    e.throughput_per_sec = per_sec(e.requests, measured_ms);
}

fn load_info(plan: &Plan) -> LoadInfo {
    let load = &plan.load;
    let (model, max_in_flight, think_time_ms) = match &load.model {
        LoadModel::Open { max_in_flight } => ("open", Some(*max_in_flight as u64), None),
        LoadModel::Closed { think_time } => {
            ("closed", None, Some(think_time.as_secs_f64() * 1000.0))
        }
    };
    LoadInfo {
        model: model.into(),
        start: load.profile.start,
        stages: load
            .profile
            .stages
            .iter()
            .map(|s| StageInfo {
                duration_ms: s.duration.as_secs_f64() * 1000.0,
                target: s.target,
            })
            .collect(),
        warmup_ms: load.warmup.as_secs_f64() * 1000.0,
        duration_ms: load.profile.duration().as_secs_f64() * 1000.0,
        max_in_flight,
        think_time_ms,
        protocol: if plan.target.http2 { "http2" } else { "http1" }.into(),
    }
}

fn host_info(threads: usize) -> HostInfo {
    HostInfo {
        hostname: hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        threads,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{RunIdentity, Split};

    fn result_of(plan: &Plan, clock: Clock) -> RunResult {
        let meta = RunMeta {
            clock,
            measured: Duration::from_secs(1),
            status: RunStatus::Completed,
            threads: 1,
            cancelled: 0,
            warnings: Vec::new(),
            ended: None,
        };
        build(plan, &Aggregate::new(plan.requests.len()), &meta)
    }

    #[test]
    fn a_result_says_which_share_of_which_run_it_is() {
        let path = std::path::Path::new("scenarios/bench.toml");
        let mut plan = crate::scenario::load(path, &Default::default()).expect("valid");
        let clock = Clock::start(Duration::ZERO);
        let r = result_of(&plan, clock);
        let sha = &plan.source.sha256;
        assert_eq!(
            r.run_id.as_deref(),
            Some(format!("{}-{}", &sha[..12], clock.start_unix_ms()).as_str())
        );
        assert_eq!(r.instances.len(), 1);
        let one = &r.instances[0];
        assert_eq!((one.instance, one.instances), (0, 1));
        assert_eq!(one.start_at, None);
        assert_eq!(one.hostname, r.hosts[0].hostname);

        plan.split = Split::new(2, 3).expect("valid");
        plan.identity = RunIdentity {
            run_id: Some("job-7".into()),
            start_at_unix_ms: Some(1_764_504_000_000),
        };
        let r = result_of(&plan, clock);
        assert_eq!(r.run_id.as_deref(), Some("job-7"));
        let one = &r.instances[0];
        assert_eq!((one.instance, one.instances), (2, 3));
        assert_eq!(one.start_at.as_deref(), Some("2025-11-30T12:00:00.000Z"));
    }

    #[test]
    fn instance_levels_add_up_to_the_scenario_level() {
        let path = std::path::Path::new("scenarios/bench.toml");
        let mut plan = crate::scenario::load(path, &Default::default()).expect("valid");
        let whole: f64 = share_of_level(&plan, 5.0);
        assert_eq!(whole, 5.0);
        let parts: Vec<f64> = (0..3)
            .map(|i| {
                plan.split = Split::new(i, 3).expect("valid");
                share_of_level(&plan, 5.0)
            })
            .collect();
        assert_eq!(parts, [2.0, 2.0, 1.0]);
    }
}
