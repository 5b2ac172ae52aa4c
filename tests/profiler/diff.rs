//! Proof of the CPU profile diff: a baseline of the embedded reference target, then a run
//! whose target burns CPU in `nexus_fault_burn_cpu` on the measured route; the diff table's
//! top entry is that function and `target-diff.svg` is written and embedded in the report.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn scenario(dir: &Path, file: &str, embedded_args: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(
        &path,
        format!(
            r#"name = "burn-diff"
[target]
base_url = "embedded:supervisor"
embedded_args = [{embedded_args}]

[load]
model = "closed"
users = 2
duration = "4s"
warmup = "1s"

[[requests]]
name = "health"
path = "/api/health"

[profile]
target = true
seconds = 3
"#
        ),
    )
    .unwrap();
    path
}

/// Runs `nexus-bench run` (bounded) in `dir` and returns the run folder.
fn run(dir: &Path, args: &[&str]) -> PathBuf {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nexus-bench"))
        .current_dir(dir)
        .arg("run")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("nexus-bench run took over 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    let report = stderr
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .unwrap_or_else(|| panic!("no report line: {stderr}"));
    let report = dir.join(report.trim());
    assert!(!stderr.contains("warning: CPU profile diff"), "{stderr}");
    report.parent().unwrap().to_path_buf()
}

#[test]
fn a_cpu_burn_tops_the_profile_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let plain = scenario(dir, "plain.toml", "");
    let burning = scenario(dir, "burning.toml", r#""--burn-cpu", "/api/health:1ms""#);
    let base = dir.join("baselines").join("burn-diff.json");
    std::fs::create_dir_all(base.parent().unwrap()).unwrap();
    let base_arg = base.to_str().unwrap();

    let first = run(dir, &[plain.to_str().unwrap(), "--save-baseline", base_arg]);
    assert!(first.join("target.pb.gz").is_file());
    assert!(
        dir.join("baselines/burn-diff.target.pb.gz").is_file(),
        "the baseline keeps the target profile"
    );

    // The fault knob is in the scenario (embedded_args), so the file differs: --force.
    let second = run(
        dir,
        &[burning.to_str().unwrap(), "--baseline", base_arg, "--force"],
    );
    let svg = std::fs::read_to_string(second.join("target-diff.svg"))
        .unwrap_or_else(|e| panic!("target-diff.svg in {}: {e}", second.display()));
    assert!(svg.contains("nexus_fault_burn_cpu"));
    let summary = std::fs::read_to_string(second.join("summary.md")).unwrap();
    let first_row = summary
        .lines()
        .skip_while(|l| !l.starts_with("| function | self before"))
        .nth(2)
        .unwrap_or_else(|| panic!("no diff table in summary.md:\n{summary}"));
    assert!(
        first_row.contains("nexus_fault_burn_cpu"),
        "top entry: {first_row}\n{summary}"
    );
    let report = std::fs::read_to_string(second.join("report.html")).unwrap();
    assert!(report.contains("id=\"profile-diff-table\""));
    assert!(report.contains("CPU profile diff flamegraph"));

    // `compare` with profiles on both sides says the same and rewrites the diff SVG.
    std::fs::remove_file(second.join("target-diff.svg")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nexus-bench"))
        .current_dir(dir)
        .args(["compare", base_arg])
        .arg(second.join("result.json"))
        .arg("--force")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first_row = stderr
        .lines()
        .skip_while(|l| !l.starts_with("| function | self before"))
        .nth(2)
        .unwrap_or_else(|| panic!("no diff table from compare:\n{stderr}"));
    assert!(first_row.contains("nexus_fault_burn_cpu"), "{stderr}");
    assert!(second.join("target-diff.svg").is_file());
}
