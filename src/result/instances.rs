//! Whether results form one distributed run that may be merged: instances `0..N-1` of one
//! `run_id`, each exactly once, measured over overlapping periods. A gate on a merge of the
//! wrong pieces would judge a load nobody asked for, so every mismatch is refused by name.

use std::collections::BTreeMap;

use super::{RunResult, RunStatus};

/// Results that do not form one run's complete set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    /// Some results carry instance information and others do not.
    #[error(
        "{with} of the results come from `run --instance` and {without} do not (e.g. {example}): merge the instances of one run only"
    )]
    Mixed {
        /// How many carry instance information.
        with: usize,
        /// How many do not.
        without: usize,
        /// One that does not (its host).
        example: String,
    },
    /// The results belong to different runs.
    #[error("the results belong to different runs: {0}; merge the instances of one run_id only")]
    RunIds(String),
    /// The results disagree on how many instances share the load.
    #[error("the results disagree on the number of instances: {0}")]
    Counts(String),
    /// An instance number outside `0..instances`.
    #[error("instance {instance} is out of range for a run of {instances} instance(s)")]
    OutOfRange {
        /// The instance.
        instance: u32,
        /// How many there are.
        instances: u32,
    },
    /// The same instance was given more than once.
    #[error(
        "instance {instance} of run {run_id} is given {times} times (hosts: {hosts}); each instance must be merged exactly once"
    )]
    Duplicate {
        /// The run.
        run_id: String,
        /// The instance.
        instance: u32,
        /// How many times.
        times: usize,
        /// Their hosts.
        hosts: String,
    },
    /// Instances are missing (or did not complete) and `--allow-partial` was not given.
    #[error(
        "run {run_id} has {instances} instances but {what}: merge every instance, or pass --allow-partial to merge what exists (the verdict is then fail)"
    )]
    Incomplete {
        /// The run.
        run_id: String,
        /// How many instances the run has.
        instances: u32,
        /// What is missing or incomplete, in words.
        what: String,
    },
    /// The measured periods do not overlap: the instances did not run at the same time.
    #[error(
        "the measured periods do not overlap ({0}): these instances did not run at the same time (use one --start-at for all of them)"
    )]
    NoOverlap(String),
}

/// What [`check_set`] found about a set of results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceSet {
    /// The run, when the results carry instance information.
    pub run_id: Option<String>,
    /// How many instances the run has (0 without instance information).
    pub instances: u32,
    /// Instances no result was given for.
    pub missing: Vec<u32>,
    /// Instances whose result did not complete (interrupted, or a checkpoint).
    pub incomplete: Vec<u32>,
}

impl InstanceSet {
    /// Whether instances are missing or incomplete.
    pub fn partial(&self) -> bool {
        !self.missing.is_empty() || !self.incomplete.is_empty()
    }

    /// What is missing or incomplete, in words (empty when nothing is).
    pub fn describe(&self) -> String {
        let list = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!(
                "instance(s) {} of 0..{} missing",
                list(&self.missing),
                self.instances
            ));
        }
        if !self.incomplete.is_empty() {
            parts.push(format!(
                "instance(s) {} did not complete",
                list(&self.incomplete)
            ));
        }
        parts.join("; ")
    }
}

/// Checks that `results` are one run's instances `0..N-1`, each once, measured over
/// overlapping periods. With `allow_partial`, missing or incomplete instances are reported
/// in the answer instead of refused. Results that are not a share of a split run (plain
/// runs, which are instance 0 of 1, and files before version 4) are not checked: they
/// merge as given.
pub fn check_set(results: &[RunResult], allow_partial: bool) -> Result<InstanceSet, SetError> {
    let (with, without): (Vec<&RunResult>, Vec<&RunResult>) =
        results.iter().partition(|r| is_share(r));
    if with.is_empty() {
        return Ok(InstanceSet::default());
    }
    if let Some(r) = without.first() {
        return Err(SetError::Mixed {
            with: with.len(),
            without: without.len(),
            example: r
                .hosts
                .first()
                .map_or_else(|| r.started_at.clone(), |h| h.hostname.clone()),
        });
    }
    let run_ids: BTreeMap<&str, usize> = with.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.run_id.as_deref().unwrap_or("(none)"))
            .or_default() += 1;
        m
    });
    if run_ids.len() > 1 || run_ids.contains_key("(none)") {
        return Err(SetError::RunIds(
            run_ids
                .iter()
                .map(|(id, n)| format!("{id} ×{n}"))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    let run_id = run_ids.keys().next().expect("one").to_string();
    let infos: Vec<_> = with
        .iter()
        .flat_map(|r| r.instances.iter().map(move |i| (i, r.status)))
        .collect();
    let counts: BTreeMap<u32, usize> = infos.iter().fold(BTreeMap::new(), |mut m, (i, _)| {
        *m.entry(i.instances).or_default() += 1;
        m
    });
    if counts.len() > 1 {
        return Err(SetError::Counts(
            counts
                .iter()
                .map(|(n, k)| format!("{k} say {n}"))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    let instances = *counts.keys().next().expect("one");
    let mut seen: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    let mut incomplete = Vec::new();
    for (info, status) in &infos {
        if info.instance >= instances {
            return Err(SetError::OutOfRange {
                instance: info.instance,
                instances,
            });
        }
        seen.entry(info.instance)
            .or_default()
            .push(info.hostname.as_str());
        if *status != RunStatus::Completed {
            incomplete.push(info.instance);
        }
    }
    if let Some((instance, hosts)) = seen.iter().find(|(_, h)| h.len() > 1) {
        return Err(SetError::Duplicate {
            run_id,
            instance: *instance,
            times: hosts.len(),
            hosts: hosts.join(", "),
        });
    }
    incomplete.sort_unstable();
    let set = InstanceSet {
        run_id: Some(run_id.clone()),
        instances,
        missing: (0..instances).filter(|i| !seen.contains_key(i)).collect(),
        incomplete,
    };
    if set.partial() && !allow_partial {
        return Err(SetError::Incomplete {
            run_id,
            instances,
            what: set.describe(),
        });
    }
    overlap(&with)?;
    Ok(set)
}

/// Whether `r` holds a share of a run split across several instances.
pub(super) fn is_share(r: &RunResult) -> bool {
    r.instances.iter().any(|i| i.instances > 1)
}

/// The measured periods (warm-up excluded) must share an instant.
fn overlap(results: &[&RunResult]) -> Result<(), SetError> {
    let span = |r: &RunResult| {
        let from = r.start_unix_ms as f64 + r.load.warmup_ms;
        (from, from + r.measured_ms)
    };
    let latest_start = results.iter().map(|r| span(r).0).fold(f64::MIN, f64::max);
    let earliest_end = results.iter().map(|r| span(r).1).fold(f64::MAX, f64::min);
    if latest_start < earliest_end {
        return Ok(());
    }
    let label = |r: &RunResult| {
        r.instances
            .first()
            .map_or_else(String::new, |i| format!("instance {}", i.instance))
    };
    let (first_end, late) = (
        results
            .iter()
            .min_by(|a, b| span(a).1.total_cmp(&span(b).1))
            .expect("non-empty"),
        results
            .iter()
            .max_by(|a, b| span(a).0.total_cmp(&span(b).0))
            .expect("non-empty"),
    );
    Err(SetError::NoOverlap(format!(
        "{} ended its measurement at {} ms (Unix) before {} began its own at {} ms",
        label(first_end),
        span(first_end).1 as i64,
        label(late),
        span(late).0 as i64
    )))
}
