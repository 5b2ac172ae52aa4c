//! Builds the [`Plan`] from the raw model: target, load profile, data sets and SLOs (requests
//! and flows are in [`super::request`]). Every problem is collected, none stops the others.

use std::path::Path;
use std::time::Duration;

use super::check::{Ctx, check_http_url, headers, split_help};
use super::errors::did_you_mean;
use super::raw::{RawData, RawScenario, RawSloValue, RawTarget, Sp, SpMap};
use super::slo::{self, Part};
use crate::plan::template::Scope;
use crate::plan::{DataSet, Plan, Slo, Source, Target, TargetBase};
use crate::units;

const APIS: &[&str] = &["supervisor", "mesh", "cache", "all"];

/// Builds the plan; problems are left in `ctx.errors`.
pub(crate) fn plan(
    ctx: &mut Ctx<'_>,
    raw: &RawScenario,
    source: Source,
    duration: Option<(&str, std::ops::Range<usize>)>,
) -> Plan {
    ctx.name("scenario name", &raw.name);
    let target = target(ctx, &raw.target);
    let load = super::load::load(ctx, &raw.load, duration);
    let data = data(ctx, &raw.data);
    let built = super::request::build(ctx, raw, &data);
    let names: Vec<&str> = built.requests.iter().map(|r| r.name.as_str()).collect();
    let (slos, warn_not_gated) = slos(ctx, &raw.slo, &names);
    let launch = super::observe::launch(ctx, &raw.target, &target.base);
    let probes = super::observe::probes(ctx, &raw.probes);
    let measured = load.profile.duration().saturating_sub(load.warmup);
    let target_profile = super::observe::profile(ctx, raw.profile.as_ref(), measured);
    let heap_profile = super::observe::heap_profile(ctx, raw.profile.as_ref());
    super::observe::check_slos(ctx, raw, &slos, &probes);
    let max_body = match &raw.target.max_body {
        None => 16_000_000,
        Some(v) => units::parse_bytes(v.get()).unwrap_or_else(|e| {
            let (msg, _) = split_help(&e.to_string());
            ctx.err(
                v.span(),
                format!("`max_body` is not a size: {msg}"),
                Some("write e.g. \"16MB\" or \"512KiB\"".into()),
            );
            0
        }),
    };
    Plan {
        name: raw.name.get().clone(),
        description: raw.description.clone().unwrap_or_default(),
        source,
        target,
        load,
        requests: built.requests,
        mix: built.mix,
        variables: built.variables,
        data: data.into_iter().map(|(_, d)| d).collect(),
        streams: built.streams,
        slos,
        warn_not_gated,
        max_body_bytes: max_body as usize,
        launch,
        probes,
        target_profile,
        heap_profile,
        gate: gate(ctx, raw.baseline.as_ref()),
        split: Default::default(),
        identity: Default::default(),
    }
}

/// `[baseline]`: the regression gate's parameters, checked here so `run --baseline` cannot
/// fail on them after the load.
fn gate(ctx: &mut Ctx<'_>, b: Option<&super::raw::RawBaseline>) -> crate::plan::GateSettings {
    let Some(b) = b else {
        return Default::default();
    };
    const METRICS: &[&str] = &["p50", "p90", "p99", "throughput", "error_rate"];
    let metrics = b.metrics.as_ref().map(|list| {
        list.iter()
            .filter(|m| {
                let ok = METRICS.contains(&m.get().as_str());
                if !ok {
                    ctx.err(
                        m.span(),
                        format!("`{}` is not a gate metric", m.get()),
                        Some(
                            did_you_mean(m.get(), METRICS.iter().copied())
                                .unwrap_or_else(|| format!("use {}", METRICS.join(", "))),
                        ),
                    );
                }
                ok
            })
            .map(|m| m.get().clone())
            .collect()
    });
    let mut percent = |field: &str, v: Option<&Sp<String>>| {
        v.and_then(|v| match units::parse_percent(v.get()) {
            Ok(r) if r >= 0.0 => Some(r),
            _ => {
                ctx.err(
                    v.span(),
                    format!("`{field}` is not a percentage: `{}`", v.get()),
                    Some("write e.g. \"10%\"".into()),
                );
                None
            }
        })
    };
    let max_regression = percent("max_regression", b.max_regression.as_ref());
    let noise = percent("noise", b.noise.as_ref());
    let significance = b.significance.as_ref().and_then(|s| {
        if *s.get() > 0.0 && *s.get() < 1.0 {
            Some(*s.get())
        } else {
            ctx.err(
                s.span(),
                format!("significance {} is not between 0 and 1", s.get()),
                Some("write e.g. significance = 0.05".into()),
            );
            None
        }
    });
    crate::plan::GateSettings {
        metrics,
        max_regression,
        noise,
        significance,
    }
}

fn target(ctx: &mut Ctx<'_>, t: &RawTarget) -> Target {
    let url = t.base_url.get().trim();
    let span = t.base_url.span();
    let base = if let Some(api) = url.strip_prefix("embedded:") {
        if !APIS.contains(&api) {
            ctx.err(
                span.clone(),
                format!("`{api}` is not an embedded API"),
                Some(match did_you_mean(api, APIS.iter().copied()) {
                    Some(h) => h,
                    None => {
                        "use embedded:supervisor, embedded:mesh, embedded:cache or embedded:all"
                            .into()
                    }
                }),
            );
        }
        let args = t
            .embedded_args
            .as_ref()
            .map(|a| a.get().clone())
            .unwrap_or_default();
        TargetBase::Embedded {
            api: api.to_string(),
            args,
        }
    } else {
        if let Some(args) = &t.embedded_args {
            ctx.err(
                args.span(),
                "`embedded_args` only apply to `embedded:` targets",
                Some("remove it, or set base_url = \"embedded:cache\" (or another API)".into()),
            );
        }
        check_http_url(ctx, "base_url", url, span);
        TargetBase::Url(url.trim_end_matches('/').to_string())
    };
    let no_vars = Scope {
        vars: &[],
        all_vars: &[],
        data: &[],
        env: ctx.env,
    };
    let headers = headers(ctx, &t.headers, &no_vars);
    let (http2, auto_h2) = super::tls::http2(ctx, t.http2.as_ref());
    Target {
        base,
        headers,
        http2,
        connect_timeout: ctx.duration(
            "connect_timeout",
            t.connect_timeout.as_ref(),
            Duration::from_secs(2),
        ),
        tls: super::tls::tls(ctx, t.tls.as_ref(), auto_h2),
    }
}

fn data(ctx: &mut Ctx<'_>, raw: &[RawData]) -> Vec<(String, DataSet)> {
    let mut out: Vec<(String, DataSet)> = Vec::new();
    for d in raw {
        ctx.name("data set name", &d.name);
        if out.iter().any(|(n, _)| n == d.name.get()) {
            ctx.err(
                d.name.span(),
                format!("data set `{}` is declared twice", d.name.get()),
                Some("give each [[data]] its own name".into()),
            );
        }
        let path = ctx.dir.join(d.file.get());
        match read_csv(&path) {
            Ok((columns, rows)) => out.push((
                d.name.get().clone(),
                DataSet {
                    file: path,
                    columns,
                    rows,
                },
            )),
            Err((msg, io)) => {
                let help = io.then(|| {
                    format!(
                        "paths are relative to the scenario's folder (`{}`)",
                        display_dir(&ctx.dir)
                    )
                });
                ctx.err(
                    d.file.span(),
                    format!("data file `{}`: {msg}", d.file.get()),
                    help,
                )
            }
        }
    }
    out
}

fn display_dir(dir: &Path) -> String {
    if dir.as_os_str().is_empty() {
        ".".into()
    } else {
        dir.display().to_string()
    }
}

/// A CSV problem: the message, and whether the file could not be read at all.
type CsvProblem = (String, bool);

/// Columns and rows of a CSV file with a header row.
fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), CsvProblem> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| csv_message(&e))?;
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| csv_message(&e))?
        .iter()
        .map(|c| c.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_message(&e))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    if columns.is_empty() {
        return Err(("has no header row".into(), false));
    }
    Ok((columns, rows))
}

fn csv_message(e: &csv::Error) -> CsvProblem {
    match e.kind() {
        csv::ErrorKind::Io(io) => (format!("cannot read it: {io}"), true),
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => (
            format!(
                "line {} has {len} field{} but the header has {expected_len}",
                pos.as_ref().map_or(0, |p| p.line()),
                if *len == 1 { "" } else { "s" }
            ),
            false,
        ),
        _ => (e.to_string(), false),
    }
}

/// The SLOs, and whether to warn when there are none (`default = false` silences it).
fn slos(ctx: &mut Ctx<'_>, raw: &SpMap<Sp<RawSloValue>>, names: &[&str]) -> (Vec<Slo>, bool) {
    let mut out = Vec::new();
    let mut warn_not_gated = true;
    for (key, value) in &raw.0 {
        let cond = match (key.get().as_str(), value.get()) {
            ("default", RawSloValue::Switch(on)) => {
                warn_not_gated = *on;
                continue;
            }
            ("default", RawSloValue::Limit(_)) => {
                ctx.err(
                    value.span(),
                    "`default` in [slo] takes true or false".to_string(),
                    Some("write `default = false` to say that no SLO is intended".into()),
                );
                continue;
            }
            (_, RawSloValue::Switch(_)) => {
                ctx.err(
                    value.span(),
                    format!("`{}` needs a condition, not true or false", key.get()),
                    Some("write e.g. \"< 100ms\"".into()),
                );
                continue;
            }
            (_, RawSloValue::Limit(v)) => v,
        };
        match slo::parse(key.get(), cond) {
            Ok(s) => {
                if let Some(r) = s.request.as_deref().filter(|r| !names.contains(r)) {
                    let candidates = names.iter().copied().chain([
                        "latency",
                        "service_time",
                        "error_rate",
                        "throughput",
                        "expect_pass_rate",
                    ]);
                    ctx.err(
                        key.span(),
                        format!(
                            "`{r}` in `{}` is neither a metric nor a request name",
                            key.get()
                        ),
                        Some(
                            did_you_mean(r, candidates)
                                .unwrap_or_else(|| format!("requests: {}", names.join(", "))),
                        ),
                    );
                } else {
                    out.push(s);
                }
            }
            Err((part, msg, help)) => {
                let span = if part == Part::Key {
                    key.span()
                } else {
                    value.span()
                };
                ctx.err(span, msg, help);
            }
        }
    }
    (out, warn_not_gated)
}
