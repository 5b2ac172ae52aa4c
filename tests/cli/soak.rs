//! The shipped soak scenario, shortened: its resident-memory slope SLO holds against the
//! embedded target and fails when the target leaks (`serve --leak`), and its heap profile
//! (`[profile] heap = true`) names the leaking function as the allocation site that grew most;
//! a steady state too short for a slope is `inconclusive` (exit 2), not a pass.

use std::time::Duration;

use crate::support::{load_lock, repo, result_json, run, run_dir};

/// Ten measured seconds after a 6 s warm-up (the target's allocator settles in the first
/// ~5 s; the heap profile's priming snapshot, 3 s in, loads the target's symbol tables). The
/// target's allocator (jemalloc) still grows its resident memory in steps, and one step inside
/// a 10 s window reads as a few MB/min (measured 2.0, 0.72 and 0.55 MB/min without a leak with
/// the shipped heap profile on; 6.0 MB/min in one run with it off), so the short run judges
/// against 8 MB/min instead of the shipped 4 MB/min over minutes. The leak of 4 KB on each of
/// 200 requests/s is 48 MB/min (measured 49.3 MB/min).
const SHORT: &[&str] = &[
    "--duration",
    "10s",
    "--set",
    "load.warmup=6s",
    "--set",
    "slo.target.rss.slope=< 8MB/min",
];

fn soak(extra: &[&str]) -> (i32, serde_json::Value, String, tempfile::TempDir) {
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
    (done.code(), result, done.stderr, out)
}

/// The leaking function of the reference target (`src/reference/leak.rs`).
const LEAK_FN: &str = "nexus_fault_leak";

/// The `heap` entry of `profiles`, checked complete: both snapshots and the in-use graph.
fn heap(result: &serde_json::Value, dir: &std::path::Path) -> serde_json::Value {
    let p = result["profiles"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["kind"] == "heap"))
        .unwrap_or_else(|| panic!("a heap profile in result.json: {}", result["profiles"]))
        .clone();
    assert_eq!(p["error"], serde_json::Value::Null, "{p}");
    for file in [
        &p["pprof_file"],
        &p["heap"]["start_pprof_file"],
        &p["flamegraph_file"],
    ] {
        let name = file.as_str().unwrap_or_else(|| panic!("{p}"));
        assert!(dir.join(name).is_file(), "{name}");
    }
    p
}

fn slope(result: &serde_json::Value) -> &serde_json::Value {
    result["slos"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["key"] == "target.rss.slope"))
        .expect("the slope SLO in result.json")
}

#[test]
fn soak_passes_without_a_leak_and_fails_with_one() {
    let (code, result, stderr, out) = soak(SHORT);
    assert_eq!(code, 0, "no leak: should pass; stderr:\n{stderr}");
    let steady = heap(&result, &run_dir(out.path(), "soak"));
    let steady_growth = steady["heap"]["growth"].as_array().expect("growth rows");
    assert!(
        steady_growth
            .iter()
            .all(|s| !s["name"].as_str().unwrap().contains(LEAK_FN)),
        "{steady}"
    );
    let s = slope(&result);
    assert_eq!(s["pass"], true);
    assert_eq!(s["unit"], "bytes_per_min");
    let observed = s["observed"].as_f64().expect("a slope");
    assert!(observed < 8e6, "{s}");
    let interval = s["interval"].as_array().expect("a confidence interval");
    assert!(interval[0].as_f64() <= Some(observed) && Some(observed) <= interval[1].as_f64());

    let mut leaking = SHORT.to_vec();
    leaking.extend(["--set", r#"target.embedded_args=["--leak","4KB/request"]"#]);
    let (code, result, stderr, out) = soak(&leaking);
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

    // The heap profile points at the leak: its function is the site that grew most, by
    // about what leaked between the snapshots (4 KB per request; jemalloc's sampled estimate).
    let dir = run_dir(out.path(), "soak");
    let leak = heap(&result, &dir);
    let top = &leak["heap"]["growth"][0];
    assert!(
        top["name"].as_str().unwrap().contains(LEAK_FN),
        "top growing site: {top}\n{leak}"
    );
    let between_s = leak["duration_ms"].as_f64().unwrap() / 1000.0;
    let leaked = 4096.0 * 200.0 * between_s;
    let grew = top["growth_bytes"].as_f64().unwrap();
    assert!(
        (0.5 * leaked..1.5 * leaked).contains(&grew),
        "grew {grew} bytes, leaked about {leaked} in {between_s} s"
    );
    // It dwarfs whatever the run without a leak grew most.
    let steady_top = steady_growth[0]["growth_bytes"].as_f64().unwrap_or(0.0);
    assert!(grew > 5.0 * steady_top, "{grew} vs {steady_top}");
    assert!(
        dir.join(leak["heap"]["growth_flamegraph_file"].as_str().unwrap())
            .is_file()
    );
    let svg = std::fs::read_to_string(dir.join("heap-growth.svg")).unwrap();
    assert!(svg.contains(LEAK_FN));
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    let first_row = summary
        .lines()
        .skip_while(|l| !l.starts_with("| allocation site |"))
        .nth(2)
        .unwrap_or_else(|| panic!("no heap growth table in summary.md:\n{summary}"));
    assert!(first_row.contains(LEAK_FN), "{first_row}");
}

#[test]
fn a_steady_state_too_short_for_a_slope_is_inconclusive() {
    let (code, result, stderr, _out) = soak(&["--duration", "3s", "--set", "load.warmup=1s"]);
    assert_eq!(code, 2, "stderr:\n{stderr}");
    assert_eq!(result["verdict"], "inconclusive");
    let s = slope(&result);
    assert_eq!(s["pass"], false);
    let why = s["inconclusive"].as_str().expect("a reason");
    assert!(why.contains("at least 5s"), "{why}");
    assert!(stderr.contains("INCONCLUSIVE"), "{stderr}");
}
