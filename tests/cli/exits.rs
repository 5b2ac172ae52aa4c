//! Exit codes end to end, and that no child process outlives a run that fails or is
//! interrupted.

use std::net::TcpListener;
use std::time::Duration;

use crate::support::{
    accepts, alive, children_of, embedded_addr, load_lock, repo, result_json, run, run_dir, spawn,
};

fn path_str(p: &std::path::Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A failing SLO exits 1 with the result saved, and the embedded target is gone afterwards.
#[test]
fn failing_slo_exits_1_and_leaves_no_child() {
    let out = tempfile::tempdir().expect("temp dir");
    let scenario = repo("scenarios/cache.toml");
    let _serial = load_lock();
    let mut running = spawn(&[
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
    ]);
    let line = running.wait_for_line("embedded cache target at", Duration::from_secs(20));
    let addr = embedded_addr(&line);
    let children = children_of(running.child.id());
    assert!(
        !children.is_empty(),
        "the embedded target is a child process"
    );
    let done = running.finish(Duration::from_secs(40));
    assert_eq!(done.code(), 1, "stderr:\n{}", done.stderr);

    let result = result_json(&run_dir(out.path(), "cache"));
    assert_eq!(result["verdict"], "fail");
    let failed: Vec<&str> = result["slos"]
        .as_array()
        .expect("slos")
        .iter()
        .filter(|s| s["pass"] == false)
        .filter_map(|s| s["key"].as_str())
        .collect();
    assert!(failed.contains(&"get.latency.p99"), "failed: {failed:?}");
    assert!(
        !accepts(addr),
        "the embedded target still listens at {addr}"
    );
    for pid in children {
        assert!(!alive(pid), "child {pid} survived the run");
    }
}

/// An invalid scenario exits 2 and says where the problem is.
#[test]
fn invalid_scenario_exits_2_naming_file_line_col() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("broken.toml");
    std::fs::write(
        &file,
        "name = \"broken\"\n[target]\nbase_url = \"embedded:cache\"\n[load]\nmodel = \"closed\"\nusers = \"many\"\nduration = \"1s\"\n[[requests]]\nname = \"a\"\npath = \"/\"\n",
    )
    .expect("write scenario");
    let done = run(
        &["run", path_str(&file), "--out", path_str(dir.path())],
        Duration::from_secs(20),
    );
    assert_eq!(done.code(), 2, "stderr:\n{}", done.stderr);
    let at = format!("{}:6:9", file.display());
    assert!(done.stderr.contains(&at), "{at} in:\n{}", done.stderr);
    assert!(
        !dir.path().join("broken").exists(),
        "no run folder for a scenario that never ran"
    );
}

/// A target nobody listens on exits 2 before any load is sent.
#[test]
fn unreachable_target_exits_2() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let out = tempfile::tempdir().expect("temp dir");
    let target = format!("http://127.0.0.1:{port}");
    let done = run(
        &[
            "run",
            path_str(&repo("scenarios/cache.toml")),
            "--out",
            path_str(out.path()),
            "--target",
            &target,
            "--duration",
            "2s",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(done.code(), 2, "stderr:\n{}", done.stderr);
    assert!(
        done.stderr.contains("unreachable") && done.stderr.contains(&target),
        "stderr:\n{}",
        done.stderr
    );
}

/// SIGINT mid-run: exit 130, result.json saved as interrupted, nothing left running.
#[test]
fn sigint_exits_130_saves_the_result_and_leaves_no_child() {
    let out = tempfile::tempdir().expect("temp dir");
    let scenario = repo("scenarios/smoke.toml");
    let _serial = load_lock();
    let mut running = spawn(&[
        "run",
        path_str(&scenario),
        "--out",
        path_str(out.path()),
        "--duration",
        "60s",
    ]);
    let line = running.wait_for_line("embedded all target at", Duration::from_secs(20));
    let addr = embedded_addr(&line);
    let children = children_of(running.child.id());
    assert!(
        !children.is_empty(),
        "the embedded target is a child process"
    );
    std::thread::sleep(Duration::from_millis(2500));
    let pid = i32::try_from(running.child.id()).expect("pid fits");
    // SAFETY: kill(2) on the pid of our own child process; no memory is involved.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let done = running.finish(Duration::from_secs(20));
    assert_eq!(done.code(), 130, "stderr:\n{}", done.stderr);

    let result = result_json(&run_dir(out.path(), "smoke"));
    assert_eq!(result["status"], "interrupted");
    assert!(result["totals"]["requests"].as_u64().unwrap_or(0) > 0);
    assert!(
        !accepts(addr),
        "the embedded target still listens at {addr}"
    );
    for pid in children {
        assert!(!alive(pid), "child {pid} survived the interrupted run");
    }
}
