//! The `nexus-bench` binary: parse arguments, run the subcommand, map the outcome to the
//! documented exit code.

use clap::Parser;

fn main() {
    let cli = nexus_bench::cli::Cli::parse();
    let code = match nexus_bench::app::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            eprintln!("error: {err:#}");
            nexus_bench::app::Outcome::Invalid.exit_code()
        }
    };
    std::process::exit(code);
}
