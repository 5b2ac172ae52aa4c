//! One function per subcommand: the only place that knows every stage, and the only user of
//! `anyhow`.

mod baseline;
mod compare;
mod drive;
mod embedded_tls;
mod heap;
mod init;
mod k8s;
mod merge;
mod observe;
mod profile_diff;
mod progress;
mod report;
mod run;
mod serve;
mod split;
mod target;
mod validate;

use crate::cli::{Cli, Command};

/// How a command ended, mapped to the documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every gate held: exit 0.
    Pass,
    /// A gate failed (SLO or baseline regression): exit 1.
    GateFailed,
    /// The run could not be judged: exit 2.
    Invalid,
    /// Too late to start (`--start-at` passed by more than the tolerance), no load sent:
    /// exit 3.
    TooLate,
    /// Interrupted, results saved: exit 130.
    Interrupted,
}

impl Outcome {
    /// The process exit code.
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Pass => 0,
            Outcome::GateFailed => 1,
            Outcome::Invalid => 2,
            Outcome::TooLate => 3,
            Outcome::Interrupted => 130,
        }
    }
}

/// Whether to colour terminal output: stderr is a terminal and `NO_COLOR` is unset or
/// empty (no-color.org: only a non-empty value turns colour off).
pub fn color_enabled() -> bool {
    use std::io::IsTerminal;
    !no_color() && std::io::stderr().is_terminal()
}

/// Whether `NO_COLOR` asks for no colour: set and not empty.
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    // Every descriptor the hard limit allows, for this process and the targets it starts.
    if let Err(e) = crate::rlimit::raise_nofile() {
        eprintln!("warning: {e}");
    }
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Init(args) => init::init(args),
        Command::Validate(args) => validate::validate(args),
        Command::Serve(args) => serve::serve(args),
        Command::Report(args) => report::report(args),
        Command::Compare(args) => compare::compare(args),
        Command::Merge(args) => merge::merge(args),
        Command::K8s(args) => k8s::k8s(args.command),
        Command::Schema { which } => {
            let schema = match which.as_str() {
                "result" => crate::result::RunResult::json_schema(),
                _ => crate::scenario::json_schema(),
            };
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(Outcome::Pass)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "nexus-bench", &mut std::io::stdout());
            Ok(Outcome::Pass)
        }
        Command::Man { out_dir } => {
            let cmd = <Cli as clap::CommandFactory>::command();
            match out_dir {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)?;
                    clap_mangen::generate_to(cmd, &dir)?;
                    eprintln!("manual pages written to {}", dir.display());
                }
                None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?,
            }
            Ok(Outcome::Pass)
        }
    }
}
