//! The launched child: spawn, readiness, crash detection, stop, and kill-on-drop.

use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::sample::{ProcessReport, Sampler};
use super::{LaunchError, LaunchSpec, Ready};
use crate::fetch::GetError;

/// How many stderr lines are kept for error messages.
const STDERR_LINES: usize = 50;
/// Longer stderr lines are cut to this many bytes.
const STDERR_LINE_MAX: usize = 400;
/// Pause between two readiness checks.
const POLL_EVERY: Duration = Duration::from_millis(20);
/// Time one readiness check may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a killed process may take to be reaped before we stop waiting.
const REAP_TIMEOUT: Duration = Duration::from_secs(2);

type StderrTail = Arc<Mutex<VecDeque<String>>>;

/// A running target process in its own process group.
///
/// Stop it with [`Launched::stop`]. Dropping it unstopped SIGKILLs the whole process group
/// at once, so no child survives an error path or a panic.
#[derive(Debug)]
pub struct Launched {
    child: Child,
    pid: u32,
    program: String,
    base_url: Option<String>,
    time_to_ready: Duration,
    grace: Duration,
    exe_size_bytes: Option<u64>,
    stderr: StderrTail,
    stderr_task: Option<JoinHandle<()>>,
    sampler: Option<SamplerSlot>,
    exit: Option<ExitStatus>,
    /// Set once the process group has been dealt with; `Drop` then has nothing to do.
    finished: bool,
}

/// Wrapper so `Launched` can derive `Debug`.
struct SamplerSlot(Sampler);

impl std::fmt::Debug for SamplerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sampler")
    }
}

/// How the startup race ended.
enum Startup {
    Ready(Option<String>),
    Exited(std::io::Result<ExitStatus>),
    TimedOut,
}

impl Launched {
    /// Spawns the process and waits until it is ready, measuring the time that took.
    ///
    /// If it exits first, or is not ready within `startup_timeout`, it is killed and the
    /// error names its exit status and last stderr lines. Call this from a runtime worker
    /// thread (not `spawn_blocking`): the child's parent-death signal is tied to the thread
    /// that spawned it.
    pub async fn start(spec: LaunchSpec) -> Result<Launched, LaunchError> {
        let program = spec
            .command
            .first()
            .ok_or(LaunchError::EmptyCommand)?
            .clone();
        let mut command = Command::new(&program);
        command
            .args(&spec.command[1..])
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(cwd) = &spec.cwd {
            command.current_dir(cwd);
        }
        let parent = std::process::id();
        // SAFETY: the closure runs in the forked child before exec and only makes
        // async-signal-safe calls (prctl, getppid); it allocates nothing.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() as u32 != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
        let spawned_at = Instant::now();
        let mut child = command.spawn().map_err(|source| LaunchError::Spawn {
            program: program.clone(),
            source,
        })?;
        let pid = child.id().unwrap_or(0);
        let (address_tx, address_rx) = oneshot::channel();
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(drain_stdout(stdout, address_tx));
        }
        let stderr: StderrTail = Arc::default();
        let stderr_task = child
            .stderr
            .take()
            .map(|pipe| tokio::spawn(drain_stderr(pipe, Arc::clone(&stderr))));
        // From here on, dropping `launched` kills the process group.
        let mut launched = Launched {
            child,
            pid,
            program,
            base_url: None,
            time_to_ready: Duration::ZERO,
            grace: spec.grace,
            exe_size_bytes: std::fs::metadata(format!("/proc/{pid}/exe"))
                .ok()
                .map(|m| m.len()),
            stderr,
            stderr_task,
            sampler: None,
            exit: None,
            finished: false,
        };

        let progress = Mutex::new(String::from("not started"));
        let startup = tokio::select! {
            status = launched.child.wait() => Startup::Exited(status),
            _ = tokio::time::sleep(spec.startup_timeout) => Startup::TimedOut,
            base = wait_ready(&spec.ready, address_rx, &progress) => Startup::Ready(base),
        };
        match startup {
            Startup::Ready(base_url) => {
                launched.time_to_ready = spawned_at.elapsed();
                launched.base_url = base_url;
                Ok(launched)
            }
            Startup::Exited(Ok(status)) => {
                launched.exit = Some(status);
                launched.kill_group_and_reap().await;
                Err(LaunchError::EarlyExit {
                    program: launched.program.clone(),
                    status: status.to_string(),
                    stderr: launched.stderr_lines().await,
                })
            }
            Startup::Exited(Err(source)) => Err(LaunchError::Control { pid, source }),
            Startup::TimedOut => {
                launched.kill_group_and_reap().await;
                let waiting_for = progress.lock().map(|p| p.clone()).unwrap_or_default();
                Err(LaunchError::Timeout {
                    program: launched.program.clone(),
                    after: spec.startup_timeout,
                    waiting_for,
                    stderr: launched.stderr_lines().await,
                })
            }
        }
    }

    /// The base URL the process printed (only with [`Ready::StdoutAddress`]).
    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref()
    }

    /// Time from spawn until the readiness check first passed.
    pub fn time_to_ready(&self) -> Duration {
        self.time_to_ready
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Starts sampling RSS and CPU of the process tree every `interval` (100 ms gives the
    /// intended ~10 Hz) on a background thread. Calling it again restarts sampling.
    pub fn start_sampling(&mut self, interval: Duration) {
        if let Some(SamplerSlot(old)) = self.sampler.take() {
            old.finish();
        }
        self.sampler = Some(SamplerSlot(Sampler::start(self.pid, interval)));
    }

    /// The exit status if the process has exited (crash detection mid-run); never blocks.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Stops the process: SIGTERM to its process group, up to `grace` to exit, then
    /// SIGKILL. Whatever is left of the group afterwards is SIGKILLed too. Returns the samples
    /// and how the process ended.
    pub async fn stop(mut self) -> Result<ProcessReport, LaunchError> {
        // Stop sampling first, so a dying process does not drag the figures down.
        let samples = self
            .sampler
            .take()
            .map(|SamplerSlot(s)| s.finish())
            .unwrap_or_default();
        let status = match self.exited() {
            Some(status) => status,
            None => {
                signal_group(self.pid, libc::SIGTERM);
                match tokio::time::timeout(self.grace, self.child.wait()).await {
                    Ok(result) => result.map_err(|source| LaunchError::Control {
                        pid: self.pid,
                        source,
                    })?,
                    Err(_) => {
                        signal_group(self.pid, libc::SIGKILL);
                        self.child
                            .wait()
                            .await
                            .map_err(|source| LaunchError::Control {
                                pid: self.pid,
                                source,
                            })?
                    }
                }
            }
        };
        self.exit = Some(status);
        signal_group(self.pid, libc::SIGKILL);
        self.finished = true;
        Ok(ProcessReport::new(
            self.time_to_ready,
            samples,
            self.exe_size_bytes,
            Some(status.to_string()),
        ))
    }

    /// SIGKILLs the group and waits (bounded) for the leader to be reaped.
    async fn kill_group_and_reap(&mut self) {
        signal_group(self.pid, libc::SIGKILL);
        let _ = tokio::time::timeout(REAP_TIMEOUT, self.child.wait()).await;
        self.finished = true;
    }

    /// The last stderr lines, after giving the drain task a moment to reach end of file.
    async fn stderr_lines(&mut self) -> Vec<String> {
        if let Some(task) = self.stderr_task.take() {
            // A surviving grandchild may hold the pipe open, so do not wait for long.
            let _ = tokio::time::timeout(Duration::from_millis(500), task).await;
        }
        self.stderr
            .lock()
            .map(|lines| lines.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        signal_group(self.pid, libc::SIGKILL);
        let _ = self.child.start_kill();
        // Reap the leader synchronously (bounded) so no zombie is left behind.
        for _ in 0..200 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Sends `signal` to the process group `pgid`; a group that is already gone is fine.
fn signal_group(pgid: u32, signal: libc::c_int) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid > 1 {
        // SAFETY: kill has no memory-safety preconditions; a negative pid addresses a group.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

/// Waits until the process is ready; returns the announced base URL, if any.
/// `progress` says what is still awaited, for the timeout error.
async fn wait_ready(
    ready: &Ready,
    address: oneshot::Receiver<String>,
    progress: &Mutex<String>,
) -> Option<String> {
    let set = |text: String| {
        if let Ok(mut p) = progress.lock() {
            *p = text;
        }
    };
    let (base, url) = match ready {
        Ready::Url(url) => (None, url.clone()),
        Ready::StdoutAddress { health_path } => {
            set("no http:// address was printed on stdout".into());
            match address.await {
                Ok(base) => {
                    let base = base.trim_end_matches('/').to_string();
                    let url = format!("{base}{health_path}");
                    (Some(base), url)
                }
                Err(_) => {
                    set("stdout was closed without an http:// address".into());
                    std::future::pending().await
                }
            }
        }
    };
    set(format!("GET {url} was never tried"));
    loop {
        match get_status(&url, PROBE_TIMEOUT).await {
            Ok(status) if (200..300).contains(&status) => return base,
            Ok(status) => set(format!("GET {url} last answered {status}")),
            Err(reason) => set(format!("GET {url} last failed: {reason}")),
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Sends `GET url` and returns the status code, or a short description of why none came.
/// The body is read to its end (so the connection closes cleanly) and discarded.
async fn get_status(url: &str, timeout: Duration) -> Result<u16, GetError> {
    match tokio::time::timeout(timeout, crate::fetch::get_response(url, usize::MAX)).await {
        Ok(Ok((status, _body))) => Ok(status.as_u16()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(GetError::Fetch(format!(
            "no answer within {}",
            crate::units::format_duration(timeout)
        ))),
    }
}

/// Reads stdout to its end; the first line that is an `http://` or `https://` URL is sent on
/// `address`.
async fn drain_stdout(pipe: impl AsyncRead + Unpin, address: oneshot::Sender<String>) {
    let mut address = Some(address);
    for_each_line(pipe, |line| {
        let line = line.trim();
        if (line.starts_with("http://") || line.starts_with("https://"))
            && let Some(tx) = address.take()
        {
            let _ = tx.send(line.to_string());
        }
    })
    .await;
}

/// Reads stderr to its end, keeping the last [`STDERR_LINES`] lines.
async fn drain_stderr(pipe: impl AsyncRead + Unpin, tail: StderrTail) {
    for_each_line(pipe, |line| {
        let mut line = line.trim_end().to_string();
        if line.len() > STDERR_LINE_MAX {
            let mut cut = STDERR_LINE_MAX;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push('…');
        }
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == STDERR_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    })
    .await;
}

/// Calls `f` on each line (lossily decoded) until end of file or a read error.
async fn for_each_line(pipe: impl AsyncRead + Unpin, mut f: impl FnMut(&str)) {
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => f(&String::from_utf8_lossy(&buf)),
        }
    }
}
