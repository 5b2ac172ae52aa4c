//! `nexus-bench validate`: loads each scenario and prints (on stderr, for people) its resolved
//! plan, or every problem; with `--instances N`, also each instance's share of the load.

use std::fmt::Write as _;
use std::time::Duration;

use super::Outcome;
use crate::cli::ValidateArgs;
use crate::plan::{LoadModel, Plan, Split, arrivals_before};
use crate::scenario::{self, Overrides};
use crate::units::format_duration;

/// Runs `nexus-bench validate`.
pub fn validate(args: ValidateArgs) -> anyhow::Result<Outcome> {
    if args.instances == Some(0) {
        eprintln!("error: `--instances` must be at least 1");
        return Ok(Outcome::Invalid);
    }
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
                if let Some(n) = args.instances {
                    eprint!("{}", shares(&plan, n));
                }
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

/// Each instance's share of `plan`'s load over `instances` instances: arrivals per stage
/// (open model) or users at each stage's end (closed model), and held streams.
pub(super) fn shares(plan: &Plan, instances: u32) -> String {
    let profile = &plan.load.profile;
    let splits: Vec<Split> = (0..instances)
        .map(|i| Split::new(i, instances).expect("i < instances"))
        .collect();
    // Stage boundaries from the start.
    let mut bounds = vec![Duration::ZERO];
    for stage in &profile.stages {
        bounds.push(*bounds.last().expect("not empty") + stage.duration);
    }
    let mut out = String::new();
    match plan.load.model {
        LoadModel::Open { .. } => {
            let counts: Vec<u64> = bounds
                .iter()
                .map(|&t| arrivals_before(profile, t))
                .collect();
            let total = *counts.last().expect("not empty");
            let _ = writeln!(
                out,
                "split over {instances} instances: {total} arrivals in all, arrival n to instance n mod {instances}"
            );
            for s in &splits {
                let per_stage: Vec<String> = counts
                    .windows(2)
                    .enumerate()
                    .map(|(k, w)| format!("stage {}: {}", k + 1, s.share_of_range(w[0], w[1])))
                    .collect();
                let _ = writeln!(
                    out,
                    "  instance {}: {} arrivals ({})",
                    s.instance(),
                    s.share(total),
                    per_stage.join(", ")
                );
            }
        }
        LoadModel::Closed { .. } => {
            let _ = writeln!(
                out,
                "split over {instances} instances: user u to instance u mod {instances}; users at the start and at the end of each stage"
            );
            let levels: Vec<u64> = bounds.iter().map(|&t| profile.users_at(t)).collect();
            for s in &splits {
                let mut parts = vec![format!("start: {}", s.share(levels[0]))];
                parts.extend(levels[1..].iter().enumerate().map(|(k, &l)| {
                    format!(
                        "stage {} ({}): {}",
                        k + 1,
                        format_duration(profile.stages[k].duration),
                        s.share(l)
                    )
                }));
                let peak = s.share(profile.max_users());
                let _ = writeln!(
                    out,
                    "  instance {}: {}; peak {peak}{}",
                    s.instance(),
                    parts.join(", "),
                    if peak == 0 {
                        " (it still runs the full duration and writes an empty result)"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    for stream in &plan.streams {
        let name = &plan.requests[stream.request].name;
        let per: Vec<String> = splits
            .iter()
            .map(|s| s.share(u64::from(stream.connections)).to_string())
            .collect();
        let _ = writeln!(
            out,
            "  stream `{name}`: {} connections per instance",
            per.join(" / ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(load: &str) -> Plan {
        let text = format!(
            "name = \"s\"\n[target]\nbase_url = \"http://127.0.0.1:1\"\n[load]\n{load}\n\
             [[requests]]\nname = \"r\"\npath = \"/\"\n\
             [[streams]]\nname = \"feed\"\nws = \"/ws\"\nconnections = 4\n"
        );
        scenario::load_str(
            &text,
            std::path::Path::new("s.toml"),
            &Overrides::default(),
            &|_| None,
        )
        .expect("valid")
    }

    #[test]
    fn open_shares_per_stage() {
        // 1 s at 100/s, then 1 s from 100/s to 300/s: 100 + 200 arrivals.
        let p = plan(
            "model = \"open\"\nstart = \"100/s\"\nstages = [{ duration = \"1s\", target = \"100/s\" }, { duration = \"1s\", target = \"300/s\" }]",
        );
        let text = shares(&p, 3);
        assert!(text.contains("300 arrivals in all"), "{text}");
        assert!(
            text.contains("instance 0: 100 arrivals (stage 1: 34, stage 2: 66)"),
            "{text}"
        );
        assert!(
            text.contains("instance 2: 100 arrivals (stage 1: 33, stage 2: 67)"),
            "{text}"
        );
        assert!(
            text.contains("stream `feed`: 2 / 1 / 1 connections"),
            "{text}"
        );
    }

    #[test]
    fn closed_shares_at_each_stage() {
        let p = plan(
            "model = \"closed\"\nstages = [{ duration = \"1s\", target = 5 }, { duration = \"1s\", target = 1 }]",
        );
        let text = shares(&p, 3);
        assert!(
            text.contains("instance 0: start: 0, stage 1 (1s): 2, stage 2 (1s): 1; peak 2"),
            "{text}"
        );
        assert!(
            text.contains("instance 2: start: 0, stage 1 (1s): 1, stage 2 (1s): 0; peak 1"),
            "{text}"
        );
    }
}
