//! Kubernetes, the first engine nexus-bench scales out on (`deploy/kubernetes/`): `k8s render`
//! output against a golden file and, offline, against the Kubernetes API schemas
//! (`kubernetes-validate --strict`, from the virtualenv `ci/test.sh` creates), with the
//! ConfigMap read back by an independent YAML parser; the rendered pods' command run locally
//! and their logs merged. Slurm: `deploy_slurm.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::{self, repo};

/// The golden render: a shipped scenario, a fixed start (so the run id and the names are fixed
/// too; a start already past leaves no lead time in the Job's deadline, which is then fixed as
/// well, and only adds a warning on stderr), a service target.
const GOLDEN_ARGS: &[&str] = &[
    "k8s",
    "render",
    "scenarios/mesh.toml",
    "--instances",
    "3",
    "--image",
    "ghcr.io/example/nexus-bench:0.1.0",
    "--namespace",
    "load",
    "--start-at",
    "2026-01-01T12:00:00Z",
    "--target",
    "http://mesh.load.svc:8080",
];
const GOLDEN: &str = "fixtures/k8s/mesh-3.yaml";

/// Kubernetes versions the manifests are checked against: the newest the validator knows,
/// and the oldest where every Job field used is GA (`podReplacementPolicy`: 1.34).
const KUBERNETES_VERSIONS: &[&str] = &["1.34.0", "1.37.0"];

fn render(args: &[&str]) -> support::Finished {
    support::run(args, Duration::from_secs(30))
}

#[test]
fn k8s_render_matches_the_golden_file() {
    let out = render(GOLDEN_ARGS);
    assert_eq!(out.code(), 0, "{}", out.stderr);
    let golden = repo(GOLDEN);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &out.stdout).expect("golden file written");
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
    assert!(
        out.stdout == expected,
        "`nexus-bench {}` differs from {GOLDEN}; if the change is intended, regenerate it with \
         UPDATE_GOLDEN=1 cargo test --test cli -- deploy::k8s_render_matches_the_golden_file\n\
         --- rendered:\n{}",
        GOLDEN_ARGS.join(" "),
        out.stdout
    );
}

/// The virtualenv `ci/test.sh` creates with `kubernetes-validate` (and PyYAML, its dependency).
fn venv() -> PathBuf {
    let venv = std::env::var_os("NEXUS_BENCH_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo("target/ci-venv"));
    assert!(
        venv.join("bin/kubernetes-validate").is_file(),
        "no kubernetes-validate in {}: run ci/test.sh, which creates that virtualenv",
        venv.display()
    );
    venv
}

/// Every document of a YAML stream, read by PyYAML (not by anything of ours) and handed back
/// as JSON.
fn parse_yaml(venv: &Path, file: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1]))]))",
        ])
        .arg(file)
        .output()
        .expect("python starts");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from python")
}

#[test]
fn k8s_render_passes_kubernetes_validate_strict_and_ships_the_files_exactly() {
    let venv = venv();
    let dir = tempfile::tempdir().expect("temp dir");
    // The golden scenario; one whose data file lies in a folder above the scenario's; one
    // with a binary body file.
    // (case, render arguments, (path in the bundle, source file) with the scenario first)
    type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case; 3] = [
        (
            "golden",
            &GOLDEN_ARGS[2..],
            &[("mesh.toml", "scenarios/mesh.toml")],
        ),
        (
            "data",
            &[
                "fixtures/scenarios/valid/flows.toml",
                "--instances",
                "16",
                "--image",
                "nexus-bench",
                "--start-in",
                "2m",
                "--target",
                "http://svc:80",
            ],
            &[
                (
                    "scenarios/valid/flows.toml",
                    "fixtures/scenarios/valid/flows.toml",
                ),
                ("data/users.csv", "fixtures/data/users.csv"),
            ],
        ),
        (
            "binary",
            &[
                "fixtures/scenarios/valid/closed.toml",
                "--instances",
                "1",
                "--image",
                "nexus-bench",
                "--cpu",
                "500m",
                "--memory",
                "256Mi",
                "--run-id",
                "ci.run_7",
            ],
            &[
                ("closed.toml", "fixtures/scenarios/valid/closed.toml"),
                ("payload.bin", "fixtures/scenarios/valid/payload.bin"),
            ],
        ),
    ];
    for (name, args, files) in cases {
        let mut cmd = Command::new(support::BIN);
        cmd.args(["k8s", "render"]).args(args).env("API_KEY", "k");
        let out = support::spawn_command(cmd).finish(Duration::from_secs(30));
        assert_eq!(out.code(), 0, "{name}: {}", out.stderr);
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, &out.stdout).expect("manifest written");
        for version in KUBERNETES_VERSIONS {
            let check = Command::new(venv.join("bin/kubernetes-validate"))
                .args(["--strict", "--kubernetes-version", version])
                .arg(&file)
                .output()
                .expect("kubernetes-validate starts");
            let report = String::from_utf8_lossy(&check.stdout).into_owned()
                + &String::from_utf8_lossy(&check.stderr);
            assert!(
                check.status.success(),
                "{name} against {version}:\n{report}\n{}",
                out.stdout
            );
            // Both objects were checked, and passed.
            assert_eq!(
                report.matches(" passed ").count(),
                2,
                "{name} against {version}:\n{report}"
            );
        }

        let docs = parse_yaml(&venv, &file);
        assert_eq!(docs.len(), 2, "{name}: a ConfigMap and a Job");
        let (cm, job) = (&docs[0], &docs[1]);
        assert_eq!(
            (cm["kind"].as_str(), job["kind"].as_str()),
            (Some("ConfigMap"), Some("Job"))
        );
        let items = job["spec"]["template"]["spec"]["volumes"][0]["configMap"]["items"]
            .as_array()
            .expect("volume items");
        assert_eq!(items.len(), files.len(), "{name}: {items:?}");
        for (inside, source) in files {
            let item = items
                .iter()
                .find(|i| i["path"] == *inside)
                .unwrap_or_else(|| panic!("{name}: no item lays out {inside}: {items:?}"));
            let key = item["key"].as_str().expect("a key");
            let shipped = match cm["data"][key].as_str() {
                Some(text) => text.as_bytes().to_vec(),
                None => {
                    use base64::Engine as _;
                    let b64 = cm["binaryData"][key].as_str().expect("data or binaryData");
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .expect("base64")
                }
            };
            let original = std::fs::read(repo(source)).expect("source file");
            assert!(
                shipped == original,
                "{name}: {inside} differs from {source} after a YAML round trip"
            );
        }
        let spec = &job["spec"];
        assert_eq!(spec["completionMode"], "Indexed");
        assert_eq!(spec["completions"], spec["parallelism"]);
        assert_eq!(
            (
                spec["backoffLimitPerIndex"].as_i64(),
                spec["maxFailedIndexes"].as_i64()
            ),
            (Some(0), Some(0))
        );
        let args: Vec<&str> = spec["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| a.as_str().expect("string args"))
            .collect();
        let instances = spec["completions"].to_string();
        let scenario_path = format!("/etc/nexus-bench/scenario/{}", files[0].0);
        for pair in [["--instance", "auto"], ["--instances", instances.as_str()]] {
            assert!(
                args.windows(2).any(|w| w == pair),
                "{name}: {pair:?} in {args:?}"
            );
        }
        assert_eq!(args[..2], ["run", scenario_path.as_str()], "{name}");
        assert!(
            args.contains(&"--emit-result") && args.contains(&"--start-at"),
            "{args:?}"
        );
    }
}

#[test]
fn k8s_render_refuses_what_cannot_work_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("rows.csv");
    std::fs::write(&csv, "id\n1\n").expect("csv");
    let scenario = dir.path().join("abs.toml");
    std::fs::write(
        &scenario,
        format!(
            "name = \"abs\"\n[target]\nbase_url = \"http://127.0.0.1:9\"\n[load]\nmodel = \"closed\"\n\
             users = 1\nduration = \"1s\"\n[[data]]\nname = \"rows\"\nfile = \"{}\"\n\
             [[requests]]\nname = \"get\"\npath = \"/{{{{ rows.id }}}}\"\n",
            csv.display()
        ),
    )
    .expect("scenario");
    let scenario = scenario.display().to_string();
    let cases: [(&[&str], &str); 5] = [
        (&[scenario.as_str(), "--instances", "3"], "absolute path"),
        (
            &["scenarios/bench.toml", "--instances", "0"],
            "--instances must be between 1 and 100000",
        ),
        (
            &[
                "scenarios/bench.toml",
                "--instances",
                "2",
                "--namespace",
                "Load_Test",
            ],
            "not a Kubernetes namespace name",
        ),
        (
            &["scenarios/bench.toml", "--instances", "2", "--cpu", "two"],
            "--cpu `two` is not a Kubernetes quantity",
        ),
        (
            &[
                "scenarios/bench.toml",
                "--instances",
                "2",
                "--run-id",
                "a b",
            ],
            "--run-id `a b` may hold only",
        ),
    ];
    for (extra, message) in cases {
        let args: Vec<&str> = ["k8s", "render", "--image", "img"]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        let out = render(&args);
        assert_eq!(out.code(), 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(message),
            "{args:?}: {message:?} not in\n{}",
            out.stderr
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?}: nothing printed on failure"
        );
    }
}

/// `nexus-bench serve` on a free loopback port; killed on drop.
pub(crate) struct Served {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub(crate) url: String,
}

impl Served {
    pub(crate) fn start() -> Served {
        use std::io::BufRead;
        let mut child = Command::new(support::BIN)
            .args(["serve", "--api", "all", "--addr", "127.0.0.1:0"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nexus-bench serve starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the served URL");
        let url = line.trim().to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "served URL: {url:?}");
        Served { child, url }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The gate's verdict on a merged run of instances that shared this one machine: `pass`
/// (exit 0), or `unjudgeable` (exit 2) only because instances were saturated (sent requests
/// late) while their own results call the machine busy (three generators, the target and
/// other work on few cores): then the gate rightly refused to judge the machine's lateness,
/// which is not what the test is about. Every SLO must have held either way.
pub(crate) fn assert_gate_passed(code: i32, merged: &serde_json::Value, context: &str) {
    let slos_held = merged["slos"]
        .as_array()
        .is_some_and(|s| !s.is_empty() && s.iter().all(|s| s["pass"] == true));
    assert!(slos_held, "every SLO holds: {}\n{context}", merged["slos"]);
    if code == 0 {
        assert_eq!(merged["verdict"], "pass", "{context}");
        return;
    }
    let inputs = merged["merge"]["inputs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let saturated: Vec<&serde_json::Value> = inputs
        .iter()
        .filter(|i| i["generator"]["saturated"] == true)
        .collect();
    let busy_only = !saturated.is_empty()
        && saturated
            .iter()
            .all(|i| i["generator"]["machine"]["busy"] == true);
    assert!(
        code == 2 && merged["verdict"] == "unjudgeable" && busy_only,
        "the gate passes (exit {code}, verdict {})\n{context}",
        merged["verdict"]
    );
    eprintln!(
        "note: {} of {} instances were saturated on a machine their results call busy; the gate \
         refused to judge (exit 2), as it should",
        saturated.len(),
        inputs.len()
    );
}

/// The rendered Job's command works as rendered, without a cluster: the ConfigMap's items are
/// laid out in a folder as the volume would be, each of the three pods' command runs with the
/// `JOB_COMPLETION_INDEX` Kubernetes gives it (the mount paths pointed at that folder and a
/// scratch folder), against `nexus-bench serve`; their logs, prefixed and interleaved line by
/// line as `kubectl logs --prefix` shows them, go to `merge --from-logs`, which passes with
/// instances 0-2 of the rendered run id and exactly the schedule's requests. The scenario's
/// data file lies in a folder beside the scenario's (`../data/ids.csv`).
#[test]
fn k8s_rendered_pods_run_and_their_logs_merge() {
    const RATE: u64 = 200;
    const SECS: u64 = 2;
    // Three generators at once: no other load test may run beside them.
    let _load = support::load_lock();
    let venv = venv();
    let served = Served::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("scenarios")).expect("folders");
    std::fs::create_dir_all(src.join("data")).expect("folders");
    std::fs::write(src.join("data/ids.csv"), "id\na\nb\nc\n").expect("csv");
    let scenario = src.join("scenarios/k8s.toml");
    std::fs::write(
        &scenario,
        format!(
            "name = \"k8s-split\"\n[target]\nbase_url = \"embedded:cache\"\n\
             [load]\nmodel = \"open\"\nrate = \"{RATE}/s\"\nduration = \"{SECS}s\"\n\
             [[data]]\nname = \"ids\"\nfile = \"../data/ids.csv\"\n\
             [[requests]]\nname = \"get\"\nweight = 3\npath = \"/api/v1/cache/get/{{{{ ids.id }}}}\"\n\
             expect = {{ status = [200, 404] }}\n\
             [[requests]]\nname = \"services\"\npath = \"/api/services\"\n\
             [slo]\n\"error_rate\" = \"< 1%\"\n"
        ),
    )
    .expect("scenario written");
    let rendered = render(&[
        "k8s",
        "render",
        &scenario.display().to_string(),
        "--instances",
        "3",
        "--image",
        "nexus-bench",
        "--start-in",
        "4s",
        "--cpu",
        "1",
        "--target",
        &served.url,
    ]);
    assert_eq!(rendered.code(), 0, "{}", rendered.stderr);
    let manifest = dir.path().join("run.yaml");
    std::fs::write(&manifest, &rendered.stdout).expect("manifest");
    let docs = parse_yaml(&venv, &manifest);
    let (cm, job) = (&docs[0], &docs[1]);
    let pod = &job["spec"]["template"]["spec"];

    // The ConfigMap volume, as the kubelet lays it out.
    let mount = dir.path().join("mount");
    for item in pod["volumes"][0]["configMap"]["items"]
        .as_array()
        .expect("items")
    {
        let path = mount.join(item["path"].as_str().expect("path"));
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("folders");
        let text = cm["data"][item["key"].as_str().expect("key")]
            .as_str()
            .expect("text data");
        std::fs::write(path, text).expect("file laid out");
    }
    let container = &pod["containers"][0];
    let mounts = container["volumeMounts"].as_array().expect("mounts");
    let scratch = dir.path().join("scratch");
    let local = |arg: &str| {
        let arg = arg.replace(
            mounts[0]["mountPath"].as_str().unwrap(),
            &mount.display().to_string(),
        );
        arg.replace(
            mounts[1]["mountPath"].as_str().unwrap(),
            &scratch.display().to_string(),
        )
    };
    let args: Vec<String> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| local(a.as_str().expect("string arg")))
        .collect();
    let job_name = job["metadata"]["name"].as_str().expect("job name");
    let pods: Vec<_> = (0..3)
        .map(|i| {
            let mut cmd = Command::new(support::BIN);
            cmd.args(&args).env("JOB_COMPLETION_INDEX", i.to_string());
            support::spawn_command(cmd)
        })
        .collect();
    let logs: Vec<Vec<String>> = pods
        .into_iter()
        .enumerate()
        .map(|(i, pod)| {
            let out = pod.finish(Duration::from_secs(60));
            assert_eq!(out.code(), 0, "pod {i}: {}", out.stderr);
            let prefix = format!("[pod/{job_name}-{i}-x7k2p/nexus-bench] ");
            out.stdout.lines().map(|l| format!("{prefix}{l}")).collect()
        })
        .collect();
    // Interleaved line by line, as logs of several pods arrive.
    let longest = logs.iter().map(Vec::len).max().unwrap_or(0);
    let mut stream = String::new();
    for n in 0..longest {
        for pod in &logs {
            if let Some(line) = pod.get(n) {
                stream.push_str(line);
                stream.push('\n');
            }
        }
    }
    let log_file = dir.path().join("kubectl-logs.txt");
    std::fs::write(&log_file, &stream).expect("log written");
    let merged_dir = dir.path().join("merged");
    let mut merge = Command::new(support::BIN);
    merge
        .args(["merge", "--from-logs"])
        .arg(&log_file)
        .arg("--out")
        .arg(&merged_dir);
    let merged_run = support::spawn_command(merge).finish(Duration::from_secs(60));
    let merged = support::result_json(&merged_dir);
    assert_gate_passed(merged_run.code(), &merged, &merged_run.stderr);
    let instances: Vec<u64> = merged["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .map(|i| i["instance"].as_u64().unwrap())
        .collect();
    assert_eq!(instances, [0, 1, 2]);
    assert_eq!(
        merged["run_id"],
        job["metadata"]["annotations"]["nexus-bench/run-id"]
    );
    assert_eq!(merged["totals"]["requests"].as_u64(), Some(RATE * SECS));
    assert_eq!(merged["totals"]["dropped"].as_u64(), Some(0));
}
