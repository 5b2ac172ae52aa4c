//! End to end through the real `nexus-bench` binary on loopback: every shipped scenario passes
//! against its embedded target in a short run, and each exit code (0 pass, 1 gate failed,
//! 2 invalid or unreachable, 130 interrupted) is produced by the situation it stands for,
//! without leaving a child process behind.

#[path = "cli/adhoc.rs"]
mod adhoc;
#[path = "cli/exits.rs"]
mod exits;
#[path = "cli/export.rs"]
mod export;
#[path = "cli/init.rs"]
mod init;
#[path = "cli/output.rs"]
mod output;
#[path = "cli/shipped.rs"]
mod shipped;
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
