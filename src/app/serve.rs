//! `nexus-bench serve`.

use super::Outcome;
use crate::cli::ServeArgs;

/// Runs `nexus-bench serve`.
pub fn serve(_args: ServeArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`serve` is not implemented yet")
}
