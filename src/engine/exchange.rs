//! One HTTP exchange of a user: render the request (or take the prepared bytes), find or
//! open a connection for its authority, and send it over whichever protocol the
//! connection speaks (HTTP/1.1, or HTTP/2 by prior knowledge or ALPN).

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HOST};
use http::{HeaderValue, Method, Request};
use http_body_util::Full;

use super::prepare::{h1_want, join_path, push_h1_request, push_header, valid_target};
use super::transport::{Conn, Endpoint, Failure, Response, h2};
use super::user::{User, WorkerCtx};
use crate::plan::template::RenderCtx;
use crate::plan::{Action, Body};
use crate::recorder::ErrorKind;

/// Where a request goes when it is not the target: `scheme://authority` (the connection
/// key), the authority (`Host`) and whether it is TLS.
struct Other {
    key: String,
    authority: String,
    https: bool,
}

impl User {
    /// Renders, connects if needed, sends and reads the response.
    pub(super) async fn exchange(
        &mut self,
        ctx: &WorkerCtx,
        id: usize,
        sent: Instant,
    ) -> Result<Response, Failure> {
        let shared = &ctx.shared;
        let plan = &shared.plan;
        let prep = &shared.prepared[id];
        if let Some(request) = &prep.h1_static {
            // The hot path: a fully static HTTP/1.1 request to the target.
            let conn = self.conn(ctx, None).await?;
            if let Conn::H1(c) = conn {
                let result = c.send(request, h1_want(prep, plan), sent).await;
                if !c.is_usable() {
                    self.conns.retain(|(a, _)| a.is_some());
                }
                return result;
            }
            // ALPN chose HTTP/2: the general path below builds the request.
        }
        let Action::Http(h) = &plan.requests[id].action else {
            unreachable!("exchange is for HTTP requests")
        };
        let mut rctx = RenderCtx {
            vars: &self.vars,
            data: &plan.data,
            rows: &self.rows,
            counter: &shared.counter,
            split: plan.split,
            rng: &mut self.rng,
            vu: self.id,
            iteration: self.iteration,
        };
        // Where to (`None`: the target), and the request target.
        let (other, path): (Option<Other>, String) = if let Some(p) = &prep.static_path {
            (None, p.clone())
        } else {
            self.buf.clear();
            h.url.render_into(&mut rctx, &mut self.buf);
            if prep.absolute {
                let uri: http::Uri = self.buf.parse().map_err(|e| {
                    Failure::new(
                        ErrorKind::TemplateError,
                        format!("rendered URL `{}` is invalid: {e}", self.buf),
                    )
                })?;
                let https = uri.scheme_str() == Some("https");
                let auth = uri.authority().map(|a| a.to_string()).unwrap_or_default();
                let pq = uri
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "/".into());
                if auth == shared.target.authority && https == shared.target.https {
                    (None, pq)
                } else {
                    let scheme = if https { "https" } else { "http" };
                    let other = Other {
                        key: format!("{scheme}://{auth}"),
                        authority: auth,
                        https,
                    };
                    (Some(other), pq)
                }
            } else {
                (None, join_path(&shared.target.base_path, &self.buf))
            }
        };
        let body = match &h.body {
            Body::Empty => Bytes::new(),
            Body::Bytes { bytes, .. } => bytes.clone(),
            Body::Template { text, .. } => Bytes::from(text.render(&mut rctx)),
        };
        let mut dynamic = Vec::with_capacity(prep.dynamic_headers.len());
        for (name, t) in &prep.dynamic_headers {
            if other.is_some() && name == HOST {
                continue; // the request's own authority wins
            }
            let v = t.render(&mut rctx);
            let v = HeaderValue::from_str(&v).map_err(|_| {
                Failure::new(
                    ErrorKind::TemplateError,
                    format!(
                        "request `{}`: header `{name}` renders to an invalid value (CR, LF or another control character) from {}",
                        plan.requests[id].name,
                        t.value_names().join(", ")
                    ),
                )
            })?;
            dynamic.push((name, v));
        }
        let host = match &other {
            Some(o) => HeaderValue::from_str(&o.authority)
                .map_err(|_| Failure::new(ErrorKind::TemplateError, "invalid host"))?,
            None => HeaderValue::from_static(""),
        };
        let key = other.as_ref().map(|o| o.key.as_str());
        let conn = self.conn(ctx, other.as_ref()).await?;
        if let Conn::H2(sender) = conn {
            let (scheme, authority) = match &other {
                Some(o) => (if o.https { "https" } else { "http" }, &o.authority),
                None => (
                    if shared.target.https { "https" } else { "http" },
                    &shared.target.authority,
                ),
            };
            let mut headers = prep.static_headers.clone();
            // HTTP/2 carries the authority in `:authority`.
            headers.remove(HOST);
            for (name, v) in dynamic {
                headers.insert(name.clone(), v);
            }
            if !body.is_empty() || matches!(h.method, Method::POST | Method::PUT | Method::PATCH) {
                headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
            }
            let mut req = Request::builder()
                .method(prep.method.clone())
                .uri(format!("{scheme}://{authority}{path}"))
                .body(Full::new(body))
                .map_err(|e| {
                    Failure::new(
                        ErrorKind::TemplateError,
                        format!("cannot build request: {e}"),
                    )
                })?;
            *req.headers_mut() = headers;
            let result = h2::send(sender, req, prep.keep_body, plan.max_body_bytes).await;
            if result.is_err() || sender.is_closed() {
                self.conns.retain(|(a, _)| a.as_deref() != key);
            }
            return result;
        }
        if !valid_target(&path) {
            return Err(Failure::new(
                ErrorKind::TemplateError,
                format!("cannot build request: `{path}` is not a valid request target"),
            ));
        }
        let mut wbuf = std::mem::take(&mut self.wbuf);
        wbuf.clear();
        let mut extra = Vec::new();
        if other.is_some() {
            push_header(&mut extra, "host", host.as_bytes());
        }
        for (name, v) in &dynamic {
            push_header(&mut extra, name.as_str(), v.as_bytes());
        }
        let host_line: &[u8] = if other.is_some() { &[] } else { &prep.h1_host };
        push_h1_request(
            &mut wbuf,
            &h.method,
            &path,
            &[host_line, &prep.h1_headers, &extra],
            &body,
        );
        let want = h1_want(prep, plan);
        let result = match self.conn(ctx, other.as_ref()).await {
            Ok(Conn::H1(c)) => c.send(&wbuf, want, sent).await,
            Ok(Conn::H2(_)) => unreachable!("checked above"),
            Err(f) => Err(f),
        };
        self.wbuf = wbuf;
        if !self
            .conns
            .iter()
            .any(|(a, c)| a.as_deref() == key && c.is_usable())
        {
            self.conns.retain(|(a, _)| a.as_deref() != key);
        }
        result
    }

    /// A usable connection to `other` (`None`: the target), opened if needed; the phases
    /// of a new connection are kept for the request to record.
    async fn conn(&mut self, ctx: &WorkerCtx, other: Option<&Other>) -> Result<&mut Conn, Failure> {
        let key = other.map(|o| o.key.as_str());
        if let Some(pos) = self
            .conns
            .iter()
            .position(|(a, c)| a.as_deref() == key && c.is_usable())
        {
            return Ok(&mut self.conns[pos].1);
        }
        self.conns.retain(|(a, _)| a.as_deref() != key);
        let shared = &ctx.shared;
        let timeout = shared.plan.target.connect_timeout;
        let (conn, opened) = match other {
            None => {
                shared
                    .target
                    .endpoint(timeout)
                    .connect(shared.plan.target.http2)
                    .await?
            }
            Some(o) => {
                let addr = resolve(&o.authority, o.https).await?;
                let host = o
                    .authority
                    .rsplit_once(':')
                    .map_or(o.authority.as_str(), |(h, _)| h);
                let endpoint = Endpoint {
                    addr,
                    tls: o.https.then_some((&shared.target.tls_clients, host)),
                    timeout,
                };
                endpoint.connect(shared.plan.target.http2).await?
            }
        };
        self.opened = Some(opened);
        self.conns.push((key.map(str::to_string), conn));
        Ok(&mut self.conns.last_mut().expect("just pushed").1)
    }
}

/// Resolves `authority` (`host[:port]`), with the scheme's default port.
async fn resolve(authority: &str, https: bool) -> Result<SocketAddr, Failure> {
    let with_port = if authority.rsplit_once(':').is_some_and(|(h, p)| {
        !h.is_empty() && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
    }) {
        authority.to_string()
    } else {
        format!("{authority}:{}", if https { 443 } else { 80 })
    };
    tokio::net::lookup_host(with_port.as_str())
        .await
        .ok()
        .and_then(|mut it| it.next())
        .ok_or_else(|| {
            Failure::new(
                ErrorKind::ConnectError,
                format!("cannot resolve `{authority}`"),
            )
        })
}
