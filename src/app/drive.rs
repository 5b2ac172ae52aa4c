//! Driving a run: the engine on its own thread, the recorder's aggregation loop with live
//! progress, checkpoints of result.json and a watch on a launched target, then the finished
//! [`RunResult`] with the generator's own health judged by [`crate::analysis::health`].

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::progress::Progress;
use super::target::RunTarget;
use crate::analysis::{health, judge, machine, slo};
use crate::engine::{self, ResolvedTarget, Shared};
use crate::export::{Exporters, Tick};
use crate::launch::{MachineSample, MachineSampler, ResourceSample, Sampler};
use crate::output::hlog::LiveLog;
use crate::plan::{LoadModel, Plan};
use crate::recorder::drive::{Every, collect};
use crate::recorder::{Aggregate, Clock};
use crate::result::{self, ResourceReading, RunMeta, RunResult, RunStatus, Summary};

/// Start of the warning recorded when a launched target exits mid-run.
pub(super) const TARGET_EXITED: &str = "the target exited during the run";

/// How often a long run checkpoints its result.json.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(10);

/// How often the loop wakes without a window, to update progress and watch the target.
const POLL: Duration = Duration::from_millis(100);

/// How often the generator's own CPU and memory are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// What one run is driven with.
pub(super) struct Drive<'a> {
    /// The validated plan.
    pub plan: &'a Arc<Plan>,
    /// Where the load goes.
    pub target: ResolvedTarget,
    /// The run's clock (started by the observers, so their clocks agree).
    pub clock: Clock,
    /// Engine worker threads.
    pub threads: usize,
    /// Set to stop the run early (signals, a crashed target).
    pub stop: &'a Arc<AtomicBool>,
    /// The run folder: checkpoints go to its result.json.
    pub dir: &'a Path,
    /// No live progress.
    pub quiet: bool,
    /// The target, watched for a crash.
    pub run_target: &'a mut RunTarget,
    /// Write `latency.hlog` while the run goes (every second at full resolution).
    pub live_hlog: bool,
    /// Live exporters (`--export`), handed each second as it is sealed.
    pub exporters: &'a mut Exporters,
}

/// Runs the engine, aggregating windows, showing progress and checkpointing; returns the
/// judged result.
pub(super) fn drive(d: Drive<'_>) -> anyhow::Result<(RunResult, Clock)> {
    let Drive {
        plan,
        target,
        clock,
        threads,
        stop,
        dir,
        quiet,
        run_target,
        live_hlog,
        exporters,
    } = d;
    crate::recorder::map_histograms_fresh();
    let sampler = Sampler::start_single(std::process::id(), SAMPLE_EVERY);
    // The machine beside the run, and our own tree (generator + launched target) to
    // subtract from it.
    let machine_sampler = MachineSampler::start(SAMPLE_EVERY);
    let own_tree = Sampler::start(std::process::id(), SAMPLE_EVERY);
    let (tx, rx) = std::sync::mpsc::channel();
    let shared = Arc::new(Shared::new(plan.clone(), target));
    let engine_stop = stop.clone();
    let engine = std::thread::Builder::new()
        .name("nexus-engine".into())
        .spawn(move || engine::run(shared, threads, clock, engine_stop, tx))?;

    let total = plan.load.profile.duration();
    let mut agg = Aggregate::new(plan.requests.len());
    let mut progress = Progress::new(quiet, total);
    let mut checkpoint = Every::new(CHECKPOINT_EVERY);
    let mut crashed = None;
    let meta = |status, measured, cancelled, warnings, ended| RunMeta {
        clock,
        measured,
        status,
        threads,
        cancelled,
        warnings,
        ended,
    };
    let result_path = dir.join("result.json");
    let mut journal = result::Journal::create(&result_path)?;
    let mut live = live_hlog.then(|| live_log(plan, dir, clock)).flatten();
    if live.is_some() {
        agg.series.keep_intervals();
    }
    collect(&rx, &mut agg, POLL, |agg| -> anyhow::Result<()> {
        progress.update(agg, clock.epoch.elapsed().min(total));
        if crashed.is_none() {
            crashed = run_target.crashed();
            if let Some(how) = &crashed {
                eprintln!(
                    "error: the target exited during the run ({how}); stopping and saving what was measured"
                );
                stop.store(true, Ordering::SeqCst);
            }
        }
        write_intervals(&mut live, agg, &clock, None);
        if !exporters.is_empty() {
            let sealed = agg.series.sealed_after(exporters.last_pushed());
            if !sealed.is_empty() {
                let measured = Instant::now().saturating_duration_since(clock.warmup_end);
                let m = meta(RunStatus::Running, measured, 0, Vec::new(), None);
                let kinds = crate::export::error_kinds(&agg.endpoints);
                for second in result::timeseries(plan, &sealed, &m) {
                    exporters.push(&Tick {
                        second: &second,
                        error_kinds: &kinds,
                    });
                }
            }
        }
        if checkpoint.due() {
            // Incremental: the seconds changed since the last checkpoint go to the journal,
            // the rest (small) is rewritten.
            let measured = Instant::now().saturating_duration_since(clock.warmup_end);
            let m = meta(RunStatus::Running, measured, 0, Vec::new(), None);
            let mut head = result::head(plan, agg, &m);
            slo::apply(&mut head, &plan.slos);
            let changed = result::timeseries(plan, &agg.series.take_changed(), &m);
            journal.checkpoint(&head, &changed, &result_path)?;
        }
        Ok(())
    })?;
    progress.finish();
    let outcome = engine
        .join()
        .map_err(|_| anyhow::anyhow!("the engine panicked"))??;
    let ended = Instant::now();
    agg.series.seal_all();
    write_intervals(&mut live, &mut agg, &clock, Some(ended));
    let measured = outcome
        .schedule_end
        .saturating_duration_since(clock.warmup_end);
    let status = if outcome.interrupted {
        RunStatus::Interrupted
    } else {
        RunStatus::Completed
    };

    let (all_requests, _, all_dropped) = agg.series.all_time();
    let issued = all_requests + all_dropped + outcome.cancelled;
    let ran = outcome.schedule_end - clock.epoch;
    let mut warnings: Vec<String> = health::schedule_warning(plan, issued, ran)
        .into_iter()
        .collect();
    let lag = match plan.load.model {
        LoadModel::Open { .. } if !agg.lag.is_empty() => Some(Summary::of(&agg.lag)),
        _ => None,
    };
    warnings.extend(lag.as_ref().and_then(health::lag_warning));
    let readings = readings_of(&sampler.finish());
    let steady_from = plan.load.warmup.as_secs_f64() * 1000.0;
    let (rss_trend, grew) = health::memory_trend(
        &readings,
        steady_from,
        steady_from + measured.as_secs_f64() * 1000.0,
    );
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let (mut generator, pegged) = health::generator_health(
        result::thin_readings(readings),
        threads,
        cpus,
        !warnings.is_empty(),
    );
    warnings.extend(pegged);
    generator.schedule_lag_ms = lag;
    generator.generator_errors = agg.generator_errors;
    generator.rss_trend = rss_trend;
    warnings.extend(grew);
    generator.machine = machine_load(machine_sampler.finish(), own_tree.finish());
    if let Some(w) = generator.machine.as_ref().and_then(machine::warning) {
        warnings.push(w);
    }
    if let Some(how) = crashed {
        warnings.insert(
            0,
            format!("{TARGET_EXITED} ({how}); the results cover the time before"),
        );
    }
    if plan.target.tls.insecure {
        warnings.insert(0, crate::result::INSECURE_WARNING.into());
    }
    let mut result = result::build(
        plan,
        &agg,
        &meta(status, measured, outcome.cancelled, warnings, Some(ended)),
    );
    result.generator = Some(generator);
    slo::apply(&mut result, &plan.slos);
    let judged = judge::warnings(&result, plan.warn_not_gated);
    result.warnings.extend(judged);
    Ok((result, clock))
}

/// The live `latency.hlog` of the run folder, or `None` (with a warning) if it cannot be
/// created: the log is then rendered from the result at the end.
fn live_log(plan: &Plan, dir: &Path, clock: Clock) -> Option<LiveLog> {
    let names = plan.requests.iter().map(|r| r.name.clone()).collect();
    let path = dir.join("latency.hlog");
    LiveLog::create(&path, &plan.name, clock.start_unix_ms(), names)
        .map_err(|e| eprintln!("warning: {}: {e}", path.display()))
        .ok()
}

/// Appends the seconds sealed since the last call to the live log; a write error is
/// reported once and ends the live log.
fn write_intervals(
    live: &mut Option<LiveLog>,
    agg: &mut Aggregate,
    clock: &Clock,
    ended: Option<Instant>,
) {
    let Some(log) = live else { return };
    let intervals = agg.series.take_intervals();
    let written = intervals
        .iter()
        .try_for_each(|iv| log.write(iv, result::covered_ms(clock, ended, iv.unix_s)))
        .and_then(|()| log.flush());
    if let Err(e) = written {
        eprintln!("warning: {}: {e}", log.path().display());
        *live = None;
    }
}

/// Machine-wide CPU beside the run, judged against our own process tree's.
fn machine_load(
    machine: Vec<MachineSample>,
    own: Vec<ResourceSample>,
) -> Option<crate::result::MachineLoad> {
    let readings = machine
        .iter()
        .map(|m| crate::result::MachineReading {
            t_ms: m.t_ms,
            busy_percent: m.busy_percent,
            other_percent: 0.0,
            steal_percent: m.steal_percent,
        })
        .collect();
    let mut load = machine::machine_load(readings, &readings_of(&own))?;
    load.samples = result::thin_machine(load.samples);
    Some(load)
}

/// Process samples as the result's resource readings.
fn readings_of(samples: &[ResourceSample]) -> Vec<ResourceReading> {
    samples
        .iter()
        .map(|s| ResourceReading {
            t_ms: s.t_ms,
            rss_bytes: s.rss_bytes,
            cpu_percent: s.cpu_percent,
        })
        .collect()
}
