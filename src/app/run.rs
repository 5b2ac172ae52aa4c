//! `nexus-bench run`.

use super::Outcome;
use crate::cli::RunArgs;

/// Runs `nexus-bench run`.
pub fn run(_args: RunArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`run` is not implemented yet")
}
