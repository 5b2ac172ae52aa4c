//! Builds requests, flow steps and the weighted mix: names, methods, URLs and headers, with
//! templates compiled against what is in scope. Bodies are in [`super::body`], expectations
//! and extractions in [`super::expect`], WebSocket steps and streams in [`super::websocket`].

use std::collections::HashMap;
use std::time::Duration;

use http::Method;

use super::body::body;
use super::check::{Ctx, check_http_url, headers};
use super::errors::did_you_mean;
use super::expect::{expect, extract};
use super::raw::{RawRequest, RawScenario, Sp};
use super::websocket::{streams, ws_request};
use crate::plan::escape::Escape;
use crate::plan::template::Scope;
use crate::plan::{Action, DataSet, HttpRequest, MixItem, MixRun, RequestSpec, Stream, VarId};

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// Requests (standalone first, then flow steps), the mix, and the variable names.
pub(crate) struct Built {
    pub requests: Vec<RequestSpec>,
    pub mix: Vec<MixItem>,
    pub variables: Vec<String>,
    pub streams: Vec<Stream>,
}

/// Builds every request and flow of the scenario.
pub(crate) fn build(ctx: &mut Ctx<'_>, raw: &RawScenario, data: &[(String, DataSet)]) -> Built {
    if raw.requests.is_empty() && raw.flows.is_empty() && raw.streams.is_empty() {
        ctx.err(
            raw.name.span(),
            "the scenario has no requests, flows or streams",
            Some("add a [[requests]] table with a name and a path".into()),
        );
    }
    let all_steps = raw
        .requests
        .iter()
        .chain(raw.flows.iter().flat_map(|f| f.steps.iter()));
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut variables: Vec<String> = Vec::new();
    for r in all_steps {
        if ctx.name("request name", &r.name) && seen.insert(r.name.get().clone(), ()).is_some() {
            ctx.err(
                r.name.span(),
                format!("request name `{}` is used twice", r.name.get()),
                Some("names are the metrics keys; make this one unique".into()),
            );
        }
        for (var, _) in &r.extract.0 {
            if !variables.contains(var.get()) {
                variables.push(var.get().clone());
            }
        }
    }
    let mut requests = Vec::new();
    let mut mix = Vec::new();
    for r in &raw.requests {
        let weight = weight(ctx, r.weight.as_ref());
        let scope = Scope {
            vars: &[],
            all_vars: &variables,
            data,
            env: ctx.env,
        };
        requests.push(request(ctx, r, None, &scope, &variables));
        mix.push(MixItem {
            weight,
            run: MixRun::Request(requests.len() - 1),
        });
    }
    let mut flow_names: Vec<&str> = Vec::new();
    for f in &raw.flows {
        ctx.name("flow name", &f.name);
        if flow_names.contains(&f.name.get().as_str()) {
            ctx.err(
                f.name.span(),
                format!("flow name `{}` is used twice", f.name.get()),
                Some("give each flow its own name".into()),
            );
        }
        flow_names.push(f.name.get());
        if f.steps.is_empty() {
            ctx.err(
                f.name.span(),
                format!("flow `{}` has no steps", f.name.get()),
                Some("add [[flows.steps]] tables after this [[flows]]".into()),
            );
        }
        let weight = weight(ctx, f.weight.as_ref());
        let mut in_scope: Vec<(String, VarId)> = Vec::new();
        let mut steps = Vec::new();
        for s in &f.steps {
            if let Some(w) = &s.weight {
                ctx.err(
                    w.span(),
                    "flow steps have no `weight`",
                    Some("set `weight` on the [[flows]] table".into()),
                );
            }
            let scope = Scope {
                vars: &in_scope,
                all_vars: &variables,
                data,
                env: ctx.env,
            };
            requests.push(request(ctx, s, Some(f.name.get()), &scope, &variables));
            steps.push(requests.len() - 1);
            for (var, _) in &s.extract.0 {
                let id = variables
                    .iter()
                    .position(|v| v == var.get())
                    .expect("collected");
                if !in_scope.iter().any(|(n, _)| n == var.get()) {
                    in_scope.push((var.get().clone(), id));
                }
            }
        }
        mix.push(MixItem {
            weight,
            run: MixRun::Flow {
                name: f.name.get().clone(),
                steps,
            },
        });
    }
    let streams = streams(ctx, raw, data, &mut requests, &variables);
    Built {
        requests,
        mix,
        variables,
        streams,
    }
}

fn weight(ctx: &mut Ctx<'_>, w: Option<&Sp<i64>>) -> u32 {
    match w {
        None => 1,
        Some(w) if *w.get() >= 1 && *w.get() <= u32::MAX as i64 => *w.get() as u32,
        Some(w) => {
            ctx.err(
                w.span(),
                format!("weight {} is not allowed: weights are at least 1", w.get()),
                Some("remove the entry to stop sending it, or write weight = 1".into()),
            );
            1
        }
    }
}

fn request(
    ctx: &mut Ctx<'_>,
    r: &RawRequest,
    flow: Option<&str>,
    scope: &Scope<'_>,
    variables: &[String],
) -> RequestSpec {
    if let Some(ws) = &r.ws {
        return ws_request(ctx, r, ws, flow, scope);
    }
    for (field, span) in [("send", r.send.as_ref().map(|v| v.span()))] {
        if let Some(span) = span {
            ctx.err(
                span,
                format!("`{field}` is only used with `ws`"),
                Some("add ws = \"/path\" to make this a WebSocket round trip".into()),
            );
        }
    }
    let name = r.name.get();
    let method = match &r.method {
        None => Method::GET,
        Some(m) if METHODS.contains(&m.get().as_str()) => {
            Method::from_bytes(m.get().as_bytes()).expect("standard")
        }
        Some(m) => {
            let upper = m.get().to_ascii_uppercase();
            ctx.err(
                m.span(),
                format!("`{}` is not an HTTP method", m.get()),
                Some(if METHODS.contains(&upper.as_str()) {
                    format!("write \"{upper}\"")
                } else {
                    did_you_mean(&upper, METHODS.iter().copied())
                        .unwrap_or_else(|| format!("use one of {}", METHODS.join(", ")))
                }),
            );
            Method::GET
        }
    };
    let url = match (&r.path, &r.url) {
        (Some(_), Some(u)) => {
            ctx.err(
                u.span(),
                format!("request `{name}` has both `path` and `url`"),
                Some(
                    "keep one: `path` is joined to the target's base_url, `url` is absolute".into(),
                ),
            );
            ctx.template(u, scope).escaped(Escape::Url)
        }
        (None, None) => {
            ctx.err(
                r.name.span(),
                format!("request `{name}` has neither `path` nor `url`"),
                Some("add e.g. path = \"/health\"".into()),
            );
            Default::default()
        }
        (Some(p), None) => {
            if !p.get().starts_with('/') {
                ctx.err(
                    p.span(),
                    format!("path `{}` does not start with `/`", p.get()),
                    Some(format!(
                        "write \"/{}\" (or use `url` for an absolute URL)",
                        p.get()
                    )),
                );
            }
            ctx.template(p, scope).escaped(Escape::Url)
        }
        (None, Some(u)) => {
            check_http_url(ctx, "url", u.get(), u.span());
            ctx.template(u, scope).escaped(Escape::Url)
        }
    };
    let headers = headers(ctx, &r.headers, scope);
    let body = body(ctx, r, scope);
    let timeout = ctx.duration("timeout", r.timeout.as_ref(), Duration::from_secs(10));
    if timeout.is_zero() {
        if let Some(t) = &r.timeout {
            ctx.err(
                t.span(),
                "`timeout` must be longer than zero",
                Some("write e.g. \"5s\"".into()),
            );
        }
    }
    RequestSpec {
        name: name.clone(),
        flow: flow.map(str::to_string),
        action: Action::Http(HttpRequest {
            method,
            url,
            headers,
            body,
        }),
        timeout,
        expect: r
            .expect
            .as_ref()
            .map(|e| expect(ctx, e))
            .unwrap_or_default(),
        extract: extract(ctx, r, variables),
    }
}
