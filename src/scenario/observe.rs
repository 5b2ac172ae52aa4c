//! What watches the target beside the load: how to launch it (`[target] command`), the
//! `[[probes]]`, the `[profile]`, and the SLOs that depend on them (`target.*` needs a
//! launched target, `probe.<name>` a declared probe).

use std::time::Duration;

use super::check::{Ctx, check_http_url};
use super::errors::did_you_mean;
use super::raw::{RawProbe, RawProfile, RawScenario, RawTarget, Sp};
use crate::plan::{
    DEFAULT_HEAP_PATH, DEFAULT_PROFILE_PATH, HeapProfile, LaunchConfig, Metric, Probe, ProbeRead,
    Slo, TargetBase, TargetProfile,
};

/// The longest default profile window, in seconds.
const DEFAULT_PROFILE_SECONDS: u64 = 10;

/// `[target] command` and its companions; `None` without a command (companions are errors).
pub(crate) fn launch(ctx: &mut Ctx<'_>, t: &RawTarget, base: &TargetBase) -> Option<LaunchConfig> {
    let Some(command) = &t.command else {
        let companions = [
            ("env", t.env.as_ref().map(Sp::span)),
            ("cwd", t.cwd.as_ref().map(Sp::span)),
            ("ready", t.ready.as_ref().map(Sp::span)),
            ("startup_timeout", t.startup_timeout.as_ref().map(Sp::span)),
        ];
        for (field, span) in companions {
            if let Some(span) = span {
                ctx.err(
                    span,
                    format!("`{field}` only applies with `command`"),
                    Some(
                        "add command = [\"./my-service\", …] to launch the target, or remove it"
                            .into(),
                    ),
                );
            }
        }
        return None;
    };
    let base_url = match base {
        TargetBase::Url(url) => url.clone(),
        TargetBase::Embedded { .. } => {
            ctx.err(
                command.span(),
                "`command` needs an http:// base_url, not an `embedded:` target",
                Some(
                    "embedded targets are launched by nexus-bench itself; set base_url = \"http://127.0.0.1:8080\" (where the command listens)"
                        .into(),
                ),
            );
            return None;
        }
    };
    if command.get().first().is_none_or(|p| p.trim().is_empty()) {
        ctx.err(
            command.span(),
            "`command` is empty",
            Some("write the program and its arguments, e.g. [\"./my-service\", \"--port\", \"8080\"]".into()),
        );
    }
    let env = t
        .env
        .as_ref()
        .map(|e| {
            e.get()
                .0
                .iter()
                .map(|(k, v)| (k.get().clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let cwd = t.cwd.as_ref().map(|c| {
        let dir = ctx.dir.join(c.get());
        if !dir.is_dir() {
            ctx.err(
                c.span(),
                format!("`cwd` = `{}` is not a directory", c.get()),
                Some(format!(
                    "paths are relative to the scenario's folder (`{}`)",
                    if ctx.dir.as_os_str().is_empty() {
                        ".".into()
                    } else {
                        ctx.dir.display().to_string()
                    }
                )),
            );
        }
        dir
    });
    let ready = match &t.ready {
        None => format!("{base_url}/"),
        Some(r) => url_or_path(ctx, "ready", r, &base_url),
    };
    let startup_timeout = ctx.duration(
        "startup_timeout",
        t.startup_timeout.as_ref(),
        Duration::from_secs(10),
    );
    Some(LaunchConfig {
        command: command.get().clone(),
        env,
        cwd,
        ready,
        startup_timeout,
    })
}

/// A path (joined to `base_url`) or an absolute `http://` URL.
fn url_or_path(ctx: &mut Ctx<'_>, field: &str, v: &Sp<String>, base_url: &str) -> String {
    let text = v.get().trim();
    if text.starts_with('/') {
        format!("{base_url}{text}")
    } else if text.contains("://") {
        check_http_url(ctx, field, text, v.span());
        text.to_string()
    } else {
        ctx.err(
            v.span(),
            format!("`{field}` = `{text}` is neither a path nor an http:// URL"),
            Some(format!(
                "write e.g. \"/{text}\" or \"http://127.0.0.1:8080/{text}\""
            )),
        );
        text.to_string()
    }
}

/// `[[probes]]`.
pub(crate) fn probes(ctx: &mut Ctx<'_>, raw: &[RawProbe]) -> Vec<Probe> {
    let mut out: Vec<Probe> = Vec::new();
    for p in raw {
        ctx.name("probe name", &p.name);
        if out.iter().any(|o| &o.name == p.name.get()) {
            ctx.err(
                p.name.span(),
                format!("probe `{}` is declared twice", p.name.get()),
                Some("give each [[probes]] its own name".into()),
            );
        }
        let url = p.url.get().trim();
        if url.contains("://") {
            check_http_url(ctx, "url", url, p.url.span());
        } else if !url.starts_with('/') {
            ctx.err(
                p.url.span(),
                format!("probe `url` = `{url}` is neither a path nor an http:// URL"),
                Some(format!("write e.g. \"/{url}\"")),
            );
        }
        let read = match (&p.json, &p.prometheus) {
            (Some(ptr), None) => {
                if !ptr.get().is_empty() && !ptr.get().starts_with('/') {
                    ctx.err(
                        ptr.span(),
                        format!("`json` = `{}` is not a JSON pointer", ptr.get()),
                        Some(format!("JSON pointers start with `/`: \"/{}\"", ptr.get())),
                    );
                }
                if let Some(labels) = &p.labels {
                    ctx.err(
                        labels.span(),
                        "`labels` only apply to `prometheus` probes",
                        Some(
                            "remove it, or read a Prometheus metric with prometheus = \"name\""
                                .into(),
                        ),
                    );
                }
                ProbeRead::Json(ptr.get().clone())
            }
            (None, Some(metric)) => ProbeRead::Prometheus {
                metric: metric.get().trim().to_string(),
                labels: p
                    .labels
                    .as_ref()
                    .map(|l| {
                        l.get()
                            .0
                            .iter()
                            .map(|(k, v)| (k.get().clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            (json, prom) => {
                let span = match (json, prom) {
                    (Some(_), Some(m)) => m.span(),
                    _ => p.name.span(),
                };
                ctx.err(
                    span,
                    format!(
                        "probe `{}` needs exactly one of `json` and `prometheus`",
                        p.name.get()
                    ),
                    Some(
                        "write json = \"/hit_ratio\" (a JSON pointer) or prometheus = \"metric_name\""
                            .into(),
                    ),
                );
                ProbeRead::Json(String::new())
            }
        };
        let interval = ctx.duration("interval", p.interval.as_ref(), Duration::from_secs(1));
        if interval.is_zero()
            && let Some(i) = &p.interval
        {
            ctx.err(
                i.span(),
                "`interval` must be longer than zero",
                Some("write e.g. \"1s\"".into()),
            );
        }
        out.push(Probe {
            name: p.name.get().clone(),
            url: url.to_string(),
            read,
            interval,
        });
    }
    out
}

/// `[profile]`: `None` unless `target = true`. `measured` is the run's length after the
/// warm-up.
pub(crate) fn profile(
    ctx: &mut Ctx<'_>,
    raw: Option<&RawProfile>,
    measured: Duration,
) -> Option<TargetProfile> {
    let raw = raw?;
    let enabled = raw.target.as_ref().is_some_and(|t| *t.get());
    let path = match &raw.path {
        None => DEFAULT_PROFILE_PATH.to_string(),
        Some(p) => {
            if !p.get().starts_with('/') {
                ctx.err(
                    p.span(),
                    format!("`path` = `{}` is not a path", p.get()),
                    Some(format!("write e.g. \"{DEFAULT_PROFILE_PATH}\"")),
                );
            }
            p.get().clone()
        }
    };
    let measured_s = measured.as_secs();
    let seconds = match &raw.seconds {
        None => DEFAULT_PROFILE_SECONDS
            .min(measured_s.saturating_sub(1))
            .max(1),
        Some(s) => {
            let n = *s.get();
            if n < 1 {
                ctx.err(
                    s.span(),
                    format!("`seconds` = {n} must be at least 1"),
                    Some("write e.g. seconds = 10".into()),
                );
                1
            } else if n as f64 > measured.as_secs_f64() {
                ctx.err(
                    s.span(),
                    format!(
                        "`seconds` = {n} is longer than the measured part of the run ({})",
                        crate::units::format_duration(measured)
                    ),
                    Some(format!(
                        "profile at most {} s, or lengthen the load",
                        measured_s.max(1)
                    )),
                );
                1
            } else {
                n as u64
            }
        }
    };
    if !enabled && raw.target.is_none() {
        if let Some(span) = raw
            .path
            .as_ref()
            .map(Sp::span)
            .or(raw.seconds.as_ref().map(Sp::span))
        {
            ctx.err(
                span,
                "`[profile]` does nothing without `target = true`",
                Some("add target = true to fetch the target's CPU profile".into()),
            );
        }
    }
    enabled.then_some(TargetProfile { path, seconds })
}

/// `[profile] heap`: `None` unless `heap = true`; `heap_path` alone is an error.
pub(crate) fn heap_profile(ctx: &mut Ctx<'_>, raw: Option<&RawProfile>) -> Option<HeapProfile> {
    let raw = raw?;
    let enabled = raw.heap.as_ref().is_some_and(|h| *h.get());
    let path = match &raw.heap_path {
        None => DEFAULT_HEAP_PATH.to_string(),
        Some(p) => {
            if !p.get().starts_with('/') {
                ctx.err(
                    p.span(),
                    format!("`heap_path` = `{}` is not a path", p.get()),
                    Some(format!("write e.g. \"{DEFAULT_HEAP_PATH}\"")),
                );
            }
            if raw.heap.is_none() {
                ctx.err(
                    p.span(),
                    "`heap_path` does nothing without `heap = true`",
                    Some("add heap = true to fetch the target's heap profile".into()),
                );
            }
            p.get().clone()
        }
    };
    enabled.then_some(HeapProfile { path })
}

/// SLOs that need what this module builds: `target.*` a launched target, `probe.<name>` a
/// declared probe. Problems point at the SLO's key.
pub(crate) fn check_slos(ctx: &mut Ctx<'_>, raw: &RawScenario, slos: &[Slo], probes: &[Probe]) {
    let launched =
        raw.target.command.is_some() || raw.target.base_url.get().trim().starts_with("embedded:");
    for slo in slos {
        let Some((key, _)) = raw.slo.0.iter().find(|(k, _)| k.get() == &slo.key) else {
            continue;
        };
        match &slo.metric {
            Metric::TargetStartup
            | Metric::TargetRssMax
            | Metric::TargetCpuMean
            | Metric::TargetRssSlope
            | Metric::TargetRssGrowth
                if !launched =>
            {
                ctx.err(
                    key.span(),
                    format!("`{}` needs a target that nexus-bench launches", slo.key),
                    Some(
                        "add command = [\"./my-service\", …] to [target], or use base_url = \"embedded:cache\""
                            .into(),
                    ),
                );
            }
            Metric::Probe(name) | Metric::ProbeSlope(name)
                if !probes.iter().any(|p| &p.name == name) =>
            {
                let help = if probes.is_empty() {
                    format!(
                        "declare it: [[probes]] name = \"{name}\" url = \"/stats\" json = \"/{name}\""
                    )
                } else {
                    did_you_mean(name, probes.iter().map(|p| p.name.as_str())).unwrap_or_else(
                        || {
                            let names: Vec<&str> = probes.iter().map(|p| p.name.as_str()).collect();
                            format!("declared probes: {}", names.join(", "))
                        },
                    )
                };
                ctx.err(
                    key.span(),
                    format!("`{}` names no declared probe", slo.key),
                    Some(help),
                );
            }
            _ => {}
        }
    }
}
