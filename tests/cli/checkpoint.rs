//! A run killed outright (SIGKILL: no handler, no final save) loses at most its last
//! checkpoint interval: `result.json` holds the totals of the last checkpoint and the
//! journal beside it every second up to then, and `report` reads the two.

use std::time::{Duration, Instant};

use crate::support::{load_lock, repo, run, run_dir, spawn};

fn path_str(p: &std::path::Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// How often a run checkpoints (`CHECKPOINT_EVERY` in `src/app/drive.rs`).
const CHECKPOINT_S: i64 = 10;

#[test]
fn sigkill_loses_at_most_the_last_checkpoint_interval() {
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
    running.wait_for_line("embedded all target at", Duration::from_secs(20));
    let started = Instant::now();
    // Past two checkpoints, between two others: the worst moment is just before the next.
    std::thread::sleep(Duration::from_millis(27_500));
    let killed_after = started.elapsed().as_secs_f64();
    running.child.kill().expect("SIGKILL the run");
    let _ = running.child.wait();

    let dir = run_dir(out.path(), "smoke");
    assert!(dir.join("result.journal").is_file(), "the journal is left");
    let r = nexus_bench::result::load(&dir).expect("the checkpoint loads with its journal");
    assert_eq!(r.status, nexus_bench::result::RunStatus::Running);
    assert!(r.totals.requests > 0, "the last checkpoint's totals");
    let offsets: Vec<i64> = r.timeseries.iter().map(|s| s.offset_s).collect();
    assert!(offsets.first().is_some_and(|&o| o <= 1), "{offsets:?}");
    assert!(
        offsets.windows(2).all(|w| w[1] == w[0] + 1),
        "every second, once: {offsets:?}"
    );
    let last = *offsets.last().expect("seconds");
    // The run started ~1 s before the target's line; one checkpoint interval plus the
    // second being sealed may be missing, no more.
    let lost = killed_after - last as f64;
    assert!(
        lost <= (CHECKPOINT_S + 3) as f64,
        "killed after {killed_after:.1} s, the journal ends at second {last}"
    );
    let requests: u64 = r.timeseries.iter().map(|s| s.requests).sum();
    assert!(
        requests >= r.totals.requests,
        "{requests} < {}",
        r.totals.requests
    );

    let report = run(&["report", path_str(&dir)], Duration::from_secs(60));
    assert_eq!(report.code(), 0, "stderr:\n{}", report.stderr);
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(html.contains("<svg"), "charts from the journal's seconds");
}
