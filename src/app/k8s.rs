//! `nexus-bench k8s render`: validates the scenario, bundles it with the files it names, fixes
//! the shared start time and run id, and prints the ConfigMap and Indexed Job (YAML) of an
//! N-instance run for `kubectl apply -f -`.

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use super::Outcome;
use crate::cli::{K8sCommand, K8sRenderArgs};
use crate::deploy::{bundle, k8s};
use crate::plan::TargetBase;
use crate::scenario::{self, Overrides};

/// Slack on top of the lead time and the scenario's own length before Kubernetes ends the Job:
/// pulling the image, scheduling, the start barrier's tolerance, writing and printing results.
const DEADLINE_SLACK: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs `nexus-bench k8s …`.
pub fn k8s(command: K8sCommand) -> anyhow::Result<Outcome> {
    match command {
        K8sCommand::Render(args) => render(args),
    }
}

fn render(args: K8sRenderArgs) -> anyhow::Result<Outcome> {
    let overrides = Overrides {
        set: args.set.clone(),
        target: args.target.clone(),
        ..Overrides::default()
    };
    let plan = match scenario::load(&args.scenario, &overrides) {
        Ok(plan) => plan,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(Outcome::Invalid);
        }
    };
    let bundle = bundle::bundle(&args.scenario)?;

    let now = Utc::now();
    let start = match &args.start_at {
        Some(text) => parse_instant(text)?,
        None => {
            let lead = crate::units::parse_duration(&args.start_in)
                .map_err(|e| anyhow::anyhow!("--start-in {}: {e}", args.start_in))?;
            let at = now + TimeDelta::from_std(lead).context("--start-in is too long")?;
            // Whole seconds, rounded up: the lead time is never shortened.
            let ms = at.timestamp_millis();
            DateTime::from_timestamp_millis(ms + (1000 - ms.rem_euclid(1000)) % 1000)
                .context("start time out of range")?
        }
    };
    if start <= now {
        eprintln!(
            "warning: the start time {} has passed: every instance would exit 3 (too late to start)",
            start.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
    }
    let start_at = start.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    let run_id = args.run_id.clone().unwrap_or_else(|| {
        format!(
            "{}-{}",
            plan.name.to_ascii_lowercase(),
            start.format("%Y%m%dt%H%M%Sz")
        )
    });
    if matches!(plan.target.base, TargetBase::Embedded { .. }) {
        eprintln!(
            "warning: the target is `embedded:`: every pod would load its own reference server, \
             not a shared service; pass --target URL to aim the instances at one"
        );
    }
    if plan.launch.is_some() {
        eprintln!(
            "warning: the scenario launches its target (`[target] command`): every pod would \
             start its own copy, if the image holds it"
        );
    }
    // The Job may run for the lead time, the scenario and its drain, and some slack.
    let lead = (start - now).to_std().unwrap_or_default();
    let deadline = lead + plan.load.profile.duration() + plan.load.drain + DEADLINE_SLACK;

    let mut extra_args = Vec::new();
    if let Some(url) = &args.target {
        extra_args.extend(["--target".to_owned(), url.clone()]);
    }
    for kv in &args.set {
        extra_args.extend(["--set".to_owned(), kv.clone()]);
    }
    let spec = k8s::JobSpec {
        bundle: &bundle,
        scenario_name: &plan.name,
        instances: args.instances,
        image: &args.image,
        namespace: args.namespace.as_deref(),
        start_at: &start_at,
        run_id: &run_id,
        cpu: &args.cpu,
        memory: &args.memory,
        extra_args: &extra_args,
        deadline,
    };
    print!("{}", k8s::render(&spec)?);
    Ok(Outcome::Pass)
}

/// An RFC 3339 instant or Unix milliseconds.
fn parse_instant(text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(ms) = text.parse::<i64>() {
        return DateTime::from_timestamp_millis(ms)
            .with_context(|| format!("--start-at {text}: out of range"));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| {
            format!("--start-at {text}: not an RFC 3339 time (2026-11-30T12:00:00Z) or Unix milliseconds")
        })
}
