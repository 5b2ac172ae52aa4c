//! Live export against real receivers: a real Prometheus (Debian's `prometheus`, which
//! `ci/test.sh` installs) started on a free loopback port with its remote-write receiver, a
//! run pushing to it, and Prometheus's own query API saying the series exist with the request
//! counts of result.json; the ndjson export holds one line per second of the result; and a
//! receiver that is down costs a warning, not the run.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Served, load_lock, result_json, run, run_dir};

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A Prometheus of our own: temporary storage, a free loopback port, stopped by PID on drop.
struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start() -> Prometheus {
        let bin = ["prometheus", "/usr/bin/prometheus"]
            .into_iter()
            .find(|b| {
                Command::new(b)
                    .arg("--version")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok()
            })
            .expect("prometheus is installed (ci/test.sh installs Debian's package)");
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1m\n").expect("config");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let p = Prometheus {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while http_get(port, "/-/ready").is_none_or(|(status, _)| status != 200) {
            assert!(Instant::now() < deadline, "prometheus not ready in 60 s");
            std::thread::sleep(Duration::from_millis(200));
        }
        p
    }

    fn write_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/write", self.port)
    }

    /// The instant vector of `query`: (labels, value) per series.
    fn query(&self, query: &str) -> Vec<(Value, f64)> {
        let (status, body) = http_get(self.port, &format!("/api/v1/query?query={}", encode(query)))
            .expect("query answered");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("query JSON");
        v["data"]["result"]
            .as_array()
            .expect("result")
            .iter()
            .map(|r| {
                let value = r["value"][1].as_str().expect("value").parse().expect("f64");
                (r["metric"].clone(), value)
            })
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encoding of a query string value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A plain HTTP/1.0 GET on loopback: status and body.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

fn one_liner(url: &str, out: &Path, exports: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "run", "--url", url, "-c", "2", "-d", "3s", "--quiet", "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(path_str(out).into());
    for e in exports {
        args.push("--export".into());
        args.push(e.clone());
    }
    args
}

/// The pushed counters end at result.json's counts, per request name and overall, and the
/// ndjson file has the result's seconds.
#[test]
fn prometheus_holds_the_runs_counts_and_ndjson_its_seconds() {
    let prometheus = Prometheus::start();
    let served = Served::start(&["--api", "cache"]);
    let url = format!("{}/api/v1/cache/stats", served.url);
    let out = tempfile::tempdir().expect("temp dir");
    let ndjson: PathBuf = out.path().join("seconds.ndjson");
    let args = one_liner(
        &url,
        out.path(),
        &[
            format!("prometheus-rw={}", prometheus.write_url()),
            format!("ndjson={}", ndjson.display()),
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _serial = load_lock();
    let done = run(&args, Duration::from_secs(60));
    assert_eq!(done.code(), 0, "stderr:\n{}", done.stderr);
    let result = result_json(&run_dir(out.path(), "127-0-0-1"));
    let run_id = result["run_id"].as_str().unwrap_or_default().to_string();
    let total = result["totals"]["requests"].as_u64().expect("requests");
    assert!(total > 10, "{total}");
    assert!(
        result["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .all(|w| !w.as_str().unwrap_or_default().contains("prometheus")),
        "{}",
        result["warnings"]
    );

    let series = prometheus.query("nexus_bench_requests_total");
    let value = |request: &str| {
        series
            .iter()
            .find(|(m, _)| m["request"] == request && m["scenario"] == "127-0-0-1")
            .unwrap_or_else(|| panic!("no series for request={request}: {series:?}"))
            .1
    };
    assert_eq!(value("all"), total as f64, "{series:?}");
    let endpoint = result["endpoints"][0]["requests"]
        .as_u64()
        .expect("requests");
    assert_eq!(value("request"), endpoint as f64);
    assert!(
        series.iter().all(|(m, _)| m["run_id"] == run_id.as_str()),
        "run_id label {run_id}: {series:?}"
    );
    for name in [
        "nexus_bench_latency_seconds",
        "nexus_bench_requests_per_second",
        "nexus_bench_load_level",
        "nexus_bench_in_flight_max",
        "nexus_bench_errors_total",
    ] {
        assert!(
            !prometheus.query(name).is_empty(),
            "{name} is not in Prometheus"
        );
    }
    let p99 = prometheus.query(r#"nexus_bench_latency_seconds{request="all",quantile="0.99"}"#);
    assert!(
        p99.iter().all(|(_, v)| *v > 0.0 && *v < 1.0),
        "a loopback p99 in seconds: {p99:?}"
    );

    // Every query of the shipped Grafana dashboard parses and finds data in this run (errors
    // by kind only exist once an error happened).
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::support::repo("deploy/grafana/nexus-bench.json"))
            .expect("dashboard"),
    )
    .expect("dashboard JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 8, "{exprs:?}");
    for expr in exprs {
        let q = expr
            .replace("$scenario", "127-0-0-1")
            .replace("$run_id", ".*")
            .replace("$request", ".*")
            .replace("$__range", "10m");
        let found = prometheus.query(&q);
        assert!(
            !found.is_empty() || expr.contains("errors_by_kind"),
            "dashboard query finds nothing: {q}"
        );
    }

    let text = std::fs::read_to_string(&ndjson).expect("ndjson written");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let seconds = result["timeseries"].as_array().expect("timeseries");
    assert_eq!(lines.len(), seconds.len(), "one line per second");
    let measured: u64 = lines
        .iter()
        .filter(|l| l["warmup"] == false)
        .map(|l| l["requests"].as_u64().expect("requests"))
        .sum();
    assert_eq!(measured, total, "the lines add up to the result");
}

/// Every `expr` in a Grafana dashboard.
fn collect_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr", Value::String(e)) => out.push(e.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_exprs(i, out)),
        _ => {}
    }
}

/// A receiver that is down: the run passes and says what was not delivered.
#[test]
fn a_receiver_that_is_down_is_a_warning() {
    let served = Served::start(&["--api", "cache"]);
    let url = format!("{}/api/v1/cache/stats", served.url);
    let closed = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let out = tempfile::tempdir().expect("temp dir");
    let args = one_liner(
        &url,
        out.path(),
        &[format!(
            "prometheus-rw=http://127.0.0.1:{closed}/api/v1/write"
        )],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _serial = load_lock();
    let done = run(&args, Duration::from_secs(60));
    assert_eq!(done.code(), 0, "stderr:\n{}", done.stderr);
    assert!(
        done.stderr.contains("prometheus-rw"),
        "the failure is said at once:\n{}",
        done.stderr
    );
    let result = result_json(&run_dir(out.path(), "127-0-0-1"));
    let warned = result["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(Value::as_str)
        .any(|w| w.contains("prometheus-rw") && w.contains("not delivered"));
    assert!(warned, "{}", result["warnings"]);
}
