//! A load split over instances (issue #12), end to end on loopback: one `nexus-bench serve`
//! as the target, one open-model run against it, then the same scenario as 3 processes that
//! find their instance number the way a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`) or
//! Slurm (`SLURM_PROCID`/`SLURM_NTASKS`) tells them, sharing a `--start-at`. Together (summed
//! here and by `nexus-bench merge`) they send exactly the single run's schedule, the same
//! requests per name, nothing dropped, and never the same CSV row twice (counted by the
//! target: distinct cache keys written). Also: a late
//! instance exits 3 without load, an instance with no users still runs and exits 0, and an
//! instance's SLOs never fail it.

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nexus_bench::plan::{Arrivals, Profile, Stage};
use serde_json::Value;

use crate::support::{BIN, Finished, Served, load_lock, result_json, run, run_dir, spawn_command};

/// `nexus-bench serve --api all` on a free loopback port (plain HTTP); killed on drop.
fn serve_all() -> Served {
    let served = Served::start(&["--api", "all"]);
    assert!(
        served.url.starts_with("http://127.0.0.1:"),
        "served URL: {:?}",
        served.url
    );
    served
}

/// Distinct keys in the cache of the target at `served` (after its pending maintenance, so
/// exact).
fn cache_entries(served: &Served) -> u64 {
    let addr = served.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to serve");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let req = format!(
        "POST /api/v1/cache/optimize HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    std::io::Write::write_all(&mut stream, req.as_bytes()).expect("send");
    let mut resp = String::new();
    std::io::Read::read_to_string(&mut stream, &mut resp).expect("read");
    let body = resp.split("\r\n\r\n").nth(1).expect("a body");
    let stats: Value = serde_json::from_str(body).expect("JSON stats");
    stats["entries"].as_u64().expect("entries")
}

/// The load: 50/s rising to 200/s over 1 s, then 1 s at 200/s (a start level and a ramp).
fn profile() -> Profile {
    Profile {
        start: 50.0,
        stages: vec![
            Stage {
                duration: Duration::from_secs(1),
                target: 200.0,
            },
            Stage {
                duration: Duration::from_secs(1),
                target: 200.0,
            },
        ],
    }
}

/// Writes the open-model scenario for `url`: a weighted mix of three names, the cache
/// writes keyed on a CSV row (2 000 rows: more than the work, so no row needs reusing).
fn scenario(dir: &Path, url: &str) -> PathBuf {
    let keys: String = std::iter::once("key\n".to_string())
        .chain((0..2000).map(|i| format!("row{i}\n")))
        .collect();
    std::fs::write(dir.join("keys.csv"), keys).expect("write keys.csv");
    let text = format!(
        r#"name = "split"

[target]
base_url = "{url}"

[load]
model = "open"
max_in_flight = 3000
start = "50/s"
stages = [{{ duration = "1s", target = "200/s" }}, {{ duration = "1s", target = "200/s" }}]
warmup = "0s"
drain = "5s"

[[data]]
name = "keys"
file = "keys.csv"

[[requests]]
name = "set"
weight = 5
method = "POST"
path = "/api/v1/cache/set"
json = {{ key = "{{{{ keys.key }}}}", value = 1, ttl_s = 600 }}
expect = {{ status = [200, 201] }}

[[requests]]
name = "get"
weight = 3
path = "/api/v1/cache/get/other"
expect = {{ status = [200, 404] }}

[[requests]]
name = "health"
weight = 2
path = "/healthz"

[slo]
"error_rate" = "< 1%"
"#
    );
    let path = dir.join("split.toml");
    std::fs::write(&path, text).expect("write the scenario");
    path
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

/// Requests per name, and the totals, of a result.
fn counts(result: &Value) -> (BTreeMap<String, u64>, u64) {
    let per_name = result["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().expect("name").to_string(),
                e["requests"].as_u64().expect("requests"),
            )
        })
        .collect();
    (
        per_name,
        result["totals"]["requests"].as_u64().expect("requests"),
    )
}

/// No errors, drops or cancellations: every scheduled arrival was sent and answered.
fn clean(result: &Value, who: &str) {
    let t = &result["totals"];
    for field in ["errors", "dropped", "cancelled"] {
        assert_eq!(t[field].as_u64(), Some(0), "{who}: {field} in {t}");
    }
}

/// Runs 3 instances at once, `env(i)` giving each its environment and `extra` the common
/// arguments; returns their results in instance order.
fn three_instances(
    dir: &Path,
    scenario: &Path,
    tag: &str,
    env: impl Fn(u32) -> Vec<(&'static str, String)>,
    extra: &[&str],
) -> Vec<Value> {
    let runs: Vec<_> = (0..3u32)
        .map(|i| {
            let out = dir.join(format!("{tag}-{i}"));
            let mut cmd = Command::new(BIN);
            cmd.args([
                "run",
                scenario.to_str().expect("UTF-8"),
                "--quiet",
                "--threads",
                "1",
            ])
            .args(["--out", out.to_str().expect("UTF-8")])
            .args(["--no-html", "--no-extra-outputs"])
            .args(extra)
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("SLURM_PROCID")
            .env_remove("SLURM_NTASKS");
            for (k, v) in env(i) {
                cmd.env(k, v);
            }
            (out, spawn_command(cmd))
        })
        .collect();
    runs.into_iter()
        .enumerate()
        .map(|(i, (out, running))| {
            let done: Finished = running.finish(Duration::from_secs(60));
            assert_eq!(done.code(), 0, "instance {i} ({tag}):\n{}", done.stderr);
            result_json(&run_dir(&out, "split"))
        })
        .collect()
}

/// Checks that three instance results together are the single run: same total (the
/// schedule's count), the same requests per name, each instance its `n mod 3` share.
fn same_as_single(parts: &[Value], single: &BTreeMap<String, u64>, scheduled: u64, start_ms: i64) {
    let mut sum: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0;
    for (i, r) in parts.iter().enumerate() {
        clean(r, &format!("instance {i}"));
        let info = &r["instances"][0];
        assert_eq!(info["instance"].as_u64(), Some(i as u64), "{info}");
        assert_eq!(info["instances"].as_u64(), Some(3), "{info}");
        assert_eq!(
            info["start_at"].as_str(),
            Some(&*nexus_bench::result::rfc3339_ms(start_ms))
        );
        // The measured clock starts at the agreed start, on every instance.
        assert_eq!(r["start_unix_ms"].as_i64(), Some(start_ms));
        assert_eq!(r["run_id"], parts[0]["run_id"], "one run id");
        let (per_name, requests) = counts(r);
        // Arrival n is instance n mod 3's: 3k+i < scheduled.
        let share = (scheduled - i as u64).div_ceil(3);
        assert_eq!(requests, share, "instance {i}'s share");
        for (name, n) in per_name {
            *sum.entry(name).or_default() += n;
        }
        total += requests;
    }
    assert_eq!(
        total, scheduled,
        "the instances together send the schedule exactly"
    );
    // The mix is keyed on the global arrival number and the instances' arrivals are the
    // single run's, so each name's count is exactly the single run's (the issue's bound,
    // within one, holds a fortiori).
    assert_eq!(&sum, single, "requests per name, split vs single");
}

#[test]
fn three_instances_send_exactly_the_single_schedule() {
    let _lock = load_lock();
    let dir = tempfile::tempdir().expect("temp dir");
    let scheduled = Arrivals::all(&profile()).count() as u64;
    // 50 t + 75 t² over the first second, then 200/s.
    assert_eq!(scheduled, 325);

    let served = serve_all();
    let scenario = scenario(dir.path(), &served.url);
    let out = dir.path().join("single");
    let single = run(
        &[
            "run",
            scenario.to_str().expect("UTF-8"),
            "--quiet",
            "--threads",
            "2",
            "--no-html",
            "--no-extra-outputs",
            "--out",
            out.to_str().expect("UTF-8"),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(single.code(), 0, "{}", single.stderr);
    let single = result_json(&run_dir(&out, "split"));
    clean(&single, "single run");
    let (single_names, single_total) = counts(&single);
    assert_eq!(single_total, scheduled, "the single run sends its schedule");
    assert_eq!(single["instances"][0]["instances"].as_u64(), Some(1));
    let single_sets = single_names["set"];
    assert_eq!(
        cache_entries(&served),
        single_sets,
        "one key per set request"
    );
    drop(served);

    // Kubernetes: JOB_COMPLETION_INDEX and --instances, one agreed start and run id.
    let served = serve_all();
    let scenario = self::scenario(dir.path(), &served.url);
    let start_ms = now_ms() + 5_000;
    let start = start_ms.to_string();
    let k8s = three_instances(
        dir.path(),
        &scenario,
        "k8s",
        |i| vec![("JOB_COMPLETION_INDEX", i.to_string())],
        &[
            "--instance",
            "auto",
            "--instances",
            "3",
            "--start-at",
            &start,
            "--start-tolerance",
            "10s",
            "--run-id",
            "job-42",
        ],
    );
    same_as_single(&k8s, &single_names, scheduled, start_ms);
    assert_eq!(k8s[0]["run_id"], "job-42");
    // `nexus-bench merge` (the run's gate) accepts the complete set and adds it up to the
    // single run's schedule and mix.
    let merged = dir.path().join("merged");
    let mut args = vec![
        "merge".to_string(),
        "-o".into(),
        merged.display().to_string(),
    ];
    for i in 0..3 {
        args.push(
            run_dir(&dir.path().join(format!("k8s-{i}")), "split")
                .display()
                .to_string(),
        );
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let done = run(&args, Duration::from_secs(60));
    let m = result_json(&merged);
    let (merged_names, merged_total) = counts(&m);
    assert_eq!(merged_total, scheduled, "merged: {}", done.stderr);
    assert_eq!(merged_names, single_names);
    clean(&m, "merged run");
    // A pass, unless the machine was too busy to judge a generator (then the merge says so).
    assert!(
        done.code() == 0 || (done.code() == 2 && m["verdict"] == "unjudgeable"),
        "merge exit {}: {}",
        done.code(),
        done.stderr
    );
    // Instances never share a row: every set request wrote its own key.
    let sets: u64 = k8s.iter().map(|r| counts(r).0["set"]).sum();
    assert_eq!(
        cache_entries(&served),
        sets,
        "distinct CSV rows across instances"
    );
    drop(served);

    // Slurm: SLURM_PROCID and SLURM_NTASKS, an RFC 3339 start; the run id derives from
    // the scenario's hash and that start, the same on every instance.
    let served = serve_all();
    let scenario = self::scenario(dir.path(), &served.url);
    let start_ms = (now_ms() / 1000 + 6) * 1000;
    let start = nexus_bench::result::rfc3339_ms(start_ms);
    let slurm = three_instances(
        dir.path(),
        &scenario,
        "slurm",
        |i| {
            vec![
                ("SLURM_PROCID", i.to_string()),
                ("SLURM_NTASKS", "3".to_string()),
            ]
        },
        &[
            "--instance",
            "auto",
            "--start-at",
            &start,
            "--start-tolerance",
            "10s",
        ],
    );
    same_as_single(&slurm, &single_names, scheduled, start_ms);
    let sha = slurm[0]["scenario"]["sha256"].as_str().expect("sha256");
    assert_eq!(slurm[0]["run_id"], format!("{}-{start_ms}", &sha[..12]));
}

/// Writes a closed-model scenario of `users` users for 1 s, with an SLO no run can meet.
fn closed_scenario(dir: &Path, url: &str, users: u32) -> PathBuf {
    let text = format!(
        "name = \"split\"\n\n[target]\nbase_url = \"{url}\"\n\n[load]\nmodel = \"closed\"\nusers = {users}\nduration = \"1s\"\nwarmup = \"0s\"\n\n\
         [[requests]]\nname = \"health\"\npath = \"/healthz\"\n\n[slo]\n\"latency.p50\" = \"< 1us\"\n"
    );
    let path = dir.join("closed.toml");
    std::fs::write(&path, text).expect("write the scenario");
    path
}

#[test]
fn an_instance_runs_without_users_and_never_fails_on_slos() {
    let _lock = load_lock();
    let dir = tempfile::tempdir().expect("temp dir");
    let served = serve_all();
    let scenario = closed_scenario(dir.path(), &served.url, 2);
    let s = scenario.to_str().expect("UTF-8");
    let run_one = |tag: &str, extra: &[&str]| -> (Finished, Value) {
        let out = dir.path().join(tag);
        let mut args = vec!["run", s, "--no-html", "--no-extra-outputs"];
        args.extend_from_slice(&["--out", out.to_str().expect("UTF-8")]);
        args.extend_from_slice(extra);
        let done = run(&args, Duration::from_secs(40));
        let result = result_json(&run_dir(&out, "split"));
        (done, result)
    };
    // On one machine the impossible SLO fails the run…
    let (done, _) = run_one("whole", &[]);
    assert_eq!(done.code(), 1, "{}", done.stderr);
    // …as an instance it is judged and written, but the exit code says only "ran".
    let (done, result) = run_one("share", &["--instance", "0", "--instances", "3"]);
    assert_eq!(done.code(), 0, "{}", done.stderr);
    assert_eq!(
        result["verdict"], "fail",
        "the share's SLOs are still evaluated"
    );
    assert!(result["totals"]["requests"].as_u64() > Some(0));
    assert!(done.stderr.contains("nexus-bench merge"), "{}", done.stderr);
    // Instance 2 of 3 has no user of 2: it runs the full duration and writes an empty result.
    let begun = std::time::Instant::now();
    let (done, result) = run_one("empty", &["--instance", "2", "--instances", "3"]);
    assert_eq!(done.code(), 0, "{}", done.stderr);
    assert!(
        begun.elapsed() >= Duration::from_secs(1),
        "it ran its duration"
    );
    assert_eq!(result["totals"]["requests"].as_u64(), Some(0));
    assert_eq!(result["instances"][0]["instance"].as_u64(), Some(2));
    assert_eq!(result["status"], "completed");
}

#[test]
fn a_late_instance_exits_3_without_load_and_bad_instances_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let served = serve_all();
    let scenario = closed_scenario(dir.path(), &served.url, 2);
    let s = scenario.to_str().expect("UTF-8");
    let out = dir.path().join("late");
    let late = (now_ms() - 5_000).to_string();
    let done = run(
        &[
            "run",
            s,
            "--out",
            out.to_str().expect("UTF-8"),
            "--start-at",
            &late,
        ],
        Duration::from_secs(30),
    );
    assert_eq!(done.code(), 3, "{}", done.stderr);
    assert!(done.stderr.contains("too late to start"), "{}", done.stderr);
    assert!(
        !out.join("split").exists(),
        "no run folder: no load was sent"
    );
    for (args, says) in [
        (
            &["--instance", "3", "--instances", "3"][..],
            "instance 3 does not exist",
        ),
        (&["--instance", "1"][..], "needs `--instances N`"),
        (&["--instance", "auto"][..], "neither is set"),
        (&["--start-at", "soon"][..], "neither RFC 3339"),
    ] {
        let mut all = vec!["run", s, "--out", out.to_str().expect("UTF-8")];
        all.extend_from_slice(args);
        let mut cmd = Command::new(BIN);
        cmd.args(&all)
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("SLURM_PROCID");
        let done = spawn_command(cmd).finish(Duration::from_secs(30));
        assert_eq!(done.code(), 2, "{args:?}: {}", done.stderr);
        assert!(done.stderr.contains(says), "{args:?}: {}", done.stderr);
    }
    // validate --instances prints each instance's share: 2 users over 3 instances.
    let done = run(
        &["validate", s, "--instances", "3"],
        Duration::from_secs(30),
    );
    assert_eq!(done.code(), 0, "{}", done.stderr);
    for line in [
        "instance 0: start: 1",
        "instance 1: start: 1",
        "instance 2: start: 0",
    ] {
        // What validate prints is for people: stderr.
        assert!(done.stderr.contains(line), "{line:?} in\n{}", done.stderr);
    }
}
