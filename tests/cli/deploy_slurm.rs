//! Slurm, the second engine nexus-bench scales out on (`deploy/slurm/`): on a real one-node
//! cluster ([`crate::slurm::Cluster`]), multi-task jobs and a dependent job run, and the
//! shipped scripts run three instances and the gate.

use std::path::PathBuf;
use std::time::Duration;

use crate::deploy::Served;
use crate::slurm::Cluster;
use crate::support::{self, repo};

/// The harness itself: a 3-task step with `srun -n 3 -O` runs every task once (task ids
/// 0..3 of 3), and a job submitted with `--dependency=afterok` runs after it.
#[test]
fn slurm_cluster_runs_a_three_task_job_and_a_dependent_job() {
    let cluster = Cluster::start();
    let out = cluster.dir().join("tasks.out");
    let first = cluster.sbatch(&[
        "-n",
        "3",
        "-O",
        "-o",
        &out.display().to_string(),
        "--wrap",
        "srun -n 3 -O sh -c 'echo task $SLURM_PROCID of $SLURM_NTASKS'",
    ]);
    let after = cluster.dir().join("after.out");
    let second = cluster.sbatch(&[
        "-n",
        "1",
        &format!("--dependency=afterok:{first}"),
        "--kill-on-invalid-dep=yes",
        "-o",
        &after.display().to_string(),
        "--wrap",
        "echo dependent ran",
    ]);
    let (state, code) = cluster.wait_job(second, Duration::from_secs(60));
    assert_eq!(
        (state.as_str(), code.as_str()),
        ("COMPLETED", "0:0"),
        "{}",
        cluster.logs()
    );
    assert_eq!(cluster.job_state(first).0, "COMPLETED");
    let mut tasks: Vec<String> = std::fs::read_to_string(&out)
        .expect("the 3-task job's output")
        .lines()
        .map(str::to_owned)
        .collect();
    tasks.sort();
    assert_eq!(tasks, ["task 0 of 3", "task 1 of 3", "task 2 of 3"]);
    assert_eq!(
        std::fs::read_to_string(&after)
            .expect("the dependent job's output")
            .trim(),
        "dependent ran"
    );
}

/// The shipped Slurm scripts on a real cluster: `deploy/slurm/submit.sh --wait` queues three
/// instances (`srun` tasks, `--instance auto` from SLURM_PROCID/SLURM_NTASKS) against
/// `nexus-bench serve` and the `afterok` gate job; the gate passes (see
/// [`crate::deploy::assert_gate_passed`]), and its merged result holds
/// instances 0, 1 and 2 of one run whose requests add up to exactly the open model's schedule.
#[test]
fn slurm_runs_three_instances_and_the_gate_merges_them_exactly() {
    const RATE: u64 = 300;
    const SECS: u64 = 3;
    // Three generators at once: no other load test may run beside them.
    let _load = support::load_lock();
    let cluster = Cluster::start();
    let served = Served::start();
    let scenario = cluster.dir().join("split.toml");
    std::fs::write(
        &scenario,
        format!(
            "name = \"slurm-split\"\n[target]\nbase_url = \"http://127.0.0.1:9\"\n\
             [load]\nmodel = \"open\"\nrate = \"{RATE}/s\"\nduration = \"{SECS}s\"\n\
             [[requests]]\nname = \"get\"\nweight = 3\npath = \"/api/v1/cache/get/k{{{{ counter }}}}\"\n\
             expect = {{ status = [200, 404] }}\n\
             [[requests]]\nname = \"services\"\npath = \"/api/services\"\n\
             [slo]\n\"error_rate\" = \"< 1%\"\n"
        ),
    )
    .expect("scenario written");
    let shared = cluster.dir().join("runs");
    let mut submit = cluster.command("bash");
    submit
        .arg(repo("deploy/slurm/submit.sh"))
        .arg("--wait")
        .arg(&scenario)
        .args(["--target", &served.url])
        .env("NEXUS_BENCH", support::BIN)
        .env("NEXUS_BENCH_TASKS", "3")
        .env("NEXUS_BENCH_SHARED", &shared)
        .env("NEXUS_BENCH_START_IN", "3")
        // Three tasks on however few CPUs the test machine has.
        .env("NEXUS_BENCH_SBATCH", "--overcommit")
        .current_dir(cluster.dir());
    let out = support::spawn_command(submit).finish(Duration::from_secs(180));
    let logs = || {
        format!(
            "stdout:\n{}\nstderr:\n{}\n{}",
            out.stdout,
            out.stderr,
            cluster.logs()
        )
    };
    let runs: Vec<PathBuf> = std::fs::read_dir(&shared)
        .expect("the shared folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(runs.len(), 1, "one run folder: {runs:?}\n{}", logs());
    let merged = support::result_json(&runs[0].join("merged"));
    crate::deploy::assert_gate_passed(out.code(), &merged, &logs());
    let instances: Vec<(u64, u64)> = merged["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .map(|i| {
            (
                i["instance"].as_u64().unwrap(),
                i["instances"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(instances, [(0, 3), (1, 3), (2, 3)], "{}", logs());
    let run_id = merged["run_id"].as_str().expect("a run id");
    assert!(run_id.starts_with("slurm-"), "{run_id}");
    let totals = &merged["totals"];
    assert_eq!(totals["requests"].as_u64(), Some(RATE * SECS), "{totals}");
    assert_eq!(
        (totals["errors"].as_u64(), totals["dropped"].as_u64()),
        (Some(0), Some(0)),
        "{totals}"
    );
    let per_name: u64 = merged["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .map(|e| e["requests"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(per_name, RATE * SECS);
    // Each instance wrote its own result into the shared folder, and the gate read all three.
    for i in 0..3 {
        assert!(
            runs[0].join(format!("instance-{i}")).is_dir(),
            "instance {i}'s folder"
        );
    }
}

/// The failure path of the shipped scripts: instances that start after the shared start (here
/// set 10 s in the past) exit 3 without sending load, the instances' job fails, the `afterok`
/// gate never runs (cancelled: its dependency can never be satisfied), and `submit.sh --wait`
/// exits 2 ("not judged"), not 0 or 1.
#[test]
fn slurm_instances_too_late_fail_the_job_and_the_gate_does_not_judge() {
    let cluster = Cluster::start();
    // A target that answers, so the instances get as far as the start.
    let served = Served::start();
    let scenario = cluster.dir().join("late.toml");
    std::fs::write(
        &scenario,
        "name = \"slurm-late\"\n[target]\nbase_url = \"http://127.0.0.1:9\"\n\
         [load]\nmodel = \"open\"\nrate = \"10/s\"\nduration = \"1s\"\n\
         [[requests]]\nname = \"get\"\npath = \"/\"\n",
    )
    .expect("scenario written");
    let shared = cluster.dir().join("runs");
    let mut submit = cluster.command("bash");
    submit
        .arg(repo("deploy/slurm/submit.sh"))
        .arg("--wait")
        .arg(&scenario)
        .args(["--target", &served.url])
        .env("NEXUS_BENCH", support::BIN)
        .env("NEXUS_BENCH_TASKS", "3")
        .env("NEXUS_BENCH_SHARED", &shared)
        .env("NEXUS_BENCH_START_IN", "-10")
        .env("NEXUS_BENCH_SBATCH", "--overcommit");
    let out = support::spawn_command(submit).finish(Duration::from_secs(120));
    let logs = format!(
        "stdout:\n{}\nstderr:\n{}\n{}",
        out.stdout,
        out.stderr,
        cluster.logs()
    );
    assert_eq!(out.code(), 2, "not judged\n{logs}");
    assert!(out.stderr.contains("the run was not judged"), "{logs}");
    let job_id = |word: &str| -> u64 {
        out.stdout
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!("submit: {word} job "))?
                    .split(' ')
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no {word} job id\n{logs}"))
    };
    assert_eq!(cluster.job_state(job_id("instances")).0, "FAILED", "{logs}");
    assert_eq!(cluster.job_state(job_id("gate")).0, "CANCELLED", "{logs}");
    // The instances said why, and no run folder was written.
    let run = std::fs::read_dir(&shared)
        .expect("the shared folder")
        .next()
        .expect("one run folder")
        .expect("entry")
        .path();
    let log = std::fs::read_dir(&run)
        .expect("run folder")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("run-"))
        })
        .expect("the instances' job log");
    let text = std::fs::read_to_string(log).expect("log");
    assert!(text.contains("too late to start"), "{text}");
    assert!(!run.join("merged").exists(), "no gate ran");
}
