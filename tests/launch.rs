//! Launching real target processes (python3 HTTP servers and shell scripts on 127.0.0.1).

use std::time::{Duration, Instant};

use nexus_bench::launch::{LaunchError, LaunchSpec, Launched, Ready};

/// A tiny HTTP server on 127.0.0.1 whose behaviour is chosen by environment variables:
/// `PORT` (default 0), `STATUS` (answer to GET), `CRASH_AFTER` (seconds, then exit 7),
/// `ON_TERM` (`exit0` or `ignore`), `CHILD` (`sleep`: a sleeping child; `burn`: a child that
/// holds 64 MB and spins). It prints its URL first, and its pid on stderr.
const SERVER: &str = r#"
import http.server, os, signal, subprocess, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(int(os.environ.get("STATUS", "200")))
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
if os.environ.get("ON_TERM") == "exit0":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
if os.environ.get("ON_TERM") == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = os.environ.get("CHILD")
if child == "sleep":
    subprocess.Popen(["sleep", "60"])
if child == "burn":
    subprocess.Popen([sys.executable, "-c",
        "import time\nb = b'x' * (64 << 20)\nend = time.time() + 30\nwhile time.time() < end: pass"])
if "CRASH_AFTER" in os.environ:
    threading.Timer(float(os.environ["CRASH_AFTER"]), lambda: os._exit(7)).start()
s = http.server.HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "0"))), H)
sys.stderr.write("pid %d\n" % os.getpid())
sys.stderr.flush()
print("http://127.0.0.1:%d" % s.server_port, flush=True)
s.serve_forever()
"#;

fn server(env: &[(&str, &str)]) -> LaunchSpec {
    LaunchSpec {
        command: vec!["python3".into(), "-c".into(), SERVER.into()],
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        cwd: None,
        ready: Ready::StdoutAddress {
            health_path: "/healthz".into(),
        },
        startup_timeout: Duration::from_secs(10),
        grace: Duration::from_secs(5),
    }
}

fn shell(script: &str, timeout: Duration) -> LaunchSpec {
    LaunchSpec {
        command: vec!["sh".into(), "-c".into(), script.into()],
        env: vec![],
        cwd: None,
        ready: Ready::StdoutAddress {
            health_path: "/".into(),
        },
        startup_timeout: timeout,
        grace: Duration::from_secs(1),
    }
}

/// True when the process no longer runs (missing, or a zombie waiting for its parent).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// Waits up to 3 s for the process to be gone.
fn eventually_gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Direct children of `pid`, from /proc/*/stat.
fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let rest = stat.rsplit(')').next().unwrap_or("");
        if rest.split_whitespace().nth(1) == Some(&pid.to_string()) {
            children.push(child);
        }
    }
    children
}

/// Waits up to 5 s for `pid` to have a child process.
async fn first_child(pid: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(child) = children_of(pid).first() {
            return *child;
        }
        assert!(Instant::now() < deadline, "{pid} started no child");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The pid a SERVER script wrote to stderr, from an error's stderr lines.
fn pid_in(stderr: &[String]) -> u32 {
    stderr
        .iter()
        .find_map(|l| l.strip_prefix("pid ")?.parse().ok())
        .expect("the server printed its pid")
}

#[tokio::test]
async fn ready_target_announces_its_url_and_stops_on_sigterm() {
    let launched = Launched::start(server(&[])).await.unwrap();
    let base = launched.base_url().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(launched.time_to_ready() > Duration::ZERO);
    assert!(launched.time_to_ready() < Duration::from_secs(10));
    let pid = launched.pid();
    let began = Instant::now();
    let report = launched.stop().await.unwrap();
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "SIGTERM was enough"
    );
    assert!(
        report.exit.as_deref().unwrap().contains("SIGTERM"),
        "{report:?}"
    );
    assert!(report.exe_size_bytes.unwrap() > 0);
    assert!(report.samples.is_empty(), "sampling was never started");
    assert!(gone(pid));
}

#[tokio::test]
async fn ready_url_is_polled_until_it_answers() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut spec = server(&[("PORT", &port.to_string())]);
    spec.ready = Ready::Url(format!("http://127.0.0.1:{port}/ready"));
    let launched = Launched::start(spec).await.unwrap();
    assert_eq!(launched.base_url(), None);
    launched.stop().await.unwrap();
}

#[tokio::test]
async fn target_that_never_becomes_healthy_times_out_and_is_killed() {
    let mut spec = server(&[("STATUS", "503"), ("CHILD", "sleep")]);
    spec.startup_timeout = Duration::from_secs(3);
    let began = Instant::now();
    let err = Launched::start(spec).await.unwrap_err();
    assert!(began.elapsed() < Duration::from_secs(7));
    let text = err.to_string();
    assert!(text.contains("not ready after 3s"), "{text}");
    assert!(text.contains("last answered 503"), "{text}");
    let LaunchError::Timeout { stderr, .. } = err else {
        panic!("expected a timeout, got {err:?}");
    };
    let pid = pid_in(&stderr);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[tokio::test]
async fn target_that_prints_no_address_times_out_saying_so() {
    let spec = shell(
        "echo starting; echo 'still warming up' >&2; sleep 30",
        Duration::from_secs(1),
    );
    let err = Launched::start(spec).await.unwrap_err().to_string();
    assert!(err.contains("no http:// address"), "{err}");
    assert!(err.contains("still warming up"), "{err}");
}

#[tokio::test]
async fn target_that_exits_at_once_reports_status_and_stderr() {
    let spec = shell(
        "echo 'config file missing' >&2; exit 3",
        Duration::from_secs(5),
    );
    let err = Launched::start(spec).await.unwrap_err();
    assert!(matches!(err, LaunchError::EarlyExit { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("exit status: 3"), "{text}");
    assert!(text.contains("config file missing"), "{text}");
}

#[tokio::test]
async fn missing_program_is_a_spawn_error() {
    let spec = shell("", Duration::from_secs(1));
    let spec = LaunchSpec {
        command: vec!["/nonexistent/nexus-target".into()],
        ..spec
    };
    let err = Launched::start(spec).await.unwrap_err().to_string();
    assert!(err.contains("/nonexistent/nexus-target"), "{err}");
}

#[tokio::test]
async fn crash_mid_run_is_detected() {
    let mut launched = Launched::start(server(&[("CRASH_AFTER", "0.5")]))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = launched.exited() {
            break status;
        }
        assert!(Instant::now() < deadline, "the crash was not seen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status.code(), Some(7));
    let report = launched.stop().await.unwrap();
    assert_eq!(report.exit.as_deref(), Some("exit status: 7"));
}

#[tokio::test]
async fn sampling_covers_the_whole_process_tree() {
    let mut launched = Launched::start(server(&[("CHILD", "burn")])).await.unwrap();
    let burner = first_child(launched.pid()).await;
    // Let the child allocate its 64 MB before the samples that count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    launched.start_sampling(Duration::from_millis(50));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let report = launched.stop().await.unwrap();
    assert!(
        report.samples.len() >= 5,
        "{} samples",
        report.samples.len()
    );
    assert!(report.samples.windows(2).all(|w| w[0].t_ms < w[1].t_ms));
    assert!(report.samples.iter().all(|s| s.rss_bytes > 0));
    // The 64 MB live in the child, so they only show if the tree is sampled.
    assert!(report.rss_max_bytes > 64 << 20, "{report:?}");
    let cores = std::thread::available_parallelism().unwrap().get() as f64;
    assert!(report.cpu_mean_percent > 5.0, "{report:?}");
    assert!(
        report
            .samples
            .iter()
            .all(|s| s.cpu_percent >= 0.0 && s.cpu_percent <= cores * 100.0 + 25.0),
        "{report:?}"
    );
    assert!(
        eventually_gone(burner),
        "the child was stopped with its group"
    );
}

#[tokio::test]
async fn graceful_sigterm_is_honoured() {
    let launched = Launched::start(server(&[("ON_TERM", "exit0")]))
        .await
        .unwrap();
    let began = Instant::now();
    let report = launched.stop().await.unwrap();
    assert_eq!(report.exit.as_deref(), Some("exit status: 0"));
    assert!(began.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn sigterm_ignored_falls_back_to_sigkill_for_the_whole_group() {
    let mut spec = server(&[("ON_TERM", "ignore"), ("CHILD", "sleep")]);
    spec.grace = Duration::from_millis(400);
    let launched = Launched::start(spec).await.unwrap();
    let sleeper = first_child(launched.pid()).await;
    let began = Instant::now();
    let report = launched.stop().await.unwrap();
    assert!(began.elapsed() >= Duration::from_millis(400));
    assert!(
        report.exit.as_deref().unwrap().contains("SIGKILL"),
        "{report:?}"
    );
    assert!(eventually_gone(sleeper));
}

#[tokio::test]
async fn sigterm_ignored_by_a_shell_target_falls_back_to_sigkill() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = format!(
        "trap '' TERM; python3 -m http.server --bind 127.0.0.1 {port} >/dev/null 2>&1 & sleep 60"
    );
    // The shell ignores SIGTERM and so does everything it starts; the server makes it ready.
    let spec = LaunchSpec {
        ready: Ready::Url(format!("http://127.0.0.1:{port}/")),
        startup_timeout: Duration::from_secs(10),
        grace: Duration::from_millis(300),
        ..shell(&script, Duration::ZERO)
    };
    let launched = Launched::start(spec).await.unwrap();
    let pid = launched.pid();
    let http_server = first_child(pid).await;
    let report = launched.stop().await.unwrap();
    assert!(
        report.exit.as_deref().unwrap().contains("SIGKILL"),
        "{report:?}"
    );
    assert!(gone(pid));
    assert!(eventually_gone(http_server));
}

#[tokio::test]
async fn dropping_an_unstopped_target_kills_its_group() {
    let launched = Launched::start(server(&[("CHILD", "sleep")]))
        .await
        .unwrap();
    let pid = launched.pid();
    let sleeper = first_child(pid).await;
    drop(launched);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(eventually_gone(sleeper));
}

#[test]
fn child_gets_sigterm_when_its_spawning_thread_dies() {
    let pid = std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let launched = runtime.block_on(Launched::start(server(&[]))).unwrap();
        let pid = launched.pid();
        // Simulate nexus-bench dying without cleaning up: no stop, no drop.
        std::mem::forget(launched);
        pid
    })
    .join()
    .unwrap();
    assert!(eventually_gone(pid), "PR_SET_PDEATHSIG did not fire");
}
