//! Exact merging of results: several generators running the same scenario at the same time
//! (a distributed run), or segments of one run. Counts add, histograms add losslessly and
//! seconds align on wall-clock time, so the merged percentiles are the ones a single
//! generator would have measured. Per-machine sections (target process, generator health,
//! probes, profiles) are not added up: each input's are kept in [`MergeInfo::inputs`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    EncodedHistogram, EndpointStats, GeneratorHealth, Hist, Histograms, InstanceInfo, ProbeSeries,
    ProfileInfo, RunResult, RunStatus, Second, SecondEndpoint, TargetProcess, Totals,
    WindowSummary, new_histogram,
};

/// What a merged result was made of.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MergeInfo {
    /// One entry per merged result, by instance (in the order given for results without
    /// instance information).
    pub inputs: Vec<MergedInput>,
    /// Instances of the run that no result was given for (a partial merge: its verdict is
    /// `fail`).
    #[serde(default)]
    pub missing: Vec<u32>,
}

/// One merged result: its share of the load and the sections that belong to its machine.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MergedInput {
    /// Its instance number, when the result is a share of a split run (`run --instance`
    /// with more than one instance).
    pub instance: Option<u32>,
    /// The host it ran on.
    pub hostname: String,
    /// How that run ended.
    pub status: RunStatus,
    /// Requests completed in its measured period.
    pub requests: u64,
    /// Of those, failed.
    pub errors: u64,
    /// Open model: arrivals it dropped.
    pub dropped: u64,
    /// The target process it launched, if any.
    pub target_process: Option<TargetProcess>,
    /// Its generator's health.
    pub generator: Option<GeneratorHealth>,
    /// The probes it read.
    pub probes: Vec<ProbeSeries>,
    /// The profiles it captured (files relative to its own run folder).
    pub profiles: Vec<ProfileInfo>,
}

impl MergedInput {
    fn of(r: &RunResult) -> Vec<MergedInput> {
        // An input that is itself a merge contributes its own inputs.
        if let Some(m) = &r.merge {
            return m.inputs.clone();
        }
        let hostname = r
            .instances
            .first()
            .map(|i| i.hostname.clone())
            .or_else(|| r.hosts.first().map(|h| h.hostname.clone()))
            .unwrap_or_default();
        vec![MergedInput {
            // A plain run is instance 0 of 1: no share of a split run.
            instance: r
                .instances
                .first()
                .filter(|_| super::instances::is_share(r))
                .map(|i| i.instance),
            hostname,
            status: r.status,
            requests: r.totals.requests,
            errors: r.totals.errors,
            dropped: r.totals.dropped,
            target_process: r.target_process.clone(),
            generator: r.generator.clone(),
            probes: r.probes.clone(),
            profiles: r.profiles.clone(),
        }]
    }

    /// `instance 2 (host-b)`, or `host-b` without an instance number.
    pub fn label(&self) -> String {
        match self.instance {
            Some(i) => format!("instance {i} ({})", self.hostname),
            None => self.hostname.clone(),
        }
    }
}

/// Results that cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no results to merge")]
    Empty,
    /// The results come from different scenario files.
    #[error(
        "results are of different scenarios ({0} and {1}); only runs of the same scenario file merge"
    )]
    DifferentScenario(String, String),
    /// A stored histogram is corrupt.
    #[error("endpoint `{0}`: {1}")]
    Histogram(String, String),
}

/// Merges results of the same scenario into one. SLO verdicts are left empty: the caller
/// re-evaluates them on the merged numbers.
pub fn merge(results: &[RunResult]) -> Result<RunResult, MergeError> {
    let first = results.first().ok_or(MergeError::Empty)?;
    for r in &results[1..] {
        if r.scenario.sha256 != first.scenario.sha256 {
            return Err(MergeError::DifferentScenario(
                first.scenario.file.clone(),
                r.scenario.file.clone(),
            ));
        }
    }
    let start_ms = results
        .iter()
        .map(|r| r.start_unix_ms)
        .min()
        .expect("non-empty");
    // Measured span: from the earliest end of warm-up to the latest end of measurement.
    let measured_from = results
        .iter()
        .map(|r| r.start_unix_ms as f64 + r.load.warmup_ms)
        .fold(f64::MAX, f64::min);
    let measured_to = results
        .iter()
        .map(|r| r.start_unix_ms as f64 + r.load.warmup_ms + r.measured_ms)
        .fold(f64::MIN, f64::max);
    let measured_ms = (measured_to - measured_from).max(0.0);

    let mut endpoints: Vec<EndpointStats> = Vec::new();
    for r in results {
        for e in &r.endpoints {
            match endpoints.iter_mut().find(|x| x.name == e.name) {
                Some(acc) => add_endpoint(acc, e)?,
                None => endpoints.push(e.clone()),
            }
        }
    }
    let mut overall = first.overall.clone();
    for r in &results[1..] {
        add_endpoint(&mut overall, &r.overall)?;
    }
    for e in endpoints.iter_mut().chain(std::iter::once(&mut overall)) {
        finish(e, measured_ms)?;
    }

    let mut seconds: BTreeMap<i64, Second> = BTreeMap::new();
    for r in results {
        for s in &r.timeseries {
            match seconds.get_mut(&s.unix_s) {
                Some(acc) => add_second(acc, s)?,
                None => {
                    seconds.insert(s.unix_s, s.clone());
                }
            }
        }
    }
    let start_s = start_ms.div_euclid(1000);
    let timeseries = seconds
        .into_values()
        .map(|mut s| {
            s.offset_s = s.unix_s - start_s;
            s
        })
        .collect();

    let mut totals = Totals::default();
    for r in results {
        totals.requests += r.totals.requests;
        totals.errors += r.totals.errors;
        totals.dropped += r.totals.dropped;
        totals.cancelled += r.totals.cancelled;
    }
    totals.throughput_per_sec = per_sec(totals.requests, measured_ms);
    totals.error_rate = ratio(totals.errors, totals.requests);

    let status = if results.iter().all(|r| r.status == RunStatus::Completed) {
        RunStatus::Completed
    } else {
        RunStatus::Interrupted
    };
    let first_start = results
        .iter()
        .min_by_key(|r| r.start_unix_ms)
        .expect("non-empty");
    let mut error_samples = Vec::new();
    let mut warnings = Vec::new();
    let mut hosts = Vec::new();
    for r in results {
        error_samples.extend(r.error_samples.iter().cloned());
        // Each input's warnings say which machine they are about.
        match (&r.merge, MergedInput::of(r).first()) {
            (None, Some(input)) if results.len() > 1 => {
                let label = input.label();
                for w in &r.warnings {
                    if w == super::INSECURE_WARNING {
                        // Read by exact text (JUnit): said once, as is.
                        if !warnings.contains(w) {
                            warnings.push(w.clone());
                        }
                    } else {
                        warnings.push(format!("{label}: {w}"));
                    }
                }
            }
            _ => warnings.extend(r.warnings.iter().cloned()),
        }
        hosts.extend(r.hosts.iter().cloned());
    }
    let mut inputs: Vec<MergedInput> = results.iter().flat_map(MergedInput::of).collect();
    // Stable: inputs without an instance number keep the order they were given in.
    inputs.sort_by_key(|i| i.instance);
    // The shares merged (none for plain runs, each instance 0 of 1).
    let mut instances: Vec<InstanceInfo> = results
        .iter()
        .filter(|r| super::instances::is_share(r))
        .flat_map(|r| r.instances.iter().cloned())
        .collect();
    instances.sort_by_key(|i| i.instance);
    let run_id = first.run_id.clone().filter(|id| {
        results
            .iter()
            .all(|r| r.run_id.as_deref() == Some(id.as_str()))
    });
    Ok(RunResult {
        hosts,
        started_at: first_start.started_at.clone(),
        start_unix_ms: start_ms,
        status,
        measured_ms,
        totals,
        overall,
        endpoints,
        timeseries,
        slos: Vec::new(),
        error_samples,
        warnings,
        // Each machine's target and generator are its own (kept per input in `merge`):
        // copying the first one's would present one machine's figures as the whole run's.
        target_process: None,
        generator: None,
        probes: Vec::new(),
        profiles: Vec::new(),
        run_id,
        instances,
        merge: Some(MergeInfo {
            inputs,
            missing: Vec::new(),
        }),
        ..first.clone()
    })
}

fn add_hist(
    acc: &mut EncodedHistogram,
    other: &EncodedHistogram,
    name: &str,
) -> Result<Hist, MergeError> {
    let err = |e: super::HistogramError| MergeError::Histogram(name.to_string(), e.to_string());
    let mut h = acc.decode().map_err(err)?;
    h.add(other.decode().map_err(err)?)
        .map_err(|e| MergeError::Histogram(name.to_string(), format!("{e:?}")))?;
    *acc = EncodedHistogram::encode(&h);
    Ok(h)
}

fn add_counts(acc: &mut BTreeMap<String, u64>, other: &BTreeMap<String, u64>) {
    for (k, v) in other {
        *acc.entry(k.clone()).or_default() += v;
    }
}

fn add_endpoint(acc: &mut EndpointStats, e: &EndpointStats) -> Result<(), MergeError> {
    acc.requests += e.requests;
    acc.errors += e.errors;
    add_counts(&mut acc.status, &e.status);
    add_counts(&mut acc.error_kinds, &e.error_kinds);
    add_hist(
        &mut acc.histograms.latency_us,
        &e.histograms.latency_us,
        &e.name,
    )?;
    add_hist(
        &mut acc.histograms.service_time_us,
        &e.histograms.service_time_us,
        &e.name,
    )?;
    acc.connections = super::ConnectionStats::merge(&acc.connections, &e.connections)
        .map_err(|m| MergeError::Histogram(e.name.clone(), m.to_string()))?;
    Ok(())
}

/// Recomputes the derived fields of a merged endpoint from its histograms.
fn finish(e: &mut EndpointStats, measured_ms: f64) -> Result<(), MergeError> {
    let Histograms {
        latency_us,
        service_time_us,
    } = &e.histograms;
    let err = |m: super::HistogramError| MergeError::Histogram(e.name.clone(), m.to_string());
    let latency = latency_us.decode().map_err(err)?;
    let service = service_time_us.decode().map_err(err)?;
    super::build::derive(e, &latency, &service, measured_ms);
    Ok(())
}

fn add_second(acc: &mut Second, s: &Second) -> Result<(), MergeError> {
    let joined = super::coarse::join(acc, s);
    acc.requests += s.requests;
    acc.errors += s.errors;
    acc.dropped += s.dropped;
    acc.in_flight_max += s.in_flight_max;
    acc.load_level += s.load_level;
    acc.warmup = acc.warmup && s.warmup;
    let mut all: Hist = new_histogram();
    for e in &s.endpoints {
        match acc.endpoints.iter_mut().find(|x| x.name == e.name) {
            Some(x) => {
                x.requests += e.requests;
                x.errors += e.errors;
                let h = add_hist(&mut x.latency_us, &e.latency_us, &e.name)?;
                x.latency_ms = WindowSummary::of(&h);
            }
            None => acc.endpoints.push(SecondEndpoint { ..e.clone() }),
        }
    }
    for x in &acc.endpoints {
        let h = x
            .latency_us
            .decode()
            .map_err(|m| MergeError::Histogram(x.name.clone(), m.to_string()))?;
        all.add(&h)
            .map_err(|e| MergeError::Histogram(x.name.clone(), format!("{e:?}")))?;
    }
    acc.latency_ms = WindowSummary::of(&all);
    super::coarse::apply(acc, joined);
    Ok(())
}

/// `count` per second over `ms` milliseconds (0 for an empty span).
pub(crate) fn per_sec(count: u64, ms: f64) -> f64 {
    if ms > 0.0 {
        count as f64 * 1000.0 / ms
    } else {
        0.0
    }
}

/// `part / whole`, 0 when `whole` is 0.
pub(crate) fn ratio(part: u64, whole: u64) -> f64 {
    if whole > 0 {
        part as f64 / whole as f64
    } else {
        0.0
    }
}
