//! `nexus-bench run`: plan → target → engine → aggregate → result.json (saved first) →
//! SLO verdicts → reports → exit code.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::Outcome;
use super::progress::Progress;
use crate::analysis::slo;
use crate::cli::RunArgs;
use crate::engine::{self, ResolvedTarget, Shared};
use crate::plan::{LoadModel, Plan, TargetBase};
use crate::recorder::{Aggregate, Clock};
use crate::result::{self, RunMeta, RunResult, RunStatus, Verdict};
use crate::scenario::{self, Overrides};

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
    let threads = args.threads.unwrap_or_else(default_threads).max(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let base_url = match &plan.target.base {
        TargetBase::Url(url) => url.clone(),
        TargetBase::Embedded { .. } => anyhow::bail!("embedded targets are not available yet"),
    };
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

    let result = drive(&plan, target, threads, &stop, &dir, args.quiet)?;
    let path = dir.join("result.json");
    result::save_atomic(&result, &path)?;

    if !args.quiet {
        eprintln!(
            "{}",
            crate::output::terminal_summary(&result, super::color_enabled())
        );
        eprintln!("result: {}", path.display());
    }
    if args.summary.as_deref() == Some("json") {
        println!("{}", summary_line(&result));
    }
    Ok(if result.status == RunStatus::Interrupted {
        Outcome::Interrupted
    } else if result.verdict == Verdict::Fail {
        Outcome::GateFailed
    } else {
        Outcome::Pass
    })
}

/// Runs the engine, aggregating windows, showing progress and checkpointing; returns the
/// judged result.
fn drive(
    plan: &Arc<Plan>,
    target: ResolvedTarget,
    threads: usize,
    stop: &Arc<AtomicBool>,
    dir: &Path,
    quiet: bool,
) -> anyhow::Result<RunResult> {
    let clock = Clock::start(plan.load.warmup);
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
    let meta = |status, measured, cancelled, warnings| RunMeta {
        clock,
        measured,
        status,
        threads,
        cancelled,
        warnings,
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(window) => agg.add(window),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let elapsed = clock.epoch.elapsed();
        progress.update(&agg, elapsed.min(total));
        if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            last_checkpoint = Instant::now();
            let measured = Instant::now().saturating_duration_since(clock.warmup_end);
            let mut partial = result::build(
                plan,
                &agg,
                &meta(RunStatus::Running, measured, 0, Vec::new()),
            );
            slo::apply(&mut partial, &plan.slos);
            result::save_atomic(&partial, &dir.join("result.json"))?;
        }
    }
    progress.finish();
    let outcome = engine
        .join()
        .map_err(|_| anyhow::anyhow!("the engine panicked"))??;
    let measured = outcome
        .schedule_end
        .saturating_duration_since(clock.warmup_end);
    let status = if outcome.interrupted {
        RunStatus::Interrupted
    } else {
        RunStatus::Completed
    };
    let warnings = schedule_warnings(
        plan,
        &agg,
        outcome.cancelled,
        outcome.schedule_end - clock.epoch,
    );
    let mut result = result::build(
        plan,
        &agg,
        &meta(status, measured, outcome.cancelled, warnings),
    );
    slo::apply(&mut result, &plan.slos);
    Ok(result)
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
