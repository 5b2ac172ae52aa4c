//! `run`'s part in a distributed run: which instance this process is (`--instance`,
//! `--instances`, or the engine's environment), and the agreed start (`--start-at`): the
//! wait for it, the refusal to start late, and the run's clock pinned to it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cli::RunArgs;
use crate::plan::{Plan, RunIdentity, Split};
use crate::recorder::Clock;

/// Kubernetes Indexed Job: the pod's completion index.
pub(super) const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";
/// Slurm: the task's rank.
pub(super) const SLURM_PROCID: &str = "SLURM_PROCID";
/// Slurm: the number of tasks.
pub(super) const SLURM_NTASKS: &str = "SLURM_NTASKS";

/// This process's share from `--instance` (a number or `auto`) and `--instances`, reading
/// the environment through `env` for `auto`. Errors are one line, for the user.
pub(super) fn resolve(
    instance: Option<&str>,
    instances: Option<u32>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Split, String> {
    let (instance, instances) = match (instance, instances) {
        (None, None) => return Ok(Split::default()),
        (None, Some(_)) => {
            return Err(
                "`--instances` needs `--instance I` (0 ≤ I < N) or `--instance auto`".into(),
            );
        }
        (Some("auto"), instances) => auto(instances, env)?,
        (Some(text), instances) => {
            let i = number("--instance", text)?;
            let n =
                instances.ok_or("`--instance I` needs `--instances N`, the number of instances")?;
            (i, n)
        }
    };
    Split::new(instance, instances).map_err(|e| e.to_string())
}

/// `--instance auto`: Kubernetes (`JOB_COMPLETION_INDEX`, N from `--instances`) or Slurm
/// (`SLURM_PROCID` and `SLURM_NTASKS`; `--instances`, if given, must agree).
fn auto(
    instances: Option<u32>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(u32, u32), String> {
    if let Some(index) = env(K8S_INDEX) {
        let i = number(K8S_INDEX, &index)?;
        let n = instances.ok_or(
            "`--instance auto` in a Kubernetes Indexed Job needs `--instances N` (the Job's completions)",
        )?;
        return Ok((i, n));
    }
    if let Some(rank) = env(SLURM_PROCID) {
        let i = number(SLURM_PROCID, &rank)?;
        let tasks = env(SLURM_NTASKS).ok_or(
            "`--instance auto` found SLURM_PROCID but not SLURM_NTASKS; run it under `srun`",
        )?;
        let n = number(SLURM_NTASKS, &tasks)?;
        if let Some(given) = instances.filter(|&given| given != n) {
            return Err(format!(
                "`--instances {given}` disagrees with SLURM_NTASKS={n}; drop `--instances` or make them match"
            ));
        }
        return Ok((i, n));
    }
    Err(format!(
        "`--instance auto` needs {K8S_INDEX} (a Kubernetes Indexed Job) or {SLURM_PROCID} and {SLURM_NTASKS} (Slurm) in the environment; neither is set"
    ))
}

fn number(what: &str, text: &str) -> Result<u32, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{what}=`{text}` is not an instance number (0, 1, 2, …)"))
}

/// Parses `--start-at`: RFC 3339 (`2026-11-30T12:00:00Z`) or Unix milliseconds.
pub(super) fn parse_start_at(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map_err(|_| format!("`--start-at {text}`: too large for Unix milliseconds"));
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            format!(
                "`--start-at {text}` is neither RFC 3339 (2026-11-30T12:00:00Z) nor Unix milliseconds: {e}"
            )
        })
}

/// Why the run did not start at the agreed time.
#[derive(Debug, PartialEq)]
pub(super) enum NotStarted {
    /// Later than the start plus the tolerance: by this much after the start.
    TooLate(Duration),
    /// Interrupted while waiting.
    Interrupted,
}

/// Now, in Unix milliseconds (fractional).
fn now_unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// Waits until `start_ms` (Unix milliseconds), or refuses when it is already more than
/// `tolerance` past. `stopped` is polled while waiting.
pub(super) fn wait_for_start(
    start_ms: i64,
    tolerance: Duration,
    stopped: impl Fn() -> bool,
) -> Result<(), NotStarted> {
    let late_ms = now_unix_ms() - start_ms as f64;
    if late_ms > tolerance.as_secs_f64() * 1000.0 {
        return Err(NotStarted::TooLate(Duration::from_secs_f64(
            late_ms / 1000.0,
        )));
    }
    // One conversion to the monotonic clock, then sleeps against it.
    let until = Instant::now() + Duration::from_secs_f64((-late_ms).max(0.0) / 1000.0);
    loop {
        if stopped() {
            return Err(NotStarted::Interrupted);
        }
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        std::thread::sleep((until - now).min(Duration::from_millis(100)));
    }
}

/// The run's clock: pinned to `--start-at` when given (so the schedule's instants are the
/// same wall-clock instants on every instance, even one that woke a little late), else
/// starting now.
pub(super) fn clock(plan: &Plan) -> Clock {
    let Some(start_ms) = plan.identity.start_at_unix_ms else {
        return Clock::start(plan.load.warmup);
    };
    let now = Instant::now();
    let offset_ms = start_ms as f64 - now_unix_ms();
    let offset = Duration::from_secs_f64(offset_ms.abs() / 1000.0);
    let epoch = if offset_ms >= 0.0 {
        // Still before the start (the wall clock and the monotonic one may disagree by a
        // little after the wait): nothing may run before its epoch.
        std::thread::sleep(offset);
        now + offset
    } else {
        now.checked_sub(offset).unwrap_or(now)
    };
    Clock {
        epoch,
        epoch_unix_ns: i128::from(start_ms) * 1_000_000,
        warmup_end: epoch + plan.load.warmup,
    }
}

/// The split (`--instance`, `--instances`), the run's identity (`--run-id`, `--start-at`)
/// and the start tolerance, checked; `None` after printing why they cannot be used.
pub(super) fn distribution(args: &RunArgs) -> Option<(Split, RunIdentity, Duration)> {
    let checked = || -> Result<_, String> {
        let split = resolve(args.instance.as_deref(), args.instances, |k| {
            std::env::var(k).ok()
        })?;
        let start_at_unix_ms = args.start_at.as_deref().map(parse_start_at).transpose()?;
        let tolerance = crate::units::parse_duration(&args.start_tolerance)
            .map_err(|e| format!("`--start-tolerance {}`: {e}", args.start_tolerance))?;
        if split.is_split() && (args.baseline.is_some() || args.save_baseline.is_some()) {
            return Err(
                "`--baseline` and `--save-baseline` judge a whole run: with `--instances` > 1, give them to `nexus-bench merge`".into(),
            );
        }
        if let Some(id) = &args.run_id {
            if id.is_empty() || id.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(format!(
                    "`--run-id {id:?}`: use a non-empty id without spaces"
                ));
            }
        }
        Ok((
            split,
            RunIdentity {
                run_id: args.run_id.clone(),
                start_at_unix_ms,
            },
            tolerance,
        ))
    };
    match checked() {
        Ok((split, identity, tolerance)) => {
            if split.is_split() && identity.start_at_unix_ms.is_none() {
                eprintln!(
                    "warning: {}without `--start-at` the instances' schedules are not aligned{}",
                    instance_label(split),
                    if identity.run_id.is_none() {
                        ", and without it or `--run-id` each derives its own run id, which `nexus-bench merge` will not join"
                    } else {
                        ""
                    }
                );
            }
            Some((split, identity, tolerance))
        }
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

/// `instance I of N: ` for a split run, nothing otherwise.
pub(super) fn instance_label(split: Split) -> String {
    if split.is_split() {
        format!("instance {} of {}: ", split.instance(), split.instances())
    } else {
        String::new()
    }
}

/// Unix milliseconds as RFC 3339 (UTC).
pub(super) fn rfc3339(unix_ms: i64) -> String {
    crate::result::rfc3339_ms(unix_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn split(i: u32, n: u32) -> Result<Split, String> {
        Ok(Split::new(i, n).unwrap())
    }

    #[test]
    fn explicit_instances() {
        assert_eq!(resolve(None, None, env(&[])), Ok(Split::default()));
        assert_eq!(resolve(Some("2"), Some(3), env(&[])), split(2, 3));
        let e = resolve(Some("3"), Some(3), env(&[])).unwrap_err();
        assert!(e.contains("instance 3 does not exist in a run of 3"), "{e}");
        let e = resolve(Some("1"), None, env(&[])).unwrap_err();
        assert!(e.contains("needs `--instances N`"), "{e}");
        let e = resolve(None, Some(3), env(&[])).unwrap_err();
        assert!(e.contains("needs `--instance I`"), "{e}");
        let e = resolve(Some("x"), Some(3), env(&[])).unwrap_err();
        assert!(
            e.contains("--instance=`x` is not an instance number"),
            "{e}"
        );
        let e = resolve(Some("0"), Some(0), env(&[])).unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
    }

    #[test]
    fn auto_reads_kubernetes_and_slurm() {
        let k8s = [(K8S_INDEX, "1")];
        assert_eq!(resolve(Some("auto"), Some(3), env(&k8s)), split(1, 3));
        let e = resolve(Some("auto"), None, env(&k8s)).unwrap_err();
        assert!(e.contains("needs `--instances N`"), "{e}");
        let e = resolve(Some("auto"), Some(3), env(&[(K8S_INDEX, "3")])).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");

        let slurm = [(SLURM_PROCID, "2"), (SLURM_NTASKS, "4")];
        assert_eq!(resolve(Some("auto"), None, env(&slurm)), split(2, 4));
        assert_eq!(resolve(Some("auto"), Some(4), env(&slurm)), split(2, 4));
        let e = resolve(Some("auto"), Some(3), env(&slurm)).unwrap_err();
        assert!(e.contains("disagrees with SLURM_NTASKS=4"), "{e}");
        let e = resolve(Some("auto"), None, env(&[(SLURM_PROCID, "0")])).unwrap_err();
        assert!(e.contains("not SLURM_NTASKS"), "{e}");
        let e = resolve(Some("auto"), Some(2), env(&[])).unwrap_err();
        assert!(e.contains("neither is set"), "{e}");
    }

    #[test]
    fn start_at_formats() {
        assert_eq!(parse_start_at("1764504000000"), Ok(1_764_504_000_000));
        assert_eq!(
            parse_start_at("2025-11-30T12:00:00Z"),
            Ok(1_764_504_000_000)
        );
        assert_eq!(
            parse_start_at("2025-11-30T13:00:00.250+01:00"),
            Ok(1_764_504_000_250)
        );
        let e = parse_start_at("tomorrow").unwrap_err();
        assert!(e.contains("neither RFC 3339"), "{e}");
    }

    #[test]
    fn late_start_is_refused_and_a_near_one_waits() {
        let now = now_unix_ms() as i64;
        match wait_for_start(now - 5_000, Duration::from_secs(1), || false) {
            Err(NotStarted::TooLate(d)) => assert!(d >= Duration::from_secs(5), "{d:?}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            wait_for_start(now - 200, Duration::from_secs(1), || false),
            Ok(())
        );
        let begun = Instant::now();
        assert_eq!(
            wait_for_start(now_unix_ms() as i64 + 150, Duration::from_secs(1), || false),
            Ok(())
        );
        assert!(begun.elapsed() >= Duration::from_millis(140));
        assert_eq!(
            wait_for_start(now + 60_000, Duration::from_secs(1), || true),
            Err(NotStarted::Interrupted)
        );
    }

    #[test]
    fn the_clock_starts_at_the_agreed_instant() {
        let path = std::path::Path::new("scenarios/bench.toml");
        let mut plan = crate::scenario::load(path, &Default::default()).expect("valid");
        let start = now_unix_ms() as i64 - 300;
        plan.identity.start_at_unix_ms = Some(start);
        let past = clock(&plan);
        assert_eq!(past.start_unix_ms(), start);
        let since = past.epoch.elapsed();
        assert!(
            (Duration::from_millis(295)..Duration::from_secs(5)).contains(&since),
            "{since:?}"
        );
        let start = now_unix_ms() as i64 + 100;
        plan.identity.start_at_unix_ms = Some(start);
        let soon = clock(&plan);
        assert_eq!(soon.start_unix_ms(), start);
        assert!(
            Instant::now() >= soon.epoch,
            "returns at or after its epoch"
        );
    }
}
