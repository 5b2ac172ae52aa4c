//! Results reassembled from `kubectl logs --prefix` output (`run --emit-result` frames,
//! `merge --from-logs`): the committed fixture `fixtures/logs/kubectl-logs-prefix.txt`
//! holds three instances' frames interleaved with their other log lines.

use nexus_bench::result::{self, check_set};

use crate::merge::fixture;

const LOG: &str = "fixtures/logs/kubectl-logs-prefix.txt";

#[test]
fn results_reassemble_from_prefixed_interleaved_kubectl_logs() {
    let text = std::fs::read(fixture(LOG)).unwrap();
    let results = result::parse_frames(text.as_slice()).unwrap();
    let ids: Vec<(Option<&str>, u32)> = results
        .iter()
        .map(|r| (r.run_id.as_deref(), r.instances[0].instance))
        .collect();
    assert_eq!(
        ids,
        vec![
            (Some("fixture-run"), 0),
            (Some("fixture-run"), 1),
            (Some("fixture-run"), 2)
        ]
    );
    check_set(&results, false).unwrap();
    let m = result::merge(&results).unwrap();
    let sum: u64 = results.iter().map(|r| r.totals.requests).sum();
    assert!(sum > 100);
    assert_eq!(m.totals.requests, sum);
}

#[test]
fn a_damaged_fixture_log_is_refused_naming_instance_and_frame() {
    let text = std::fs::read_to_string(fixture(LOG)).unwrap();
    // Drop instance 1's second frame.
    let dropped: String = text
        .lines()
        .filter(|l| !(l.contains("NEXUS-BENCH-RESULT v1 fixture-run 1 2/")))
        .map(|l| format!("{l}\n"))
        .collect();
    let err = result::parse_frames(dropped.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("instance 1 of run fixture-run (pod/split-cache-1-"),
        "{err}"
    );
    assert!(err.contains("frames (missing 2)"), "{err}");
    // Change one character inside instance 2's first frame.
    let altered = text;
    let at = altered
        .find("NEXUS-BENCH-RESULT v1 fixture-run 2 1/")
        .unwrap();
    let end = at + altered[at..].find('\n').unwrap();
    let mut bytes = altered.into_bytes();
    bytes[end - 3] = if bytes[end - 3] == b'x' { b'y' } else { b'x' };
    let err = result::parse_frames(bytes.as_slice())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("corrupt frame 1/") && err.contains("of instance 2 (run fixture-run)"),
        "{err}"
    );
}

/// Regenerates `fixtures/logs/kubectl-logs-prefix.txt`: three real instances of
/// `split_cache.toml` (`--instance i --instances 3 --run-id fixture-run`, one `--start-at`)
/// against one `nexus-bench serve`, each with `--emit-result`; their stdout and stderr laid
/// out as
/// `kubectl logs -l … --tail=-1 --prefix` prints it: pod 0's lines (stderr and frames), then
/// pods 1 and 2 interleaved line by line (as with `-f` over several pods).
#[test]
#[ignore = "regenerates a committed fixture"]
fn generate_log_fixture() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    const BIN: &str = env!("CARGO_BIN_EXE_nexus-bench");
    let mut serve = Command::new(BIN)
        .args(["serve", "--api", "cache", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let start = (chrono::Utc::now().timestamp_millis() + 3000).to_string();
    let children: Vec<_> = (0..3)
        .map(|i| {
            Command::new(BIN)
                .args([
                    "run",
                    "fixtures/scenarios/e2e/split_cache.toml",
                    "--threads",
                    "1",
                ])
                .args(["--instance", &i.to_string(), "--instances", "3"])
                .args(["--run-id", "fixture-run", "--start-at", &start])
                .args([
                    "--no-html",
                    "--emit-result",
                    "--target",
                    url.trim(),
                    "--out",
                ])
                .arg(tmp.path().join(format!("i{i}")))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut pods: Vec<Vec<String>> = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let prefix = format!("[pod/split-cache-{i}-q{i}x7z/nexus-bench] ");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let mut lines: Vec<String> = stderr
            .lines()
            .map(|l| {
                // No path of the machine that made the fixture.
                let l = if l.starts_with("report: ") {
                    "report: reports/split-cache/20261129T234845Z/report.html"
                } else {
                    l
                };
                format!("{prefix}{}", l.replace('\r', ""))
            })
            .collect();
        // The frames come last on stdout while stderr's last lines may still be written.
        let tail = lines.split_off(lines.len().saturating_sub(2));
        let frames: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| format!("{prefix}{l}"))
            .collect();
        lines.push(frames[0].clone());
        lines.extend(tail);
        lines.extend(frames[1..].iter().cloned());
        pods.push(lines);
    }
    let _ = serve.kill();
    let _ = serve.wait();
    let mut log = pods[0].clone();
    let (a, b) = (&pods[1], &pods[2]);
    for k in 0..a.len().max(b.len()) {
        log.extend(a.get(k).cloned());
        log.extend(b.get(k).cloned());
    }
    std::fs::create_dir_all(fixture("fixtures/logs")).unwrap();
    std::fs::write(fixture(LOG), log.join("\n") + "\n").unwrap();
}
