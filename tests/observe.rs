//! End to end through the real CLI: launched targets (embedded and `[target] command`),
//! probes, the target's CPU profile and flamegraph, `target.*`/`probe.*` SLOs, and a target
//! that crashes mid-run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use nexus_bench::result::{self, RunResult, Verdict};

/// Runs `nexus-bench run <scenario> --out <out> …` (bounded in time) and returns its output.
fn run(scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nexus-bench"))
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .args(["--threads", "1"])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("nexus-bench run did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// The only run folder under `out/<name>/`.
fn run_dir(out: &Path, name: &str) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out.join(name))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn embedded_target_with_probe_profile_and_target_slos() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("observe.toml");
    std::fs::write(
        &scenario,
        r#"
name = "observe"

[target]
base_url = "embedded:cache"

[load]
model = "closed"
users = 2
duration = "10s"

[[requests]]
name = "set"
method = "POST"
path = "/api/v1/cache/set"
json = { key = "k{{ random_int(1, 20) }}", value = "v", ttl_s = 60 }

[[requests]]
name = "get"
path = "/api/v1/cache/get/k{{ random_int(1, 20) }}"
expect = { status = [200, 404] }

[[probes]]
name = "hit_ratio"
url = "/api/v1/cache/stats"
json = "/hit_ratio"
interval = "500ms"

[profile]
target = true
seconds = 2

[slo]
"probe.hit_ratio" = "> 0%"
"target.rss.max" = "< 2GB"
"target.startup" = "< 10s"
"#,
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = run(
        &scenario,
        &out,
        &["--duration", "3s", "--quiet", "--profile"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dir = run_dir(&out, "observe");
    let r: RunResult = result::load(&dir.join("result.json")).unwrap();

    let probe = &r.probes[0];
    assert_eq!(probe.name, "hit_ratio");
    assert_eq!(probe.source, "GET /api/v1/cache/stats → /hit_ratio");
    assert_eq!(
        probe.before,
        Some(0.0),
        "nothing was looked up before the run"
    );
    let after = probe.after.unwrap();
    assert!(after > 0.0 && after <= 1.0, "{after}");
    assert!(probe.samples.len() >= 3, "{:?}", probe.samples);
    assert!(probe.samples.windows(2).all(|w| w[0].t_ms < w[1].t_ms));
    assert!(probe.error.is_none(), "{:?}", probe.error);

    let target = r.profiles.iter().find(|p| p.kind == "target").unwrap();
    assert_eq!(target.error, None);
    assert_eq!(target.pprof_file.as_deref(), Some("target.pb.gz"));
    assert_eq!(
        target.flamegraph_file.as_deref(),
        Some("target-flamegraph.svg")
    );
    assert!(
        (1500.0..6000.0).contains(&target.duration_ms),
        "{}",
        target.duration_ms
    );
    assert!(!target.top.is_empty() && target.top.len() <= 15);
    let bytes = std::fs::read(dir.join("target.pb.gz")).unwrap();
    let profile = nexus_bench::profiler::decode_pprof(&bytes).unwrap();
    assert!(!profile.sample.is_empty());
    let svg = std::fs::read_to_string(dir.join("target-flamegraph.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("target CPU profile"));

    let generator = r.profiles.iter().find(|p| p.kind == "generator").unwrap();
    assert_eq!(generator.error, None);
    assert!(dir.join("generator.pb.gz").is_file());
    assert!(dir.join("generator-flamegraph.svg").is_file());

    let keys: Vec<(&str, bool)> = r.slos.iter().map(|s| (s.key.as_str(), s.pass)).collect();
    assert_eq!(
        keys,
        [
            ("probe.hit_ratio", true),
            ("target.rss.max", true),
            ("target.startup", true)
        ]
    );
    assert!(r.slos.iter().all(|s| s.observed.is_some()));
    assert_eq!(r.verdict, Verdict::Pass);
    let process = r.target_process.as_ref().unwrap();
    assert!(process.rss_max_bytes > 0);

    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for section in ["Target process", "Probes", "Flamegraphs", "hit_ratio"] {
        assert!(html.contains(section), "{section} missing from report.html");
    }
}

/// A python3 HTTP server on a fixed port: `/healthz`, and `/stats` counting its own calls.
/// With `CRASH_AFTER` (seconds) it exits with status 7; it writes its pid to `pid`.
const SERVER: &str = r#"
import http.server, json, os, sys, threading
calls = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global calls
        calls += 1
        body = json.dumps({"calls": calls, "up": True}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
open("pid", "w").write(str(os.getpid()))
if "CRASH_AFTER" in os.environ:
    threading.Timer(float(os.environ["CRASH_AFTER"]), lambda: os._exit(7)).start()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A scenario launching [`SERVER`] from the scenario's folder.
fn command_scenario(dir: &Path, port: u16, env: &str, duration: &str) -> PathBuf {
    std::fs::write(dir.join("server.py"), SERVER).unwrap();
    let scenario = dir.join("command.toml");
    std::fs::write(
        &scenario,
        format!(
            r#"
name = "command"

[target]
base_url = "http://127.0.0.1:{port}"
command = ["python3", "server.py", "{port}"]
cwd = "."
env = {{ {env} }}
ready = "/healthz"
startup_timeout = "10s"

[load]
model = "open"
rate = "50/s"
duration = "{duration}"

[[requests]]
name = "get"
path = "/"

[[probes]]
name = "calls"
url = "/stats"
json = "/calls"

[slo]
"probe.calls" = "> 10"
"target.startup" = "< 10s"
"#
        ),
    )
    .unwrap();
    scenario
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[test]
fn command_target_is_launched_probed_and_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = command_scenario(tmp.path(), free_port(), "PYTHONUNBUFFERED = \"1\"", "2s");
    let out = tmp.path().join("out");
    let o = run(&scenario, &out, &["--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: RunResult = result::load(&run_dir(&out, "command").join("result.json")).unwrap();
    let process = r.target_process.as_ref().unwrap();
    assert_eq!(process.command[..2], ["python3", "server.py"]);
    assert!(process.startup_ms > 0.0 && process.rss_max_bytes > 0);
    let probe = &r.probes[0];
    assert!(probe.before.unwrap() >= 1.0);
    assert!(
        probe.after.unwrap() > probe.before.unwrap() + 10.0,
        "{probe:?}"
    );
    assert!(r.slos.iter().all(|s| s.pass), "{:?}", r.slos);
    let pid: i32 = std::fs::read_to_string(tmp.path().join("pid"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(!alive(pid), "the target is still running");
}

#[test]
fn a_target_crashing_mid_run_stops_the_run_and_keeps_the_result() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = command_scenario(tmp.path(), free_port(), "CRASH_AFTER = \"1.5\"", "20s");
    let out = tmp.path().join("out");
    let started = Instant::now();
    let o = run(&scenario, &out, &["--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the run went on"
    );
    assert!(
        stderr(&o).contains("the target exited during the run"),
        "{}",
        stderr(&o)
    );
    let r: RunResult = result::load(&run_dir(&out, "command").join("result.json")).unwrap();
    assert!(r.warnings[0].starts_with("the target exited during the run"));
    assert!(r.totals.requests > 0);
    assert!(r.probes[0].after.is_none() && r.probes[0].error.is_some());
    let pid: i32 = std::fs::read_to_string(tmp.path().join("pid"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(!alive(pid), "the target is still running");
}

/// `probe.<name>.slope`: the server's call counter grows by about 51 a second (50 requests
/// and the probe's own read), about 3,060 a minute, over the steady state.
#[test]
fn probe_slope_is_judged_per_minute() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = command_scenario(tmp.path(), free_port(), "PYTHONUNBUFFERED = \"1\"", "8s");
    let out = tmp.path().join("out");
    let o = run(
        &scenario,
        &out,
        &[
            "--quiet",
            "--set",
            "slo.probe.calls.slope=> 1000/min",
            "--set",
            "slo.target.rss.growth=< 100MB",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: RunResult = result::load(&run_dir(&out, "command").join("result.json")).unwrap();
    let slope = r
        .slos
        .iter()
        .find(|s| s.key == "probe.calls.slope")
        .unwrap();
    assert_eq!(slope.unit, "per_min");
    let observed = slope.observed.unwrap();
    assert!((2_000.0..4_000.0).contains(&observed), "{slope:?}");
    let [low, high] = slope.interval.unwrap();
    assert!(low <= observed && observed <= high, "{slope:?}");
    let growth = r
        .slos
        .iter()
        .find(|s| s.key == "target.rss.growth")
        .unwrap();
    assert!(growth.pass && growth.observed.is_some(), "{growth:?}");
}
