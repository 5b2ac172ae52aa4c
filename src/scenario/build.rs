//! Builds the [`Plan`] from the raw model: target, load profile, data sets and SLOs (requests
//! and flows are in [`super::request`]). Every problem is collected, none stops the others.

use std::path::Path;
use std::time::Duration;

use http::HeaderName;

use super::check::{Ctx, split_help};
use super::errors::did_you_mean;
use super::raw::{RawData, RawLevel, RawLoad, RawModel, RawScenario, RawTarget, Sp, SpMap};
use super::slo::{self, Part};
use crate::plan::template::Scope;
use crate::plan::{
    DataSet, Load, LoadModel, Plan, Profile, Slo, Source, Stage, Target, TargetBase, Template,
};
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
    let load = load(ctx, &raw.load, duration);
    let data = data(ctx, &raw.data);
    let built = super::request::build(ctx, raw, &data);
    let names: Vec<&str> = built.requests.iter().map(|r| r.name.as_str()).collect();
    let slos = slos(ctx, &raw.slo, &names);
    let max_body = match &raw.target.max_body {
        None => 16_000_000,
        Some(v) => units::parse_bytes(v.get()).unwrap_or_else(|e| {
            let (msg, _) = split_help(&e);
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
        slos,
        max_body_bytes: max_body as usize,
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
    Target {
        base,
        headers,
        http2: t.http2,
        connect_timeout: ctx.duration(
            "connect_timeout",
            t.connect_timeout.as_ref(),
            Duration::from_secs(2),
        ),
    }
}

/// Checks an absolute `http://` URL (templates inside are allowed).
pub(crate) fn check_http_url(
    ctx: &mut Ctx<'_>,
    field: &str,
    url: &str,
    span: std::ops::Range<usize>,
) {
    if url.starts_with("https://") {
        ctx.err(
            span,
            format!("`{field}`: https is not supported yet"),
            Some("use http:// (HTTP/1.1 or h2c), or put a TLS-terminating proxy in front".into()),
        );
    } else if !url.starts_with("http://") || url.len() <= "http://".len() {
        ctx.err(
            span,
            format!("`{field}` = `{url}` is not an http:// URL"),
            Some(if field == "base_url" {
                "write e.g. \"http://127.0.0.1:8080\" or \"embedded:cache\"".into()
            } else {
                "write e.g. \"http://127.0.0.1:8080/health\"".into()
            }),
        );
    }
}

/// Compiles a header table: lowercase names, template values.
pub(crate) fn headers(
    ctx: &mut Ctx<'_>,
    raw: &SpMap<Sp<String>>,
    scope: &Scope<'_>,
) -> Vec<(HeaderName, Template)> {
    let mut out = Vec::new();
    for (name, value) in &raw.0 {
        let lower = name.get().to_ascii_lowercase();
        let template = ctx.template(value, scope);
        match HeaderName::from_bytes(lower.as_bytes()) {
            Ok(h) => out.push((h, template)),
            Err(_) => ctx.err(
                name.span(),
                format!("`{}` is not a valid header name", name.get()),
                Some("header names are letters, digits and `-`, e.g. \"x-api-key\"".into()),
            ),
        }
    }
    out
}

/// A level in the model's unit: users (closed, whole numbers) or a rate per second (open).
fn level(ctx: &mut Ctx<'_>, model: RawModel, field: &str, v: &Sp<RawLevel>) -> f64 {
    match (model, v.get()) {
        (RawModel::Closed, RawLevel::Number(n)) if *n >= 0.0 && n.fract() == 0.0 => *n,
        (RawModel::Closed, _) => {
            ctx.err(
                v.span(),
                format!("`{field}` must be a whole number of users in the closed model"),
                Some("write e.g. 100 (rates such as \"100/s\" are for model = \"open\")".into()),
            );
            0.0
        }
        (RawModel::Open, RawLevel::Number(n)) if *n >= 0.0 => *n,
        (RawModel::Open, RawLevel::Text(t)) => units::parse_rate(t).unwrap_or_else(|e| {
            let (msg, _) = split_help(&e);
            ctx.err(
                v.span(),
                format!("`{field}`: {msg}"),
                Some("write e.g. \"500/s\"".into()),
            );
            0.0
        }),
        (RawModel::Open, RawLevel::Number(_)) => {
            ctx.err(
                v.span(),
                format!("`{field}` must not be negative"),
                Some("write e.g. \"500/s\"".into()),
            );
            0.0
        }
    }
}

fn misplaced<T>(ctx: &mut Ctx<'_>, field: &str, v: &Option<Sp<T>>, model: &str, instead: &str) {
    if let Some(v) = v {
        ctx.err(
            v.span(),
            format!("`{field}` does not apply to the {model} model"),
            Some(format!(
                "the {model} model uses {instead}; or change `model`"
            )),
        );
    }
}

fn load(
    ctx: &mut Ctx<'_>,
    l: &RawLoad,
    duration_override: Option<(&str, std::ops::Range<usize>)>,
) -> Load {
    let model = *l.model.get();
    let (constant, constant_name) = match model {
        RawModel::Closed => {
            misplaced(ctx, "rate", &l.rate, "closed", "`users`");
            misplaced(ctx, "max_in_flight", &l.max_in_flight, "closed", "`users`");
            let users = l.users.as_ref().map(|u| {
                if *u.get() < 1 {
                    ctx.err(
                        u.span(),
                        "`users` must be at least 1",
                        Some("write e.g. users = 32".into()),
                    );
                }
                (*u.get() as f64, u.span())
            });
            (users, "users")
        }
        RawModel::Open => {
            misplaced(ctx, "users", &l.users, "open", "`rate`");
            misplaced(ctx, "think_time", &l.think_time, "open", "`rate`");
            let rate = l
                .rate
                .as_ref()
                .map(|r| (level(ctx, model, "rate", r), r.span()));
            (rate, "rate")
        }
    };
    let override_d = duration_override.and_then(|(text, span)| match units::parse_duration(text) {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) | Err(_) => {
            ctx.err(
                span,
                format!("`{text}` is not a positive duration"),
                Some("write e.g. --duration 30s".into()),
            );
            None
        }
    });
    let mut measured = match (&constant, &l.stages) {
        (Some(_), Some(st)) => {
            ctx.err(
                st.span(),
                format!("`{constant_name}` and `stages` are both set"),
                Some(format!(
                    "use `{constant_name}` + `duration` for a constant load, or `stages` for a ramp"
                )),
            );
            Profile::constant(0.0, Duration::ZERO)
        }
        (None, None) => {
            ctx.err(
                l.model.span(),
                format!("the load has neither `{constant_name}` nor `stages`"),
                Some(format!(
                    "add e.g. {}",
                    if model == RawModel::Closed {
                        "users = 32 and duration = \"30s\""
                    } else {
                        "rate = \"1000/s\" and duration = \"30s\""
                    }
                )),
            );
            Profile::constant(0.0, Duration::ZERO)
        }
        (Some((lvl, span)), None) => {
            if let Some(s) = &l.start {
                ctx.err(
                    s.span(),
                    "`start` only applies with `stages`",
                    Some("remove it".into()),
                );
            }
            let d = match &l.duration {
                None if override_d.is_none() => {
                    ctx.err(
                        span.clone(),
                        "`duration` is missing: a constant load needs one",
                        Some("add e.g. duration = \"30s\" to [load]".into()),
                    );
                    Duration::ZERO
                }
                _ => ctx.duration("duration", l.duration.as_ref(), Duration::ZERO),
            };
            Profile::constant(*lvl, override_d.unwrap_or(d))
        }
        (None, Some(st)) => stages(ctx, l, model, st, override_d),
    };
    let warmup = ctx.duration("warmup", l.warmup.as_ref(), Duration::ZERO);
    if !warmup.is_zero() {
        let l0 = if measured.start > 0.0 {
            measured.start
        } else {
            measured.stages.first().map_or(0.0, |s| s.target)
        };
        measured.stages.insert(
            0,
            Stage {
                duration: warmup,
                target: l0,
            },
        );
        measured.start = l0;
    }
    let model = match model {
        RawModel::Closed => LoadModel::Closed {
            think_time: ctx.duration("think_time", l.think_time.as_ref(), Duration::ZERO),
        },
        RawModel::Open => LoadModel::Open {
            max_in_flight: match &l.max_in_flight {
                Some(m) if *m.get() < 1 => {
                    ctx.err(
                        m.span(),
                        "`max_in_flight` must be at least 1",
                        Some("write e.g. max_in_flight = 1000".into()),
                    );
                    1
                }
                Some(m) => *m.get() as usize,
                None => 1000,
            },
        },
    };
    Load {
        model,
        profile: measured,
        warmup,
        drain: ctx.duration("drain", l.drain.as_ref(), Duration::from_secs(2)),
    }
}

fn stages(
    ctx: &mut Ctx<'_>,
    l: &RawLoad,
    model: RawModel,
    st: &Sp<Vec<super::raw::RawStage>>,
    total: Option<Duration>,
) -> Profile {
    if let Some(d) = &l.duration {
        ctx.err(
            d.span(),
            "`duration` does not go with `stages`: the stages give the length",
            Some("remove `duration`, or replace `stages` with a constant load".into()),
        );
    }
    if st.get().is_empty() {
        ctx.err(
            st.span(),
            "`stages` is empty",
            Some("add e.g. { duration = \"30s\", target = 100 }".into()),
        );
    }
    let start = l
        .start
        .as_ref()
        .map_or(0.0, |s| level(ctx, model, "start", s));
    let mut stages: Vec<Stage> = st
        .get()
        .iter()
        .map(|s| {
            let duration = ctx.duration("duration", Some(&s.duration), Duration::ZERO);
            if duration.is_zero() {
                ctx.err(
                    s.duration.span(),
                    "a stage must last longer than zero",
                    Some("write e.g. \"30s\"".into()),
                );
            }
            Stage {
                duration,
                target: level(ctx, model, "target", &s.target),
            }
        })
        .collect();
    let sum: Duration = stages.iter().map(|s| s.duration).sum();
    if let Some(total) = total.filter(|_| !sum.is_zero()) {
        let k = total.as_secs_f64() / sum.as_secs_f64();
        for s in &mut stages {
            s.duration = s.duration.mul_f64(k);
        }
    }
    Profile { start, stages }
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

fn slos(ctx: &mut Ctx<'_>, raw: &SpMap<Sp<String>>, names: &[&str]) -> Vec<Slo> {
    let mut out = Vec::new();
    for (key, value) in &raw.0 {
        match slo::parse(key.get(), value.get()) {
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
    out
}
