//! The shipped soak scenario, shortened: its resident-memory slope SLO holds against the
//! embedded target and fails when the target leaks (`serve --leak`); a steady state too short
//! for a slope is `inconclusive` (exit 2), not a pass.

use std::time::Duration;

use crate::support::{load_lock, repo, result_json, run, run_dir};

/// Ten measured seconds after a 6 s warm-up (the target's allocator settles in the first
/// ~5 s). glibc grows the heap in steps of ~130 KB, and one step inside a 10 s window reads
/// as up to ~1.5 MB/min (measured 0, 0 and 1.4 MB/min without a leak), so the short run
/// judges against 8 MB/min instead of the shipped 4 MB/min over minutes. The leak of 4 KB on
/// each of 200 requests/s is 48 MB/min (measured 49.3 MB/min).
const SHORT: &[&str] = &[
    "--duration",
    "10s",
    "--set",
    "load.warmup=6s",
    "--set",
    "slo.target.rss.slope=< 8MB/min",
];

fn soak(extra: &[&str]) -> (i32, serde_json::Value, String) {
    let out = tempfile::tempdir().expect("temp dir");
    let scenario = repo("scenarios/soak.toml");
    let mut args = vec![
        "run",
        scenario.to_str().expect("UTF-8 path"),
        "--out",
        out.path().to_str().expect("UTF-8 path"),
    ];
    args.extend_from_slice(extra);
    let _serial = load_lock();
    let done = run(&args, Duration::from_secs(90));
    let result = result_json(&run_dir(out.path(), "soak"));
    (done.code(), result, done.stderr)
}

fn slope(result: &serde_json::Value) -> &serde_json::Value {
    result["slos"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["key"] == "target.rss.slope"))
        .expect("the slope SLO in result.json")
}

#[test]
fn soak_passes_without_a_leak_and_fails_with_one() {
    let (code, result, stderr) = soak(SHORT);
    assert_eq!(code, 0, "no leak: should pass; stderr:\n{stderr}");
    let s = slope(&result);
    assert_eq!(s["pass"], true);
    assert_eq!(s["unit"], "bytes_per_min");
    let observed = s["observed"].as_f64().expect("a slope");
    assert!(observed < 8e6, "{s}");
    let interval = s["interval"].as_array().expect("a confidence interval");
    assert!(interval[0].as_f64() <= Some(observed) && Some(observed) <= interval[1].as_f64());

    let mut leaking = SHORT.to_vec();
    leaking.extend(["--set", r#"target.embedded_args=["--leak","4KB/request"]"#]);
    let (code, result, stderr) = soak(&leaking);
    assert_eq!(
        code, 1,
        "leaking: the slope SLO should fail; stderr:\n{stderr}"
    );
    assert_eq!(result["verdict"], "fail");
    let s = slope(&result);
    assert_eq!(s["pass"], false, "{s}");
    // 4 KB × 200/s = 48 MB/min, recovered within 25 % on a loaded machine.
    let observed = s["observed"].as_f64().expect("a slope");
    assert!((36e6..60e6).contains(&observed), "{s}");
    assert!(
        s["interval"][0].as_f64() > Some(8e6),
        "significantly above the limit: {s}"
    );
    // Only the slope failed: the leak does not show up as errors or latency.
    let failed: Vec<&serde_json::Value> = result["slos"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["pass"] == false)
        .map(|s| &s["key"])
        .collect();
    assert_eq!(failed, [&serde_json::json!("target.rss.slope")]);
}

#[test]
fn a_steady_state_too_short_for_a_slope_is_inconclusive() {
    let (code, result, stderr) = soak(&["--duration", "3s", "--set", "load.warmup=1s"]);
    assert_eq!(code, 2, "stderr:\n{stderr}");
    assert_eq!(result["verdict"], "inconclusive");
    let s = slope(&result);
    assert_eq!(s["pass"], false);
    let why = s["inconclusive"].as_str().expect("a reason");
    assert!(why.contains("at least 5s"), "{why}");
    assert!(stderr.contains("INCONCLUSIVE"), "{stderr}");
}
