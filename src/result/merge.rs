//! Exact merging of results: several generators running the same scenario at the same time
//! (a distributed run), or segments of one run. Counts add, histograms add losslessly and
//! seconds align on wall-clock time, so the merged percentiles are the ones a single
//! generator would have measured.

use std::collections::BTreeMap;

use super::{
    EncodedHistogram, EndpointStats, Hist, Histograms, RunResult, RunStatus, Second,
    SecondEndpoint, Totals, WindowSummary, new_histogram,
};

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
        warnings.extend(r.warnings.iter().cloned());
        hosts.extend(r.hosts.iter().cloned());
    }
    if results.iter().any(|r| {
        r.target_process.is_some()
            || r.generator.is_some()
            || !r.probes.is_empty()
            || !r.profiles.is_empty()
    }) {
        warnings.push(
            "per-machine sections (target process, generator health, probes, profiles) are not merged: see each input result"
                .into(),
        );
    }
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
        // Each machine's target and generator are its own: copying the first one's would
        // present one machine's figures as the whole run's.
        target_process: None,
        generator: None,
        probes: Vec::new(),
        profiles: Vec::new(),
        run_id: None,
        instances: Vec::new(),
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
