//! `nexus-bench compare`.

use super::Outcome;
use crate::cli::CompareArgs;

/// Runs `nexus-bench compare`.
pub fn compare(_args: CompareArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`compare` is not implemented yet")
}
