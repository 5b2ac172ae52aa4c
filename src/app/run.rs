//! `nexus-bench run`: plan → target → engine → aggregate → result.json (saved first) →
//! SLO verdicts → reports → exit code.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;

use super::Outcome;
use super::drive::{Drive, TARGET_EXITED, drive};
use super::observe::Observers;
use super::split::{self, NotStarted, instance_label, rfc3339};
use super::target::RunTarget;
use crate::analysis::slo;
use crate::cli::RunArgs;
use crate::engine::ResolvedTarget;
use crate::output::{self, OutputOptions, ReportInput};
use crate::result::{self, RunResult, RunStatus, Verdict};
use crate::scenario::{self, Overrides};

/// Runs `nexus-bench run`.
pub fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let overrides = Overrides {
        set: args.set.clone(),
        target: args.target.clone(),
        duration: args.duration.clone(),
    };
    let Some((split, identity, tolerance)) = split::distribution(&args) else {
        return Ok(Outcome::Invalid);
    };
    let loaded = match (&args.scenario, &args.adhoc.url) {
        (Some(path), _) => scenario::load(path, &overrides),
        (None, Some(url)) => {
            let text = adhoc_scenario(&args, url)?;
            if args.adhoc.print_scenario {
                print!("{text}");
                return Ok(Outcome::Pass);
            }
            let overrides = Overrides {
                duration: None,
                ..overrides
            };
            scenario::load_str(&text, Path::new("--url"), &overrides, &|name| {
                std::env::var(name).ok()
            })
        }
        (None, None) => anyhow::bail!("give a scenario file or --url"),
    };
    let plan = match loaded {
        Ok(mut plan) => {
            plan.target.tls.insecure |= args.insecure;
            plan.split = split;
            plan.identity = identity;
            Arc::new(plan)
        }
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
    // A named baseline that does not exist fails now, not after the run.
    let baselines = args
        .baselines
        .clone()
        .unwrap_or_else(|| args.out.join("baselines"));
    let baseline = match &args.baseline {
        Some(name) => match super::baseline::load(name, &plan.name, &baselines) {
            Some(found) => Some(found),
            None => return Ok(Outcome::Invalid),
        },
        None => None,
    };
    let threads = args.threads.unwrap_or_else(default_threads);
    // Before any traffic: the generator's own limit must not become the target's failure.
    let need = crate::rlimit::estimate(&plan, threads);
    if let Err(msg) = crate::rlimit::nofile()
        .map_err(|e| e.to_string())
        .and_then(|limit| crate::rlimit::preflight(&need, limit).map_err(|e| e.to_string()))
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
    let target = match ResolvedTarget::resolve(&base_url, &plan, &run_target.trusted_ca) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Outcome::Invalid);
        }
    };
    // Probes and profile fetches of an https:// target trust what the load trusts.
    crate::fetch::set_tls(target.tls_clients.http1_config());
    if let Err(e) = rt.block_on(reachable(&target, plan.target.connect_timeout)) {
        eprintln!("error: target {base_url} is unreachable: {e}");
        return Ok(Outcome::Invalid);
    }
    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(stop.clone());
    if let Some(start_ms) = plan.identity.start_at_unix_ms {
        if !args.quiet {
            eprintln!(
                "{}waiting to start at {}",
                instance_label(split),
                rfc3339(start_ms)
            );
        }
        match split::wait_for_start(start_ms, tolerance, || stop.load(Ordering::Relaxed)) {
            Ok(()) => {}
            Err(NotStarted::TooLate(late)) => {
                eprintln!(
                    "error: too late to start: {} past --start-at {} (tolerance {}); no load was sent",
                    crate::units::format_duration(late),
                    rfc3339(start_ms),
                    crate::units::format_duration(tolerance)
                );
                return Ok(Outcome::TooLate);
            }
            Err(NotStarted::Interrupted) => {
                eprintln!("interrupted before the start; no load was sent");
                return Ok(Outcome::Interrupted);
            }
        }
    }
    let dir = run_dir(&args.out, &plan.name)?;

    let mut run_target = run_target;
    let (observers, clock) = Observers::start(&plan, &base_url, &dir, args.profile);
    let labels =
        crate::export::RunLabels {
            scenario: plan.name.clone(),
            run_id: plan.identity.run_id.clone().unwrap_or_else(|| {
                result::derived_run_id(&plan.source.sha256, clock.start_unix_ms())
            }),
            instance: plan.split.instance(),
        };
    let mut exporters =
        crate::export::Exporters::start(&args.export, &labels).context("starting --export")?;
    let (mut result, clock) = drive(Drive {
        plan: &plan,
        target,
        clock,
        threads,
        stop: &stop,
        dir: &dir,
        quiet: args.quiet,
        run_target: &mut run_target,
        live_hlog: !args.no_extra_outputs,
        exporters: &mut exporters,
    })?;
    let observed = observers.finish();
    (result.probes, result.profiles) = (observed.probes, observed.profiles);
    // The exporters' last values are the result's totals; a receiver that was down is a
    // warning of the run.
    result.warnings.extend(exporters.finish(&result));
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
    // An SLO that could not be judged (a slope over too short a steady state) is no pass.
    let mut invalid = matches!(result.verdict, Verdict::Unjudgeable | Verdict::Inconclusive);
    let mut sections = Vec::new();
    let mut baseline_outcome = None;
    if let Some(base) = &baseline {
        let b = super::baseline::gate(base, &result, &dir, &compare_opts, args.quiet);
        gate_failed |= b.regressed;
        invalid |= b.invalid;
        sections = b.sections;
        baseline_outcome = Some(b.outcome);
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
        let saved = result::save_baseline(&result, name, &baselines)?;
        if let Some(p) = super::profile_diff::save_baseline_profile(&dir, &result, &saved)? {
            if !args.quiet {
                eprintln!("baseline profile saved: {}", p.display());
            }
        }
        if !args.quiet {
            eprintln!("baseline saved: {}", saved.display());
        }
    }
    if args.quiet {
        eprintln!(
            "{}",
            output::format::verdict_line(&result, baseline_outcome, &dir)
        );
    } else {
        eprintln!(
            "{}",
            output::terminal_summary(&result, super::color_enabled())
        );
        eprintln!("report: {}", dir.join("report.html").display());
    }
    if args.summary.as_deref() == Some("json") {
        println!("{}", summary_line(&result, &dir, baseline_outcome));
    }
    if args.emit_result {
        result::emit_frames(&result, &mut std::io::stdout().lock()).context("--emit-result")?;
    }
    if split.is_split() {
        // An instance's SLOs judge its share only: the run's gate is the merge of all.
        if !args.quiet {
            eprintln!(
                "{}SLO verdicts above describe this share only and do not set the exit code; the gate of run `{}` is `nexus-bench merge` over all {} results",
                instance_label(split),
                result.run_id.as_deref().unwrap_or("?"),
                split.instances()
            );
        }
        return Ok(
            if result.status == RunStatus::Interrupted && !target_crashed {
                Outcome::Interrupted
            } else if target_crashed {
                Outcome::Invalid
            } else {
                Outcome::Pass
            },
        );
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

/// The scenario text `run --url …` stands for.
fn adhoc_scenario(args: &RunArgs, url: &str) -> anyhow::Result<String> {
    let a = &args.adhoc;
    let adhoc = scenario::AdHoc {
        url: url.into(),
        users: a.users,
        rate: a.rate.clone(),
        duration: args.duration.clone().unwrap_or_else(|| "10s".into()),
        method: a.method.clone(),
        headers: a.headers.clone(),
        body: a.body.clone(),
        slos: a.slo.clone(),
    };
    Ok(adhoc.to_toml()?)
}

/// The one-line JSON summary for `--summary json` (also read by the side-by-side harness):
/// throughput, counts, overall latency percentiles in µs, the verdict, the run folder, and
/// every SLO that did not hold with its observed value.
fn summary_line(r: &RunResult, dir: &Path, baseline: Option<&str>) -> String {
    let o = &r.overall.latency_ms;
    let us = |ms: f64| ms * 1000.0;
    let failed: Vec<_> = r
        .slos
        .iter()
        .filter(|s| !s.pass)
        .map(|s| {
            serde_json::json!({
                "key": s.key,
                "observed": s.observed,
                "op": s.op,
                "limit": s.limit,
                "unit": s.unit,
                "inconclusive": s.inconclusive,
            })
        })
        .collect();
    serde_json::json!({
        "scenario": r.scenario.name,
        "rps": r.totals.throughput_per_sec,
        "requests": r.totals.requests,
        "errors": r.totals.errors,
        "dropped": r.totals.dropped,
        "cancelled": r.totals.cancelled,
        "p50_us": us(o.p50),
        "p90_us": us(o.p90),
        "p95_us": us(o.p95),
        "p99_us": us(o.p99),
        "max_us": us(o.max),
        "mean_us": us(o.mean),
        "verdict": r.verdict,
        "baseline": baseline,
        "failed_slos": failed,
        "dir": dir,
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
