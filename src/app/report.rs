//! `nexus-bench report`.

use super::Outcome;
use crate::cli::ReportArgs;

/// Runs `nexus-bench report`.
pub fn report(_args: ReportArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`report` is not implemented yet")
}
