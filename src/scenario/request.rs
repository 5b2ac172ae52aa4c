//! Builds requests, flow steps and the weighted mix: names, methods, URLs, bodies,
//! expectations and extractions, with templates compiled against what is in scope.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, Method};
use regex::Regex;

use super::build::{check_http_url, headers};
use super::check::Ctx;
use super::errors::did_you_mean;
use super::raw::{RawExpect, RawRequest, RawScenario, RawStatus, Sp};
use crate::plan::escape::Escape;
use crate::plan::template::Scope;
use crate::plan::{
    Action, Body, DataSet, Expect, ExtractFrom, Extraction, HttpRequest, MixItem, MixRun,
    RequestSpec, Stream, VarId, WsHold, WsMessage,
};

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

/// `[[streams]]`: one WsHold request each (not in the mix), with its connection count.
fn streams(
    ctx: &mut Ctx<'_>,
    raw: &RawScenario,
    data: &[(String, DataSet)],
    requests: &mut Vec<RequestSpec>,
    variables: &[String],
) -> Vec<Stream> {
    let mut out = Vec::new();
    for st in &raw.streams {
        if ctx.name("stream name", &st.name) && requests.iter().any(|r| &r.name == st.name.get()) {
            ctx.err(
                st.name.span(),
                format!(
                    "name `{}` is already used by a request or stream",
                    st.name.get()
                ),
                Some("names are the metrics keys; make this one unique".into()),
            );
        }
        let connections = match &st.connections {
            None => 1,
            Some(c) if *c.get() >= 1 && *c.get() <= 1_000_000 => *c.get() as u32,
            Some(c) => {
                ctx.err(
                    c.span(),
                    format!("{} connections is not allowed", c.get()),
                    Some("write a number from 1 to 1000000".into()),
                );
                1
            }
        };
        let scope = Scope {
            vars: &[],
            all_vars: variables,
            data,
            env: ctx.env,
        };
        if !st.ws.get().starts_with('/') {
            ctx.err(
                st.ws.span(),
                format!("ws path `{}` does not start with `/`", st.ws.get()),
                Some(format!("write \"/{}\"", st.ws.get())),
            );
        }
        let path = ctx.template(&st.ws, &scope).escaped(Escape::Url);
        requests.push(RequestSpec {
            name: st.name.get().clone(),
            flow: None,
            action: Action::WsHold(WsHold { path }),
            timeout: Duration::from_secs(10),
            expect: Expect::default(),
            extract: Vec::new(),
        });
        out.push(Stream {
            request: requests.len() - 1,
            connections,
        });
    }
    out
}

/// A `ws = "/path"` request: a WebSocket round trip. HTTP-only fields are errors.
fn ws_request(
    ctx: &mut Ctx<'_>,
    r: &RawRequest,
    ws: &Sp<String>,
    flow: Option<&str>,
    scope: &Scope<'_>,
) -> RequestSpec {
    let http_only = [
        ("path", r.path.as_ref().map(|v| v.span())),
        ("url", r.url.as_ref().map(|v| v.span())),
        ("method", r.method.as_ref().map(|v| v.span())),
        ("body", r.body.as_ref().map(|v| v.span())),
        ("json", r.json.as_ref().map(|v| v.span())),
        ("body_file", r.body_file.as_ref().map(|v| v.span())),
        ("extract", r.extract.0.first().map(|(k, _)| k.span())),
    ];
    for (field, span) in http_only {
        if let Some(span) = span {
            ctx.err(
                span,
                format!("`{field}` is not used with `ws` (a WebSocket round trip)"),
                Some("remove it, or remove `ws` to make this an HTTP request".into()),
            );
        }
    }
    if !ws.get().starts_with('/') {
        ctx.err(
            ws.span(),
            format!("ws path `{}` does not start with `/`", ws.get()),
            Some(format!("write \"/{}\"", ws.get())),
        );
    }
    let path = ctx.template(ws, scope).escaped(Escape::Url);
    let message = match &r.send {
        Some(m) => ctx.template(m, scope),
        None => Default::default(),
    };
    let timeout = ctx.duration("timeout", r.timeout.as_ref(), Duration::from_secs(10));
    RequestSpec {
        name: r.name.get().clone(),
        flow: flow.map(str::to_string),
        action: Action::WsMessage(WsMessage {
            path,
            message,
            binary: r.binary,
            reply_contains: r.reply_contains.clone(),
        }),
        timeout,
        expect: Expect::default(),
        extract: Vec::new(),
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

fn body(ctx: &mut Ctx<'_>, r: &RawRequest, scope: &Scope<'_>) -> Body {
    let spans = [
        r.body.as_ref().map(|b| b.span()),
        r.json.as_ref().map(|j| j.span()),
        r.body_file.as_ref().map(|b| b.span()),
    ];
    if let Some(second) = spans.iter().flatten().nth(1) {
        ctx.err(
            second.clone(),
            format!(
                "request `{}` has more than one of `body`, `json` and `body_file`",
                r.name.get()
            ),
            Some("keep one body".into()),
        );
    }
    let content_type = r.content_type.clone();
    if let Some(b) = &r.body {
        Body::Template {
            text: ctx.template(b, scope),
            content_type,
        }
    } else if let Some(j) = &r.json {
        if !(j.get().is_object() || j.get().is_array()) {
            ctx.err(
                j.span(),
                "`json` must be a table or an array",
                Some(
                    "write e.g. json = { key = \"k{{ counter }}\" }, or use `body` for text".into(),
                ),
            );
        }
        let text = serde_json::to_string(j.get()).expect("JSON values serialize");
        let text = Sp(toml::Spanned::new(j.span(), text));
        Body::Template {
            // Every `{{ }}` in the serialised JSON sits inside a string literal.
            text: ctx.template(&text, scope).escaped(Escape::Json),
            content_type: content_type.or(Some("application/json".into())),
        }
    } else if let Some(f) = &r.body_file {
        let path = ctx.dir.join(f.get());
        match std::fs::read(&path) {
            Ok(bytes) => Body::Bytes {
                bytes: Bytes::from(bytes),
                content_type,
            },
            Err(e) => {
                ctx.err(
                    f.span(),
                    format!("cannot read body_file `{}`: {e}", f.get()),
                    Some(format!(
                        "paths are relative to the scenario's folder (`{}`)",
                        path.parent()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    )),
                );
                Body::Empty
            }
        }
    } else {
        Body::Empty
    }
}

fn expect(ctx: &mut Ctx<'_>, e: &RawExpect) -> Expect {
    let mut out = Expect::default();
    if let Some(items) = &e.status {
        out.status = items.iter().filter_map(|s| status(ctx, s)).collect();
    }
    out.body_contains = e.body_contains.clone();
    for (pointer, value) in &e.json.0 {
        if !pointer.get().is_empty() && !pointer.get().starts_with('/') {
            ctx.err(
                pointer.span(),
                format!("`{}` is not a JSON pointer", pointer.get()),
                Some(format!("write \"/{}\"", pointer.get())),
            );
        }
        out.json.push((pointer.get().clone(), value.clone()));
    }
    out
}

fn status(ctx: &mut Ctx<'_>, s: &Sp<RawStatus>) -> Option<(u16, u16)> {
    let code = |n: i64| u16::try_from(n).ok().filter(|n| (100..=599).contains(n));
    let parsed = match s.get() {
        RawStatus::Code(n) => code(*n).map(|c| (c, c)),
        RawStatus::Text(t) => {
            let t = t.trim();
            if let Some(class) = t
                .strip_suffix("xx")
                .and_then(|d| d.parse::<u16>().ok())
                .filter(|d| (1..=5).contains(d))
            {
                Some((class * 100, class * 100 + 99))
            } else if let Some((lo, hi)) = t.split_once('-') {
                match (
                    lo.trim().parse().ok().and_then(code),
                    hi.trim().parse().ok().and_then(code),
                ) {
                    (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
                    _ => None,
                }
            } else {
                t.parse().ok().and_then(code).map(|c| (c, c))
            }
        }
    };
    if parsed.is_none() {
        let shown = match s.get() {
            RawStatus::Code(n) => n.to_string(),
            RawStatus::Text(t) => format!("\"{t}\""),
        };
        ctx.err(
            s.span(),
            format!("{shown} is not a status, a class or a range of statuses"),
            Some("write e.g. 200, \"2xx\" or \"200-299\" (codes are 100 to 599)".into()),
        );
    }
    parsed
}

fn extract(ctx: &mut Ctx<'_>, r: &RawRequest, variables: &[String]) -> Vec<Extraction> {
    let mut out = Vec::new();
    for (var, src) in &r.extract.0 {
        let name = var.get();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            ctx.err(
                var.span(),
                format!("`{name}` is not a variable name"),
                Some("use letters, digits and `_`, e.g. agent_id".into()),
            );
        }
        let x = src.get();
        let count = [x.json.is_some(), x.header.is_some(), x.regex.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        let help = Some(
            "write one of { json = \"/id\" }, { header = \"etag\" } or { regex = \"id=(\\\\w+)\" }"
                .to_string(),
        );
        if count != 1 {
            let what = if count == 0 {
                "no source"
            } else {
                "more than one source"
            };
            ctx.err(src.span(), format!("extract `{name}` has {what}"), help);
            continue;
        }
        let from = if let Some(p) = &x.json {
            if !p.is_empty() && !p.starts_with('/') {
                ctx.err(
                    src.span(),
                    format!("`{p}` is not a JSON pointer"),
                    Some(format!("write \"/{p}\"")),
                );
            }
            ExtractFrom::Json(p.clone())
        } else if let Some(h) = &x.header {
            match HeaderName::from_bytes(h.to_ascii_lowercase().as_bytes()) {
                Ok(h) => ExtractFrom::Header(h),
                Err(_) => {
                    ctx.err(
                        src.span(),
                        format!("`{h}` is not a header name"),
                        Some("write e.g. header = \"etag\"".into()),
                    );
                    continue;
                }
            }
        } else {
            let re = x.regex.as_deref().unwrap_or_default();
            match Regex::new(re) {
                Ok(re) => ExtractFrom::Regex(re),
                Err(e) => {
                    let detail = e
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .trim_start_matches("error: ")
                        .to_string();
                    ctx.err(
                        src.span(),
                        format!("regex `{re}` does not compile: {detail}"),
                        Some("see https://docs.rs/regex for the syntax".into()),
                    );
                    continue;
                }
            }
        };
        let id = variables.iter().position(|v| v == name).expect("collected");
        out.push(Extraction { var: id, from });
    }
    out
}
