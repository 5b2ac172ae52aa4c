//! WebSocket steps: `ws = "/path"` requests (a round trip) and the `[[streams]]` of held
//! connections.

use std::time::Duration;

use super::check::Ctx;
use super::raw::{RawRequest, RawScenario, Sp};
use crate::plan::escape::Escape;
use crate::plan::template::Scope;
use crate::plan::{Action, DataSet, Expect, RequestSpec, Stream, WsHold, WsMessage};

/// `[[streams]]`: one WsHold request each (not in the mix), with its connection count.
pub(super) fn streams(
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
pub(super) fn ws_request(
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
