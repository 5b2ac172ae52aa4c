//! Ad-hoc runs: `run --url` against a real `nexus-bench serve` on loopback goes through the
//! scenario path (same result file, SLO verdicts and exit codes), `--print-scenario` writes a
//! file that validates and runs as written, and a scenario of `-` is read from stdin.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{BIN, Served, load_lock, result_json, run, run_dir};

fn path_str(p: &std::path::Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A one-liner measures, judges its `--slo`s and exits like a scenario run.
#[test]
fn a_url_one_liner_runs_and_gates() {
    let served = Served::start(&["--api", "cache"]);
    let url = format!("{}/api/v1/cache/stats", served.url);
    let out = tempfile::tempdir().expect("temp dir");
    let _serial = load_lock();
    let done = run(
        &[
            "run",
            "--url",
            &url,
            "-c",
            "2",
            "-d",
            "1s",
            "-H",
            "accept: application/json",
            "--slo",
            "error_rate<1%",
            "--slo",
            "throughput>1/s",
            "--out",
            path_str(out.path()),
            "--quiet",
            "--summary",
            "json",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(done.code(), 0, "stderr:\n{}", done.stderr);
    let summary: Value = serde_json::from_str(done.stdout.trim()).expect("JSON summary");
    assert_eq!(summary["verdict"], "pass");
    assert_eq!(summary["scenario"], "127-0-0-1");
    let result = result_json(&run_dir(out.path(), "127-0-0-1"));
    assert_eq!(result["load"]["model"], "closed");
    let requests = result["totals"]["requests"].as_u64().expect("requests");
    assert!(requests > 10, "{requests} requests in a second");
    assert_eq!(result["totals"]["errors"], 0);
    let keys: Vec<&str> = result["slos"]
        .as_array()
        .expect("slos")
        .iter()
        .filter_map(|s| s["key"].as_str())
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");

    // An SLO that cannot hold fails the gate: exit 1.
    let failed = run(
        &[
            "run",
            "--url",
            &url,
            "--rate",
            "50",
            "-d",
            "1s",
            "--slo",
            "throughput>1000000/s",
            "--out",
            path_str(out.path()),
            "--quiet",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(failed.code(), 1, "stderr:\n{}", failed.stderr);
    assert!(
        failed.stderr.contains("127-0-0-1: FAIL (1 of 1 SLOs)"),
        "{}",
        failed.stderr
    );
}

/// `--print-scenario` writes TOML that validates as written and runs from stdin (`-`).
#[test]
fn a_printed_one_liner_is_a_scenario_file() {
    let served = Served::start(&["--api", "cache"]);
    let url = format!("{}/api/v1/cache/set", served.url);
    let printed = run(
        &[
            "run",
            "--url",
            &url,
            "-m",
            "POST",
            "-H",
            "content-type: application/json",
            "--body",
            r#"{"key": "k{{ counter }}", "value": "v"}"#,
            "--rate",
            "20",
            "--print-scenario",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(printed.code(), 0, "{}", printed.stderr);
    let doc: toml::Table = toml::from_str(&printed.stdout).expect("printed scenario is TOML");
    assert_eq!(doc["requests"][0]["method"].as_str(), Some("POST"));
    assert_eq!(doc["load"]["rate"].as_str(), Some("20/s"));

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("one-liner.toml");
    std::fs::write(&file, &printed.stdout).expect("write scenario");
    let valid = run(&["validate", path_str(&file)], Duration::from_secs(10));
    assert_eq!(valid.code(), 0, "{}", valid.stderr);

    let _serial = load_lock();
    let mut child = Command::new(BIN)
        .args([
            "run",
            "-",
            "-d",
            "1s",
            "--quiet",
            "--summary",
            "json",
            "--out",
        ])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(printed.stdout.as_bytes())
        .expect("write stdin");
    let finished = child.wait_with_output().expect("run from stdin");
    let stderr = String::from_utf8_lossy(&finished.stderr);
    assert_eq!(finished.status.code(), Some(0), "{stderr}");
    let summary: Value =
        serde_json::from_slice(&finished.stdout).expect("JSON summary of the stdin run");
    let requests = summary["requests"].as_u64().expect("requests");
    // 20/s for one second: the open model's schedule, every set answered.
    assert!((19..=21).contains(&requests), "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");
}
