//! Starting and watching a target process (Linux): spawn it in its own process group, wait
//! until it answers HTTP, sample the resources of its whole process tree from `/proc`, detect
//! a crash mid-run, and stop it (SIGTERM, a grace period, then SIGKILL).
//!
//! A side room: it depends on nothing else in the crate. `app` builds a [`LaunchSpec`] (for
//! `embedded:<api>` targets with [`embedded`]), calls [`Launched::start`], points the run at
//! [`Launched::base_url`] and puts the [`ProcessReport`] of [`Launched::stop`] in the result.
//!
//! No child outlives nexus-bench: dropping a [`Launched`] that was not stopped SIGKILLs its
//! process group, and the child carries `PR_SET_PDEATHSIG=SIGTERM` in case nexus-bench itself
//! is killed.

mod machine;
mod process;
mod sample;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use machine::{CpuTimes, MachineSample, MachineSampler};
pub use process::Launched;
pub use sample::{ProcessReport, ResourceSample, Sampler};

/// What to run and how to tell that it is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchSpec {
    /// Program and arguments; `command[0]` is looked up in `PATH` if it has no `/`.
    pub command: Vec<String>,
    /// Extra environment variables (the rest of the environment is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory, or the current one.
    pub cwd: Option<PathBuf>,
    /// When the process counts as ready.
    pub ready: Ready,
    /// How long the process may take to become ready before it is killed.
    pub startup_timeout: Duration,
    /// How long [`Launched::stop`] waits after SIGTERM before it sends SIGKILL.
    pub grace: Duration,
}

/// When a launched process counts as ready. Only plain `http://` URLs are supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// Poll `GET` on this URL until it answers 2xx.
    Url(String),
    /// The first stdout line that is an `http://` URL (e.g. `http://127.0.0.1:43521`) is the
    /// base URL; then poll `GET base + health_path` until it answers 2xx.
    StdoutAddress {
        /// Path of the health check, e.g. `/healthz`.
        health_path: String,
    },
}

/// Why a target could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The spec has no program to run.
    #[error("the launch command is empty")]
    EmptyCommand,
    /// The program could not be started at all.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program that was run.
        program: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The process exited before it became ready.
    #[error("`{program}` exited before it was ready ({status}){}", stderr_tail(.stderr))]
    EarlyExit {
        /// The program that was run.
        program: String,
        /// Its exit status, e.g. `exit status: 3` or `signal: 9 (SIGKILL)`.
        status: String,
        /// Its last stderr lines.
        stderr: Vec<String>,
    },
    /// The process did not become ready in time and was killed.
    #[error(
        "`{program}` was not ready after {}: {waiting_for}; it was killed{}",
        crate::units::format_duration(*.after),
        stderr_tail(.stderr)
    )]
    Timeout {
        /// The program that was run.
        program: String,
        /// The startup timeout.
        after: Duration,
        /// What was still missing, e.g. the last health check's outcome.
        waiting_for: String,
        /// Its last stderr lines.
        stderr: Vec<String>,
    },
    /// Waiting for or signalling the process failed.
    #[error("cannot control process {pid}: {source}")]
    Control {
        /// The process id.
        pid: u32,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Formats the stderr lines kept for an error message, or nothing if there are none.
fn stderr_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return "; it wrote nothing to stderr".to_string();
    }
    let mut text = String::from("; last stderr lines:");
    for line in lines {
        text.push_str("\n  ");
        text.push_str(line);
    }
    text
}

/// The spec for nexus-bench's own reference target:
/// `EXE serve --api API --addr 127.0.0.1:0 EXTRA…`, ready when the address it prints first
/// answers `GET /healthz` with 2xx; 10 s to start, 3 s of grace to stop.
pub fn embedded(exe: &Path, api: &str, extra_args: &[String]) -> LaunchSpec {
    let mut command = vec![
        exe.to_string_lossy().into_owned(),
        "serve".to_string(),
        "--api".to_string(),
        api.to_string(),
        "--addr".to_string(),
        "127.0.0.1:0".to_string(),
    ];
    command.extend(extra_args.iter().cloned());
    LaunchSpec {
        command,
        env: Vec::new(),
        cwd: None,
        ready: Ready::StdoutAddress {
            health_path: "/healthz".to_string(),
        },
        startup_timeout: Duration::from_secs(10),
        grace: Duration::from_secs(3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_spec_runs_serve_on_a_free_loopback_port() {
        let extra = vec!["--latency".to_string(), "2ms".to_string()];
        let spec = embedded(Path::new("/opt/nexus-bench"), "cache", &extra);
        assert_eq!(
            spec.command,
            [
                "/opt/nexus-bench",
                "serve",
                "--api",
                "cache",
                "--addr",
                "127.0.0.1:0",
                "--latency",
                "2ms"
            ]
        );
        assert_eq!(
            spec.ready,
            Ready::StdoutAddress {
                health_path: "/healthz".into()
            }
        );
        assert_eq!(spec.startup_timeout, Duration::from_secs(10));
        assert_eq!(spec.grace, Duration::from_secs(3));
        assert!(spec.env.is_empty() && spec.cwd.is_none());
    }

    #[test]
    fn errors_show_exit_status_and_stderr() {
        let err = LaunchError::EarlyExit {
            program: "srv".into(),
            status: "exit status: 3".into(),
            stderr: vec!["bind: address in use".into()],
        };
        let text = err.to_string();
        assert!(text.contains("exit status: 3"), "{text}");
        assert!(text.contains("bind: address in use"), "{text}");
    }
}
