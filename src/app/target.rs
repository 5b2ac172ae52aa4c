//! Starting and stopping the run's target when nexus-bench launches it — the embedded
//! reference server or a scenario's `[target] command` — and turning what was measured about
//! its process into the result's `target_process`.

use std::time::{Duration, Instant};

use crate::launch::{self, LaunchSpec, Launched, Ready};
use crate::plan::{Plan, TargetBase};
use crate::recorder::Clock;
use crate::result::{ResourceReading, TargetProcess};
use crate::units::format_duration;

/// Readings of the target's resources per second (about ten).
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// The target of a run: its base URL and, when nexus-bench started it, the process.
pub struct RunTarget {
    /// Base URL the load goes to.
    pub base_url: String,
    /// Certificates trusted for this target beside the plan's roots (the embedded
    /// target's generated CA under `--tls`).
    pub trusted_ca: Vec<rustls::pki_types::CertificateDer<'static>>,
    launched: Option<(Launched, Vec<String>, Instant)>,
}

impl RunTarget {
    /// Starts the target if the plan says how (embedded or `command`); otherwise uses the
    /// base URL as it is. Errors are messages for the user.
    pub async fn start(plan: &Plan, quiet: bool) -> anyhow::Result<RunTarget> {
        let mut trusted_ca = Vec::new();
        let mut identity_files = None;
        let spec = match (&plan.target.base, &plan.launch) {
            (TargetBase::Embedded { api, args }, _) => {
                let exe = std::env::current_exe()
                    .map_err(|e| anyhow::anyhow!("locating the nexus-bench executable: {e}"))?;
                let mut args = args.clone();
                if plan.heap_profile.is_some() && !args.iter().any(|a| a == "--heap-profiling") {
                    args.push("--heap-profiling".into());
                }
                if args.iter().any(|a| a == "--tls") && !args.iter().any(|a| a == "--tls-cert") {
                    let (ca, extra, files) =
                        super::embedded_tls::identity(plan).map_err(anyhow::Error::msg)?;
                    trusted_ca.push(ca);
                    args.retain(|a| a != "--tls");
                    args.extend(extra);
                    identity_files = Some(files);
                }
                launch::embedded(&exe, api, &args)
            }
            (TargetBase::Url(_), Some(l)) => LaunchSpec {
                command: l.command.clone(),
                env: l.env.clone(),
                cwd: l.cwd.clone(),
                ready: Ready::Url(l.ready.clone()),
                startup_timeout: l.startup_timeout,
                grace: Duration::from_secs(3),
            },
            (TargetBase::Url(url), None) => {
                return Ok(RunTarget {
                    base_url: url.clone(),
                    trusted_ca,
                    launched: None,
                });
            }
        };
        let command = spec.command.clone();
        let mut launched = Launched::start(spec)
            .await
            .map_err(|e| anyhow::anyhow!("the target did not start: {e}"))?;
        // The child has read its certificate and key.
        drop(identity_files);
        let base_url = match (&plan.target.base, launched.base_url()) {
            (TargetBase::Url(url), _) => url.clone(),
            (TargetBase::Embedded { .. }, Some(url)) => url.to_string(),
            (TargetBase::Embedded { .. }, None) => {
                anyhow::bail!("the embedded target printed no address");
            }
        };
        if !quiet {
            let what = match &plan.target.base {
                TargetBase::Embedded { api, .. } => format!("embedded {api} target at {base_url}"),
                TargetBase::Url(_) => format!("target {base_url}"),
            };
            eprintln!(
                "{what} started (ready in {})",
                format_duration(launched.time_to_ready())
            );
        }
        let sampling_since = Instant::now();
        launched.start_sampling(SAMPLE_EVERY);
        Ok(RunTarget {
            base_url,
            trusted_ca,
            launched: Some((launched, command, sampling_since)),
        })
    }

    /// Whether a launched target has exited on its own (a crash mid-run), and how.
    pub fn crashed(&mut self) -> Option<String> {
        let (l, _, _) = self.launched.as_mut()?;
        l.exited().map(|status| status.to_string())
    }

    /// Stops a launched target gracefully and reports its process, with readings on the
    /// run's clock.
    pub async fn stop(self, clock: &Clock) -> anyhow::Result<Option<TargetProcess>> {
        let Some((launched, command, sampling_since)) = self.launched else {
            return Ok(None);
        };
        let report = launched.stop().await?;
        let offset_ms = signed_ms(sampling_since, clock.epoch);
        Ok(Some(TargetProcess {
            command,
            startup_ms: report.time_to_ready.as_secs_f64() * 1000.0,
            rss_max_bytes: report.rss_max_bytes,
            cpu_mean_percent: report.cpu_mean_percent,
            exe_size_bytes: report.exe_size_bytes,
            exit: report.exit,
            samples: crate::result::thin_readings(
                report
                    .samples
                    .iter()
                    .map(|s| ResourceReading {
                        t_ms: s.t_ms + offset_ms,
                        rss_bytes: s.rss_bytes,
                        cpu_percent: s.cpu_percent,
                    })
                    .collect(),
            ),
        }))
    }
}

/// `a - b` in milliseconds, negative when `a` is earlier.
pub fn signed_ms(a: Instant, b: Instant) -> f64 {
    match a.checked_duration_since(b) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(b - a).as_secs_f64() * 1000.0,
    }
}
