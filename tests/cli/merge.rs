//! `nexus-bench merge` as the gate of a distributed run, through the real binary on
//! loopback: three generator processes send one scenario's load to one `nexus-bench serve`
//! at once, and their results are merged and judged as one run.
//!
//! The killed-instance test is a real split run (`run --instance i --instances 3 --run-id
//! --start-at`); the other test marks plain runs' results as instances (`run_id`,
//! `instances`) so it can also judge them unsplit (from logs) and set a saturated one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{BIN, Running, Served, load_lock, repo, result_json, run, run_dir, spawn};

const SCENARIO: &str = "fixtures/scenarios/e2e/split_cache.toml";
const WITHIN: Duration = Duration::from_secs(60);

/// One generator process of the run, writing under `out` and printing its frames, with
/// `split` arguments (`--instance …`) when given.
fn instance(out: &Path, url: &str, split: &[&str]) -> Running {
    let scenario = repo(SCENARIO);
    let mut args = split.to_vec();
    args.extend([
        "run",
        scenario.to_str().unwrap(),
        "--target",
        url,
        "--threads",
        "1",
        "--quiet",
        "--no-html",
        "--emit-result",
        "--out",
        out.to_str().unwrap(),
    ]);
    args.rotate_left(split.len());
    spawn(&args)
}

/// The result of the run under `out` marked as instance `i` of `n` of run `id` (what
/// `run --instance i --instances n --run-id id` records), saved beside it.
fn as_instance(out: &Path, id: &str, i: u32, n: u32, edit: impl Fn(&mut Value)) -> PathBuf {
    let dir = run_dir(out, "split-cache");
    let mut r = result_json(&dir);
    let host = format!("gen-{i}");
    r["run_id"] = json!(id);
    r["instances"] = json!([{ "instance": i, "instances": n, "start_at": null, "hostname": host }]);
    edit(&mut r);
    let path = dir.join(format!("instance-{i}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&r).unwrap()).unwrap();
    path
}

fn merge(out: &Path, extra: &[&str], inputs: &[&Path]) -> crate::support::Finished {
    let mut args = vec!["merge", "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    run(&args, WITHIN)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn killing_one_instance_fails_the_merge_and_names_it() {
    let _lock = load_lock();
    let served = Served::start(&["--api", "cache"]);
    let tmp = tempfile::tempdir().unwrap();
    let outs: Vec<PathBuf> = (0..3).map(|i| tmp.path().join(format!("i{i}"))).collect();
    // A real split run: instances 0..2 of run `run-k`, one agreed start.
    let start = (chrono::Utc::now().timestamp_millis() + 1500).to_string();
    let mut runs: Vec<Running> = outs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let i = i.to_string();
            let split = ["--instance", &i, "--instances", "3", "--run-id", "run-k"];
            let mut split = split.to_vec();
            split.extend(["--start-at", &start]);
            instance(o, &served.url, &split)
        })
        .collect();
    // Instance 1 dies mid-run (SIGKILL: no result of its own, as a lost pod).
    std::thread::sleep(Duration::from_millis(3500));
    let mut killed = runs.remove(1);
    killed.child.kill().unwrap();
    killed.child.wait().unwrap();
    for (n, r) in runs.into_iter().enumerate() {
        let f = r.finish(WITHIN);
        assert_eq!(f.code(), 0, "instance run {n}: {}", f.stderr);
    }
    let (r0, r2) = (
        run_dir(&outs[0], "split-cache").join("result.json"),
        run_dir(&outs[2], "split-cache").join("result.json"),
    );
    let host = result_json(&run_dir(&outs[2], "split-cache"))["instances"][0]["hostname"].clone();

    // Without --allow-partial the gate refuses to judge an incomplete run.
    let refused = merge(&tmp.path().join("m1"), &[], &[&r0, &r2]);
    assert_eq!(refused.code(), 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("run run-k has 3 instances but instance(s) 1 of 0..3 missing")
            && refused.stderr.contains("--allow-partial"),
        "{}",
        refused.stderr
    );
    assert!(!tmp.path().join("m1/result.json").exists());

    // The same instance twice is refused as well, even with --allow-partial.
    let twice = merge(&tmp.path().join("m2"), &["--allow-partial"], &[&r0, &r0]);
    assert_eq!(twice.code(), 2, "{}", twice.stderr);
    assert!(
        twice
            .stderr
            .contains("instance 0 of run run-k is given 2 times"),
        "{}",
        twice.stderr
    );

    // With it: merged and judged, but the verdict is fail and every output names instance 1.
    let out = tmp.path().join("m3");
    let partial = merge(&out, &["--allow-partial"], &[&r0, &r2]);
    assert_eq!(partial.code(), 1, "{}", partial.stderr);
    let m = result_json(&out);
    assert_eq!(m["verdict"], "fail");
    assert_eq!(m["merge"]["missing"], json!([1]));
    assert_eq!(m["run_id"], "run-k");
    let instances: Vec<u64> = m["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instance"].as_u64().unwrap())
        .collect();
    assert_eq!(instances, vec![0, 2]);
    // The SLOs themselves held on the merged numbers: the missing instance alone fails it.
    let slos = m["slos"].as_array().unwrap();
    assert_eq!(slos.len(), 2);
    assert!(slos.iter().all(|s| s["pass"] == true), "{slos:?}");
    let (a, b) = (
        result_json(&run_dir(&outs[0], "split-cache")),
        result_json(&run_dir(&outs[2], "split-cache")),
    );
    assert_eq!(
        m["totals"]["requests"].as_u64().unwrap(),
        a["totals"]["requests"].as_u64().unwrap() + b["totals"]["requests"].as_u64().unwrap()
    );
    let inputs = m["merge"]["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[1]["hostname"], host);
    assert!(inputs.iter().all(|i| i["generator"].is_object()));
    let why = "partial merge: instance(s) 1 of 3 missing";
    let html = read(&out.join("report.html"));
    assert!(
        html.contains("id=\"instance-table\"") && html.contains(why),
        "report.html"
    );
    assert!(
        html.contains("<td>1</td><td>–</td><td>missing</td>"),
        "report.html"
    );
    let md = read(&out.join("summary.md"));
    assert!(
        md.contains("### Instances") && md.contains("| 1 | – | **missing** |"),
        "{md}"
    );
    assert!(md.contains(why), "{md}");
    let junit = read(&out.join("junit.xml"));
    assert!(
        junit.contains("name=\"merge-partial\"") && junit.contains(why),
        "{junit}"
    );
    assert!(partial.stderr.contains("PARTIAL"), "{}", partial.stderr);
}

/// Each line of `text` as `kubectl logs --prefix` shows it for `pod`.
fn prefixed(pod: &str, text: &str) -> Vec<String> {
    text.lines()
        .map(|l| format!("[pod/{pod}/nexus-bench] {l}"))
        .collect()
}

#[test]
fn complete_instances_pass_from_files_and_logs_and_a_saturated_one_is_unjudgeable() {
    let _lock = load_lock();
    let served = Served::start(&["--api", "cache"]);
    let tmp = tempfile::tempdir().unwrap();
    let outs: Vec<PathBuf> = (0..3).map(|i| tmp.path().join(format!("i{i}"))).collect();
    let runs: Vec<Running> = outs.iter().map(|o| instance(o, &served.url, &[])).collect();
    let done: Vec<_> = runs.into_iter().map(|r| r.finish(WITHIN)).collect();
    for (n, f) in done.iter().enumerate() {
        assert_eq!(f.code(), 0, "instance run {n}: {}", f.stderr);
        assert!(f.stdout.lines().all(|l| l.len() < 4096));
    }
    let sum = |key: &str| -> u64 {
        outs.iter()
            .map(|o| {
                result_json(&run_dir(o, "split-cache"))["totals"][key]
                    .as_u64()
                    .unwrap()
            })
            .sum()
    };

    // What `run --emit-result` printed, as `kubectl logs --prefix` returns it for the job's
    // pods: each pod's lines prefixed, pods one after another, with unrelated lines around.
    let mut log = vec!["Defaulted container \"nexus-bench\" out of: nexus-bench".to_string()];
    for (n, f) in done.iter().enumerate() {
        let pod = format!("split-cache-{n}-x{n}k2q");
        log.push(format!("[pod/{pod}/nexus-bench] starting instance {n}"));
        log.extend(prefixed(&pod, &f.stdout));
    }
    let log_path = tmp.path().join("pods.log");
    std::fs::write(&log_path, log.join("\n") + "\n").unwrap();
    let out = tmp.path().join("from-logs");
    let from_logs = merge(&out, &["--from-logs", log_path.to_str().unwrap()], &[]);
    assert_eq!(from_logs.code(), 0, "{}", from_logs.stderr);
    assert!(
        from_logs.stderr.contains("3 result(s) reassembled"),
        "{}",
        from_logs.stderr
    );
    let m = result_json(&out);
    assert_eq!(m["totals"]["requests"].as_u64().unwrap(), sum("requests"));
    assert_eq!(m["merge"]["inputs"].as_array().unwrap().len(), 3);
    assert!(out.join("report.html").exists() && out.join("junit.xml").exists());

    // The same log on stdin (`--from-logs -`), as piped from kubectl.
    let mut piped = Command::new(BIN)
        .args(["merge", "-q", "--from-logs", "-", "-o"])
        .arg(tmp.path().join("stdin"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = piped.stdin.take().unwrap();
        stdin.write_all((log.join("\n") + "\n").as_bytes()).unwrap();
    }
    let deadline = std::time::Instant::now() + WITHIN;
    let status = loop {
        if let Some(status) = piped.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "merge from stdin hung"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let m = result_json(&tmp.path().join("stdin"));
    assert_eq!(m["totals"]["requests"].as_u64().unwrap(), sum("requests"));

    // A frame cut short in the log is refused, naming the frame.
    let cut: Vec<String> = log
        .iter()
        .map(|l| {
            if l.contains(" 1/") && l.contains("NEXUS-BENCH-RESULT") && l.contains("-1-x1k2q") {
                l[..l.len() - 7].to_string()
            } else {
                l.clone()
            }
        })
        .collect();
    std::fs::write(&log_path, cut.join("\n") + "\n").unwrap();
    let corrupt = merge(
        &tmp.path().join("cut"),
        &["--from-logs", log_path.to_str().unwrap()],
        &[],
    );
    assert_eq!(corrupt.code(), 2, "{}", corrupt.stderr);
    assert!(
        corrupt.stderr.contains("corrupt frame 1/"),
        "{}",
        corrupt.stderr
    );

    // The same runs as instances 0..2 of one run: complete, so the gate judges the SLOs.
    // On a machine its own results call busy (other work or steal, judged by nexus-bench),
    // 40 requests/s can still start late and mark a generator saturated, which would make
    // this merge unjudgeable by the machine's fault; only then is that mark cleared here
    // (the saturated case itself is proven below by setting it).
    let files: Vec<PathBuf> = (0..3)
        .map(|i| {
            as_instance(&outs[i as usize], "run-c", i, 3, |r| {
                let g = &mut r["generator"];
                if g["saturated"] == true && g["machine"]["busy"] == true {
                    eprintln!("instance {i}: saturated on a busy machine; judged as not saturated");
                    g["saturated"] = json!(false);
                }
            })
        })
        .collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let out = tmp.path().join("complete");
    let complete = merge(&out, &[], &refs);
    assert_eq!(complete.code(), 0, "{}", complete.stderr);
    let m = result_json(&out);
    assert_eq!(m["verdict"], "pass");
    assert_eq!(m["totals"]["requests"].as_u64().unwrap(), sum("requests"));
    assert_eq!(m["merge"]["missing"], json!([]));
    let schema: Value = serde_json::from_str(&read(&repo("schema/result.schema.json"))).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&m).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");

    // Judged by the scenario file instead of the recorded SLOs: it must be the file they ran.
    let by_file = merge(
        &tmp.path().join("by-file"),
        &["--scenario", repo(SCENARIO).to_str().unwrap()],
        &refs,
    );
    assert_eq!(by_file.code(), 0, "{}", by_file.stderr);
    let other = repo("fixtures/scenarios/e2e/cache_short.toml");
    let wrong = merge(
        &tmp.path().join("wrong"),
        &["--scenario", other.to_str().unwrap()],
        &refs,
    );
    assert_eq!(wrong.code(), 2, "{}", wrong.stderr);
    assert!(
        wrong
            .stderr
            .contains("not the scenario file the results ran"),
        "{}",
        wrong.stderr
    );

    // A baseline gate on the merged run, as `run --baseline` does: against itself, with a
    // few seconds measured, the comparison is inconclusive, and an inconclusive gate is no
    // pass (exit 2); the comparison is in the report.
    let base = out.join("result.json");
    let again = tmp.path().join("again");
    let gated = merge(&again, &["--baseline", base.to_str().unwrap()], &refs);
    assert_eq!(gated.code(), 2, "{}", gated.stderr);
    assert!(gated.stderr.contains("INCONCLUSIVE"), "{}", gated.stderr);
    assert!(read(&again.join("report.html")).contains("id=\"baseline\""));

    // One instance's generator saturated: the merged run cannot be judged, by name.
    let saturated = as_instance(&outs[2], "run-c", 2, 3, |r| {
        r["generator"]["saturated"] = json!(true);
    });
    let out = tmp.path().join("saturated");
    let judged = merge(&out, &[], &[refs[0], refs[1], &saturated]);
    assert_eq!(judged.code(), 2, "{}", judged.stderr);
    let m = result_json(&out);
    assert_eq!(m["verdict"], "unjudgeable");
    let html = read(&out.join("report.html"));
    assert!(
        html.contains("instance 2 (gen-2): the generator was saturated"),
        "report.html"
    );
}
