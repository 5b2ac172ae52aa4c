//! `nexus-bench merge`.

use super::Outcome;
use crate::cli::MergeArgs;

/// Runs `nexus-bench merge`.
pub fn merge(_args: MergeArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`merge` is not implemented yet")
}
