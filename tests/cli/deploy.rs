//! The engines nexus-bench scales out on (`deploy/`): a real one-node Slurm cluster runs
//! multi-task jobs and a dependent gate job.

use std::time::Duration;

use crate::slurm::Cluster;

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
