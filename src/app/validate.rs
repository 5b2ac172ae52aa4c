//! `nexus-bench validate`: loads each scenario and prints (on stderr, for people) its resolved
//! plan, or every problem.

use super::Outcome;
use crate::cli::ValidateArgs;
use crate::scenario::{self, Overrides};

/// Runs `nexus-bench validate`.
pub fn validate(args: ValidateArgs) -> anyhow::Result<Outcome> {
    let overrides = Overrides {
        set: args.set,
        ..Overrides::default()
    };
    let mut failed = false;
    for path in &args.scenarios {
        match scenario::load(path, &overrides) {
            Ok(plan) => {
                eprintln!("ok: {}", path.display());
                eprintln!("{}", scenario::describe(&plan));
            }
            Err(errors) => {
                eprintln!("{errors}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        Outcome::Invalid
    } else {
        Outcome::Pass
    })
}
