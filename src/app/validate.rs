//! `nexus-bench validate`.

use super::Outcome;
use crate::cli::ValidateArgs;

/// Runs `nexus-bench validate`.
pub fn validate(_args: ValidateArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`validate` is not implemented yet")
}
