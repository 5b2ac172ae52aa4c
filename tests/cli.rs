//! End to end through the real `nexus-bench` binary on loopback: every shipped scenario passes
//! against its embedded target in a short run, and each exit code (0 pass, 1 gate failed,
//! 2 invalid or unreachable, 3 too late to start, 130 interrupted) is produced by the
//! situation it stands for, without leaving a child process behind; a load split over
//! instances adds up to the single-machine run; the engines it is split on (Kubernetes,
//! Slurm) run the shipped manifests and scripts.

#[path = "cli/adhoc.rs"]
mod adhoc;
#[path = "cli/checkpoint.rs"]
mod checkpoint;
#[path = "cli/deploy.rs"]
mod deploy;
#[path = "cli/deploy_slurm.rs"]
mod deploy_slurm;
#[path = "cli/distributed.rs"]
mod distributed;
#[path = "cli/exits.rs"]
mod exits;
#[path = "cli/export.rs"]
mod export;
#[path = "cli/init.rs"]
mod init;
#[path = "cli/merge.rs"]
mod merge;
#[path = "cli/output.rs"]
mod output;
#[path = "cli/shipped.rs"]
mod shipped;
#[path = "cli/slurm.rs"]
mod slurm;
#[path = "cli/soak.rs"]
mod soak;
#[path = "cli/support.rs"]
mod support;
#[path = "cli/tls.rs"]
mod tls;
#[path = "cli/tls_nginx.rs"]
mod tls_nginx;
#[path = "support/tls/mod.rs"]
mod tls_support;
#[path = "cli/verdicts.rs"]
mod verdicts;
