//! `nexus-bench run`: plan → target → engine → aggregate → result.json (saved first) →
//! SLO verdicts → reports → exit code.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::Outcome;
use super::observe::Observers;
use super::progress::Progress;
use super::target::RunTarget;
use crate::analysis::{compare, health, judge, slo};
use crate::cli::RunArgs;
use crate::engine::{self, ResolvedTarget, Shared};
use crate::launch::{MachineSample, MachineSampler, ResourceSample, Sampler};
use crate::output::{self, JunitCase, OutputOptions, ReportInput, Section, comparison};
use crate::plan::{LoadModel, Plan};
use crate::recorder::{Aggregate, Clock};
use crate::result::{
    self, GeneratorHealth, ResourceReading, RunMeta, RunResult, RunStatus, Summary, Verdict,
};
use crate::scenario::{self, Overrides};

/// Start of the warning recorded when a launched target exits mid-run.
const TARGET_EXITED: &str = "the target exited during the run";

/// Open model: a p99 send lateness above this (ms) means the generator fell behind.
const LATE_MS: f64 = 50.0;

/// How often a long run checkpoints its result.json.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(10);

/// Runs `nexus-bench run`.
pub fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let overrides = Overrides {
        set: args.set.clone(),
        target: args.target.clone(),
        duration: args.duration.clone(),
    };
    let plan = match scenario::load(&args.scenario, &overrides) {
        Ok(plan) => Arc::new(plan),
        Err(errors) => {
            eprint!("{errors}");
            return Ok(Outcome::Invalid);
        }
    };
    let compare_opts = super::compare::options_over(
        super::compare::scenario_options(&plan.gate),
        args.max_regression.as_deref(),
        args.noise.as_deref(),
        args.significance,
        args.force,
    )?;
    let threads = args.threads.unwrap_or_else(default_threads).max(1);
    // Before any traffic: the generator's own limit must not become the target's failure.
    let need = crate::rlimit::estimate(&plan, threads);
    if let Err(msg) = crate::rlimit::nofile()
        .map_err(|e| e.to_string())
        .and_then(|limit| crate::rlimit::preflight(&need, limit))
    {
        eprintln!("error: {msg}");
        return Ok(Outcome::Invalid);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    // A launched target (embedded or `[target] command`) runs as a child process, so it never
    // shares the generator's runtime; dropping it on any early return kills it.
    let run_target = match rt.block_on(RunTarget::start(&plan, args.quiet)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Outcome::Invalid);
        }
    };
    let base_url = run_target.base_url.clone();
    let target = match ResolvedTarget::resolve(&base_url) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Outcome::Invalid);
        }
    };
    if let Err(e) = rt.block_on(reachable(&target, plan.target.connect_timeout)) {
        eprintln!("error: target {base_url} is unreachable: {e}");
        return Ok(Outcome::Invalid);
    }
    let dir = run_dir(&args.out, &plan.name)?;
    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(stop.clone());

    let mut run_target = run_target;
    let (observers, clock) = Observers::start(&plan, &base_url, &dir, args.profile);
    let (mut result, clock) = drive(
        &plan,
        target,
        clock,
        threads,
        &stop,
        &dir,
        args.quiet,
        &mut run_target,
    )?;
    let observed = observers.finish();
    (result.probes, result.profiles) = (observed.probes, observed.profiles);
    slo::apply(&mut result, &plan.slos);
    let target_crashed = result.warnings.iter().any(|w| w.starts_with(TARGET_EXITED));
    // The result is saved before anything else can fail, then again with what stopping the
    // target tells about its process.
    let path = dir.join("result.json");
    result::save_atomic(&result, &path)?;
    match rt.block_on(run_target.stop(&clock)) {
        Ok(Some(process)) => {
            result.target_process = Some(process);
            slo::apply(&mut result, &plan.slos);
            result::save_atomic(&result, &path)?;
        }
        Ok(None) => {}
        Err(e) => eprintln!("warning: stopping the target: {e}"),
    }

    let mut gate_failed = result.verdict == Verdict::Fail;
    let mut invalid = result.verdict == Verdict::Unjudgeable;
    let mut sections = Vec::new();
    if let Some(name) = &args.baseline {
        match compare::load_baseline(name, &plan.name) {
            Err(e) => {
                eprintln!("error: baseline `{name}`: {e}");
                invalid = true;
            }
            Ok((base_path, base)) => match compare::compare(&base, &result, &compare_opts) {
                Err(e) => {
                    eprintln!("error: cannot compare with {}: {e}", base_path.display());
                    invalid = true;
                }
                Ok(c) => {
                    if !args.quiet {
                        eprintln!(
                            "{}",
                            comparison::render_terminal(&c, super::color_enabled())
                        );
                    }
                    gate_failed |= c.regressed();
                    // An inconclusive gate is not a pass.
                    invalid |= !c.regressed() && c.inconclusive();
                    sections.push(comparison_section(&c, &base, &result));
                }
            },
        }
    }
    let input = ReportInput {
        result: &result,
        sections: &sections,
    };
    let opts = OutputOptions {
        html: !args.no_html,
        extra: !args.no_extra_outputs,
    };
    for (file, outcome) in output::write_all(&input, &dir, &opts) {
        if let Err(e) = outcome {
            eprintln!("warning: {}: {e}", file.display());
        }
    }
    if let Some(name) = &args.save_baseline {
        let saved = compare::save_baseline(&result, name)?;
        if !args.quiet {
            eprintln!("baseline saved: {}", saved.display());
        }
    }
    if !args.quiet {
        eprintln!(
            "{}",
            output::terminal_summary(&result, super::color_enabled())
        );
        eprintln!("report: {}", dir.join("report.html").display());
    }
    if args.summary.as_deref() == Some("json") {
        println!("{}", summary_line(&result));
    }
    Ok(
        if result.status == RunStatus::Interrupted && !target_crashed {
            Outcome::Interrupted
        } else if invalid || target_crashed {
            Outcome::Invalid
        } else if gate_failed {
            Outcome::GateFailed
        } else {
            Outcome::Pass
        },
    )
}

/// The baseline comparison as a report section (HTML, Markdown, one JUnit case per metric).
fn comparison_section(c: &compare::Comparison, base: &RunResult, current: &RunResult) -> Section {
    Section {
        id: "baseline".into(),
        title: "Baseline comparison".into(),
        html: comparison::render_html(c, base, current),
        markdown: comparison::render_markdown(c),
        junit: comparison::junit_cases(c)
            .into_iter()
            .map(|(name, failure)| JunitCase {
                name,
                failure,
                details: String::new(),
            })
            .collect(),
    }
}

/// Runs the engine, aggregating windows, showing progress and checkpointing; returns the
/// judged result.
#[allow(clippy::too_many_arguments)]
fn drive(
    plan: &Arc<Plan>,
    target: ResolvedTarget,
    clock: Clock,
    threads: usize,
    stop: &Arc<AtomicBool>,
    dir: &Path,
    quiet: bool,
    run_target: &mut RunTarget,
) -> anyhow::Result<(RunResult, Clock)> {
    let sampler = Sampler::start_single(std::process::id(), Duration::from_millis(100));
    // The machine beside the run, and our own tree (generator + launched target) to
    // subtract from it.
    let machine = MachineSampler::start(Duration::from_millis(100));
    let own_tree = Sampler::start(std::process::id(), Duration::from_millis(100));
    let (tx, rx) = std::sync::mpsc::channel();
    let shared = Arc::new(Shared::new(plan.clone(), target));
    let engine_stop = stop.clone();
    let engine = std::thread::Builder::new()
        .name("nexus-engine".into())
        .spawn(move || engine::run(shared, threads, clock, engine_stop, tx))?;

    let total = plan.load.profile.duration();
    let mut agg = Aggregate::new(plan.requests.len());
    let mut progress = Progress::new(quiet, total);
    let mut last_checkpoint = Instant::now();
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
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(window) => agg.add(window),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let elapsed = clock.epoch.elapsed();
        progress.update(&agg, elapsed.min(total));
        if crashed.is_none() {
            crashed = run_target.crashed();
            if let Some(how) = &crashed {
                eprintln!(
                    "error: the target exited during the run ({how}); stopping and saving what was measured"
                );
                stop.store(true, Ordering::SeqCst);
            }
        }
        if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            last_checkpoint = Instant::now();
            let measured = Instant::now().saturating_duration_since(clock.warmup_end);
            let mut partial = result::build(
                plan,
                &agg,
                &meta(RunStatus::Running, measured, 0, Vec::new(), None),
            );
            slo::apply(&mut partial, &plan.slos);
            result::save_atomic(&partial, &dir.join("result.json"))?;
        }
    }
    progress.finish();
    let outcome = engine
        .join()
        .map_err(|_| anyhow::anyhow!("the engine panicked"))??;
    let ended = Instant::now();
    let measured = outcome
        .schedule_end
        .saturating_duration_since(clock.warmup_end);
    let status = if outcome.interrupted {
        RunStatus::Interrupted
    } else {
        RunStatus::Completed
    };
    let mut warnings = schedule_warnings(
        plan,
        &agg,
        outcome.cancelled,
        outcome.schedule_end - clock.epoch,
    );
    let lag = match plan.load.model {
        LoadModel::Open { .. } if !agg.lag.is_empty() => Some(Summary::of(&agg.lag)),
        _ => None,
    };
    if let Some(lag) = lag.as_ref().filter(|l| l.p99 > LATE_MS) {
        warnings.push(format!(
            "the generator sent requests late: p99 {} behind their intended start (latencies count from the intended start, so they include this)",
            crate::units::format_ms(lag.p99)
        ));
    }
    let mut generator = generator_health(
        sampler.finish(),
        threads,
        !warnings.is_empty(),
        &mut warnings,
    );
    generator.schedule_lag_ms = lag;
    generator.generator_errors = agg.generator_errors;
    generator.machine = machine_load(machine.finish(), own_tree.finish());
    if let Some(w) = generator.machine.as_ref().and_then(health::warning) {
        warnings.push(w);
    }
    if let Some(how) = crashed {
        warnings.insert(
            0,
            format!("{TARGET_EXITED} ({how}); the results cover the time before"),
        );
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
    let own: Vec<ResourceReading> = own
        .iter()
        .map(|s| ResourceReading {
            t_ms: s.t_ms,
            rss_bytes: s.rss_bytes,
            cpu_percent: s.cpu_percent,
        })
        .collect();
    health::machine_load(readings, &own)
}

/// The generator's own CPU use. It was saturated when it fell behind an open-model
/// schedule, or when its CPU was pegged (then latencies include its own queueing).
fn generator_health(
    samples: Vec<ResourceSample>,
    threads: usize,
    behind: bool,
    warnings: &mut Vec<String>,
) -> GeneratorHealth {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mean = if samples.is_empty() {
        0.0
    } else {
        samples.iter().map(|s| s.cpu_percent).sum::<f64>() / samples.len() as f64
    };
    let max = samples.iter().map(|s| s.cpu_percent).fold(0.0, f64::max);
    // Pegged: 90 % of the cores its worker threads can use.
    let capacity = (threads.min(cpus) as f64) * 100.0;
    let pegged = mean >= 0.9 * capacity;
    if pegged && !behind {
        warnings.push(format!(
            "the generator's CPU was pegged ({mean:.0}% of one core on average with {threads} worker thread(s)): latencies include its own queueing; run with more --threads or less load"
        ));
    }
    GeneratorHealth {
        cpu_mean_percent: mean,
        cpu_max_percent: max,
        cpus,
        schedule_lag_ms: None,
        saturated: behind || pegged,
        samples: samples
            .iter()
            .map(|s| ResourceReading {
                t_ms: s.t_ms,
                rss_bytes: s.rss_bytes,
                cpu_percent: s.cpu_percent,
            })
            .collect(),
        generator_errors: 0,
        machine: None,
    }
}

/// Open model: warns when fewer arrivals were issued than the schedule asked for, because
/// then the result measures the generator, not the target.
fn schedule_warnings(plan: &Plan, agg: &Aggregate, cancelled: u64, ran: Duration) -> Vec<String> {
    let mut warnings = Vec::new();
    if let LoadModel::Open { .. } = plan.load.model {
        let scheduled = plan
            .load
            .profile
            .integral(ran.min(plan.load.profile.duration()));
        let issued: u64 = agg
            .seconds
            .values()
            .map(|s| s.requests() + s.dropped)
            .sum::<u64>()
            + cancelled;
        // Flows issue several requests per arrival; compare only plain-request plans.
        let flows = plan
            .mix
            .iter()
            .any(|m| matches!(m.run, crate::plan::MixRun::Flow { .. }));
        if !flows && scheduled > 100.0 && (issued as f64) < scheduled * 0.95 {
            warnings.push(format!(
                "the generator fell behind its schedule: {issued} of {scheduled:.0} scheduled arrivals were issued ({:.1}%); the numbers describe the generator's limits, not the target's",
                issued as f64 * 100.0 / scheduled
            ));
        }
    }
    warnings
}

/// The one-line JSON summary for `--summary json` (also read by the side-by-side harness).
fn summary_line(r: &RunResult) -> String {
    let o = &r.overall;
    serde_json::json!({
        "rps": r.totals.throughput_per_sec,
        "requests": r.totals.requests,
        "errors": r.totals.errors,
        "dropped": r.totals.dropped,
        "p50_us": o.latency_ms.p50 * 1000.0,
        "p99_us": o.latency_ms.p99 * 1000.0,
        "mean_us": o.latency_ms.mean * 1000.0,
        "verdict": r.verdict,
    })
    .to_string()
}

/// Half the CPUs (at least one): a local target keeps its share of the machine.
fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() / 2)
        .unwrap_or(1)
        .max(1)
}

async fn reachable(target: &ResolvedTarget, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(target.addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no connection within {timeout:?}")),
    }
}

/// A new, unique run folder: `<out>/<scenario>/<UTC time>[-N]/`.
fn run_dir(out: &Path, scenario: &str) -> anyhow::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let parent = out.join(scenario);
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    for n in 1.. {
        let dir = if n == 1 {
            parent.join(&stamp)
        } else {
            parent.join(format!("{stamp}-{n}"))
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    unreachable!("the loop returns")
}

/// First SIGINT/SIGTERM: stop gracefully (drain, save). Second: exit at once with 130.
fn watch_signals(stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
                return;
            };
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                if stop.swap(true, Ordering::SeqCst) {
                    std::process::exit(130);
                }
                eprintln!("\ninterrupted: finishing in-flight requests and saving results (again to quit at once)");
            }
        });
    });
}
