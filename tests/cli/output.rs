//! One output discipline for every subcommand: data on stdout, people's text on stderr.
//! `run --quiet` keeps one verdict line; `--summary json` is one JSON line on stdout with the
//! run folder and each failed SLO; a missing named baseline fails before any traffic; shell
//! completions and the manual page are data.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::{load_lock, repo, run, run_dir};

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// `run --quiet --summary json` of a run that fails one SLO: stdout is exactly the JSON line,
/// stderr ends with the one verdict line and holds no summary table.
#[test]
fn quiet_run_prints_one_verdict_line_and_the_json_summary() {
    let out = tempfile::tempdir().expect("temp dir");
    let scenario = repo("scenarios/cache.toml");
    let _serial = load_lock();
    let done = run(
        &[
            "run",
            path_str(&scenario),
            "--out",
            path_str(out.path()),
            "--duration",
            "2s",
            "--set",
            "load.warmup=0s",
            "--set",
            r#"target.embedded_args=["--latency","5ms"]"#,
            "--quiet",
            "--summary",
            "json",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(done.code(), 1, "stderr:\n{}", done.stderr);
    let dir = run_dir(out.path(), "cache");

    let lines: Vec<&str> = done.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout is one JSON line:\n{}", done.stdout);
    let summary: Value = serde_json::from_str(lines[0]).expect("stdout is JSON");
    assert_eq!(summary["verdict"], "fail");
    assert_eq!(summary["dir"], path_str(&dir));
    let (p50, p90, p95, p99, max) = (
        summary["p50_us"].as_f64().expect("p50_us"),
        summary["p90_us"].as_f64().expect("p90_us"),
        summary["p95_us"].as_f64().expect("p95_us"),
        summary["p99_us"].as_f64().expect("p99_us"),
        summary["max_us"].as_f64().expect("max_us"),
    );
    assert!(
        p50 <= p90 && p90 <= p95 && p95 <= p99 && p99 <= max,
        "{summary}"
    );
    // 5 ms of injected latency: the median is at least that.
    assert!(p50 >= 5000.0, "{summary}");
    assert!(summary["cancelled"].is_u64(), "{summary}");
    let failed = summary["failed_slos"].as_array().expect("failed_slos");
    let get = failed
        .iter()
        .find(|s| s["key"] == "get.latency.p99")
        .unwrap_or_else(|| panic!("get.latency.p99 not among the failed SLOs: {summary}"));
    assert!(
        get["observed"].as_f64().expect("observed") > get["limit"].as_f64().expect("limit"),
        "{get}"
    );

    let verdict_line = done.stderr.lines().last().expect("a verdict line");
    assert!(
        verdict_line.starts_with("cache: FAIL (")
            && verdict_line.contains(" SLOs)")
            && verdict_line.ends_with(&format!("→ {}", dir.display())),
        "verdict line: {verdict_line:?}\nstderr:\n{}",
        done.stderr
    );
    assert!(
        !done.stderr.contains("report: "),
        "no summary table with --quiet:\n{}",
        done.stderr
    );
}

/// A named baseline that does not exist stops the run before it starts (exit 2, no run
/// folder), and `--baselines` decides where named baselines live.
#[test]
fn missing_baseline_fails_before_the_run_and_baselines_folder_is_honoured() {
    let out = tempfile::tempdir().expect("temp dir");
    let store = out.path().join("kept-baselines");
    let scenario = repo("scenarios/smoke.toml");
    let missing = run(
        &[
            "run",
            path_str(&scenario),
            "--out",
            path_str(out.path()),
            "--baselines",
            path_str(&store),
            "--baseline",
            "nope",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(missing.code(), 2, "stderr:\n{}", missing.stderr);
    assert!(
        missing.stderr.contains("baseline `nope`"),
        "{}",
        missing.stderr
    );
    assert!(
        !out.path().join("smoke").exists(),
        "no run folder for a run that never started"
    );

    let _serial = load_lock();
    let saved = run(
        &[
            "run",
            path_str(&scenario),
            "--out",
            path_str(out.path()),
            "--duration",
            "1s",
            "--set",
            "load.warmup=0s",
            "--quiet",
            "--save-baseline",
            "main",
        ],
        Duration::from_secs(60),
    )
    .stderr;
    let default_store = out.path().join("baselines/main/smoke.json");
    assert!(default_store.exists(), "{saved}");
    // The same name read from another folder (the environment variable) is not found there.
    let other = crate::support::spawn_command({
        let mut cmd = std::process::Command::new(crate::support::BIN);
        cmd.args(["compare", "main", path_str(&run_dir(out.path(), "smoke"))])
            .env("NEXUS_BENCH_BASELINES", &store);
        cmd
    })
    .finish(Duration::from_secs(20));
    assert_eq!(other.code(), 2, "{}", other.stderr);
    assert!(
        other
            .stderr
            .contains(path_str(&store.join("main/smoke.json"))),
        "{}",
        other.stderr
    );
}

/// `report`, `compare` and `validate` write only to stderr; `schema`, `completions` and `man`
/// are data on stdout.
#[test]
fn people_read_stderr_and_programs_read_stdout() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let result = tmp.path().join("result.json");
    std::fs::copy(repo("fixtures/results/sample.json"), &result).expect("fixture");
    let scenario = repo("scenarios/smoke.toml");
    for args in [
        vec!["report", "--no-html", path_str(&result)],
        vec!["compare", path_str(&result), path_str(&result)],
        vec!["validate", path_str(&scenario)],
    ] {
        let done = run(&args, Duration::from_secs(20));
        assert!(
            done.stdout.is_empty(),
            "{args:?} wrote to stdout:\n{}",
            done.stdout
        );
        assert!(!done.stderr.is_empty(), "{args:?} said nothing");
    }

    let schema = run(&["schema", "result"], Duration::from_secs(10));
    assert_eq!(schema.code(), 0);
    let schema: Value = serde_json::from_str(&schema.stdout).expect("schema is JSON");
    assert!(schema["properties"]["schema_version"].is_object());

    for shell in ["bash", "zsh", "fish", "powershell"] {
        let done = run(&["completions", shell], Duration::from_secs(10));
        assert_eq!(done.code(), 0, "{shell}: {}", done.stderr);
        for word in ["nexus-bench", "validate", "save-baseline"] {
            assert!(
                done.stdout.contains(word),
                "{shell} completion lacks {word}"
            );
        }
    }
    let bad = run(&["completions", "tcsh"], Duration::from_secs(10));
    assert_eq!(bad.code(), 2, "{}", bad.stderr);

    let man = run(&["man"], Duration::from_secs(10));
    assert_eq!(man.code(), 0, "{}", man.stderr);
    assert!(man.stdout.starts_with(".ie") || man.stdout.contains(".TH nexus-bench"));
    assert!(man.stdout.contains("Exit codes"), "{}", man.stdout);
    let pages = tmp.path().join("man1");
    let done = run(
        &["man", "--out-dir", path_str(&pages)],
        Duration::from_secs(10),
    );
    assert_eq!(done.code(), 0, "{}", done.stderr);
    let run_page = std::fs::read_to_string(pages.join("nexus-bench-run.1")).expect("run page");
    assert!(run_page.contains("save\\-baseline"), "{run_page}");
}

/// `--threads 0` is refused by the argument parser, with the reason.
#[test]
fn zero_threads_is_refused() {
    let done = run(
        &[
            "run",
            path_str(&repo("scenarios/smoke.toml")),
            "--threads",
            "0",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(done.code(), 2, "{}", done.stderr);
    assert!(done.stderr.contains("--threads"), "{}", done.stderr);
}
