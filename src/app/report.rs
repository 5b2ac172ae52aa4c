//! `nexus-bench report`: re-renders every output from a saved result.

use super::Outcome;
use crate::cli::ReportArgs;
use crate::output::{OutputOptions, ReportInput, terminal_summary, write_all};

/// Runs `nexus-bench report`: loads the result, writes the outputs next to it (or into
/// `--out`), prints the summary and the paths written. Fails if any output failed.
pub fn report(args: ReportArgs) -> anyhow::Result<Outcome> {
    let result = crate::result::load(&args.result)?;
    let dir = match args.out {
        Some(dir) => dir,
        None if args.result.is_dir() => args.result.clone(),
        None => args
            .result
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_default(),
    };
    let dir = if dir.as_os_str().is_empty() {
        ".".into()
    } else {
        dir
    };
    let input = ReportInput {
        result: &result,
        sections: &[],
    };
    let opts = OutputOptions {
        html: !args.no_html,
        extra: true,
    };
    eprintln!("{}", terminal_summary(&result, super::color_enabled()));
    let mut failed = Vec::new();
    for (path, written) in write_all(&input, &dir, &opts) {
        match written {
            Ok(()) => eprintln!("wrote {}", path.display()),
            Err(e) => {
                eprintln!("error: {e}");
                failed.push(path);
            }
        }
    }
    if !failed.is_empty() {
        anyhow::bail!("{} output(s) could not be written", failed.len());
    }
    Ok(Outcome::Pass)
}
