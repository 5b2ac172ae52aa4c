//! Running the real `nexus-bench` binary, bounded in time, and reading what it wrote.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_nexus-bench");

/// A path inside the crate (tests may run from anywhere).
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// What a finished run left behind.
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The exit code, or a panic naming the output if the process died of a signal.
    pub fn code(&self) -> i32 {
        self.code
            .unwrap_or_else(|| panic!("killed by a signal\nstderr:\n{}", self.stderr))
    }
}

/// A running `nexus-bench` whose stderr lines arrive on a channel.
pub struct Running {
    pub child: Child,
    lines: Receiver<String>,
    stderr: Vec<String>,
    stdout: Option<std::thread::JoinHandle<String>>,
}

impl Drop for Running {
    /// A test that fails half-way still ends its run (the embedded target follows: it is
    /// started with a parent-death signal).
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `nexus-bench args…`.
pub fn spawn(args: &[&str]) -> Running {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    spawn_command(cmd)
}

/// Starts a prepared `nexus-bench` command (e.g. with limits set in `pre_exec`).
pub fn spawn_command(mut cmd: Command) -> Running {
    let mut child = cmd
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nexus-bench starts");
    let mut out = child.stdout.take().expect("piped stdout");
    let stdout = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = child.stderr.take().expect("piped stderr");
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        // Progress lines end in '\r' as well as '\n'; either ends a line here.
        let mut reader = BufReader::new(err);
        let mut buf = Vec::new();
        while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
            for part in String::from_utf8_lossy(&buf).split('\r') {
                let _ = tx.send(part.trim_end().to_string());
            }
            buf.clear();
        }
    });
    Running {
        child,
        lines,
        stderr: Vec::new(),
        stdout: Some(stdout),
    }
}

impl Running {
    /// Waits for a stderr line containing `needle` and returns it.
    pub fn wait_for_line(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.stderr.push(line.clone());
                    if hit {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "no line with {needle:?} within {within:?}; stderr so far:\n{}",
                        self.stderr.join("\n")
                    );
                }
            }
        }
    }

    /// Waits for the process to end (killing it and failing after `within`).
    pub fn finish(mut self, within: Duration) -> Finished {
        let status = wait_bounded(&mut self.child, within);
        let stdout = self
            .stdout
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.stderr.push(line);
        }
        let stderr = self.stderr.join("\n");
        match status {
            Some(status) => Finished {
                code: status.code(),
                stdout,
                stderr,
            },
            None => panic!("nexus-bench did not end within {within:?}; stderr:\n{stderr}"),
        }
    }
}

fn wait_bounded(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("waiting for nexus-bench") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Runs `nexus-bench args…` to the end, at most `within`.
pub fn run(args: &[&str], within: Duration) -> Finished {
    spawn(args).finish(within)
}

/// The embedded target's address from its `embedded <api> target at http://…` line.
pub fn embedded_addr(line: &str) -> SocketAddr {
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    url.trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}"))
}

/// Whether anything still accepts connections at `addr`.
pub fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// The pids whose parent is `pid` (from /proc/*/stat).
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|stat| {
                // pid (comm) state ppid …; comm may hold spaces, so split after the last ')'.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

/// Whether `pid` is still a live (not zombie) process.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// The one run folder a run wrote under `out/<scenario>/`.
pub fn run_dir(out: &Path, scenario: &str) -> PathBuf {
    let parent = out.join(scenario);
    let dirs: Vec<PathBuf> = std::fs::read_dir(&parent)
        .unwrap_or_else(|e| panic!("{}: {e}", parent.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    assert_eq!(dirs.len(), 1, "one run folder in {}", parent.display());
    dirs.into_iter().next().expect("one folder")
}

/// The run's result.json.
pub fn result_json(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("result.json"))
        .unwrap_or_else(|e| panic!("{}/result.json: {e}", dir.display()));
    serde_json::from_str(&text).expect("result.json is JSON")
}

/// Every request, flow step and stream name a scenario file declares.
pub fn declared_names(scenario: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(scenario).expect("scenario readable");
    let doc: toml::Table = toml::from_str(&text).expect("scenario is TOML");
    let names = |list: Option<&toml::Value>| -> Vec<String> {
        list.and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("name")?.as_str().map(str::to_owned))
            .collect()
    };
    let mut all = names(doc.get("requests"));
    for flow in doc
        .get("flows")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
    {
        all.extend(names(flow.get("steps")));
    }
    all.extend(names(doc.get("streams")));
    all
}

/// Held by every test that puts load on the machine: two of them at once on two cores would
/// measure each other rather than the scenario.
pub fn load_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether a failed run of a shipped scenario failed only on timing, on a machine its own
/// result calls busy (other work or a hypervisor's steal, judged by nexus-bench itself):
/// then the latency and rate limits measured the machine, not the code, and a test that
/// holds them says so instead of failing. Errors and every non-timing SLO still count.
pub fn failed_only_on_timing_of_a_busy_machine(result: &serde_json::Value) -> bool {
    let busy = result["generator"]["machine"]["busy"] == true;
    let timing = |m: &str| {
        m.starts_with("latency.")
            || m.starts_with("service_time.")
            || m == "throughput"
            || m.starts_with("probe.")
    };
    let failed: Vec<&serde_json::Value> = result["slos"]
        .as_array()
        .map(|s| s.iter().filter(|s| s["pass"] == false).collect())
        .unwrap_or_default();
    busy && result["totals"]["errors"] == 0
        && !failed.is_empty()
        && failed
            .iter()
            .all(|s| timing(s["metric"].as_str().unwrap_or("")))
}

/// `nexus-bench serve` with `args` on a free loopback port; killed on drop.
pub struct Served {
    child: Child,
    /// The URL it printed first (`http://…` or `https://…`).
    pub url: String,
}

impl Served {
    /// Starts it and reads its URL.
    pub fn start(args: &[&str]) -> Served {
        let mut child = Command::new(BIN)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nexus-bench serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the served URL");
        let url = line.trim().to_string();
        assert!(url.starts_with("http"), "served URL: {url:?}");
        Served { child, url }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
