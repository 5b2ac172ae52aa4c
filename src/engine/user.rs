//! One virtual user (closed model) or one arrival (open model): runs a mix item — a request
//! or a flow — rendering templates, sending, checking expectations, extracting variables and
//! recording each request.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use http_body_util::Full;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use tokio_tungstenite::tungstenite::Message;

use super::http::{Conn, Failure, Response, connect};
use super::ws;
use crate::plan::template::RenderCtx;
use crate::plan::{Action, Body, ExtractFrom, MixRun, Plan, RequestSpec, Template, WsMessage};
use crate::recorder::{ErrorKind, Sample, WorkerRecorder};

/// The target, resolved once before the run.
#[derive(Debug, Clone)]
pub struct ResolvedTarget {
    /// Socket address of the base URL.
    pub addr: SocketAddr,
    /// `host:port` for the `Host` header and HTTP/2 `:authority`.
    pub authority: String,
    /// Path prefix of the base URL (no trailing slash; empty for the root).
    pub base_path: String,
}

impl ResolvedTarget {
    /// Resolves an `http://host:port/prefix` base URL.
    pub fn resolve(base_url: &str) -> Result<Self, String> {
        let uri: http::Uri = base_url
            .parse()
            .map_err(|e| format!("`{base_url}` is not a URL: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("`{base_url}`: only http:// targets are supported"));
        }
        let host = uri
            .host()
            .ok_or_else(|| format!("`{base_url}` has no host"))?;
        let port = uri.port_u16().unwrap_or(80);
        let host_for_lookup = host.trim_start_matches('[').trim_end_matches(']');
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host_for_lookup, port))
            .map_err(|e| format!("cannot resolve `{host}`: {e}"))?
            .next()
            .ok_or_else(|| format!("`{host}` resolves to no address"))?;
        Ok(ResolvedTarget {
            addr,
            authority: format!("{host}:{port}"),
            base_path: uri.path().trim_end_matches('/').to_string(),
        })
    }
}

/// A request prepared once per run: everything that does not change per request.
struct Prepared {
    method: Method,
    /// The full path (base path included) when the URL template is static.
    static_path: Option<String>,
    /// Absolute URL template (`url = "http://…"`), rendered per request.
    absolute: bool,
    static_headers: HeaderMap,
    dynamic_headers: Vec<(HeaderName, Template)>,
    keep_body: bool,
    needs_json: bool,
}

/// Read-only state shared by every user of a worker (and across workers via `Arc`).
pub struct Shared {
    /// The plan.
    pub plan: Arc<Plan>,
    /// The resolved target.
    pub target: ResolvedTarget,
    /// Run-wide `{{ counter }}`.
    pub counter: AtomicU64,
    /// Next row of each data set.
    pub data_rows: Vec<AtomicU64>,
    prepared: Vec<Prepared>,
}

impl Shared {
    /// Prepares every request of `plan` for `target`.
    pub fn new(plan: Arc<Plan>, target: ResolvedTarget) -> Self {
        let prepared = plan
            .requests
            .iter()
            .map(|r| prepare(r, &plan, &target))
            .collect();
        Shared {
            counter: AtomicU64::new(0),
            data_rows: plan.data.iter().map(|_| AtomicU64::new(0)).collect(),
            plan,
            target,
            prepared,
        }
    }
}

fn prepare(spec: &RequestSpec, plan: &Plan, target: &ResolvedTarget) -> Prepared {
    let Action::Http(h) = &spec.action else {
        return Prepared {
            method: Method::GET,
            static_path: None,
            absolute: false,
            static_headers: HeaderMap::new(),
            dynamic_headers: Vec::new(),
            keep_body: false,
            needs_json: false,
        };
    };
    let url = h.url.to_string();
    let absolute = url.starts_with("http://") || url.starts_with("https://");
    let static_path = (h.url.is_static() && !absolute).then(|| {
        let mut s = String::new();
        let counter = AtomicU64::new(0);
        let mut rng = SmallRng::seed_from_u64(0);
        let mut ctx = RenderCtx {
            vars: &[],
            data: &[],
            rows: &[],
            counter: &counter,
            rng: &mut rng,
            vu: 0,
            iteration: 0,
        };
        h.url.render_into(&mut ctx, &mut s);
        join_path(&target.base_path, &s)
    });
    let mut static_headers = HeaderMap::new();
    let mut dynamic_headers = Vec::new();
    if !plan.target.http2 {
        static_headers.insert(
            HOST,
            HeaderValue::from_str(&target.authority).expect("valid authority"),
        );
    }
    let content_type = match &h.body {
        Body::Empty => None,
        Body::Template { content_type, .. } | Body::Bytes { content_type, .. } => {
            content_type.clone()
        }
    };
    if let Some(ct) = content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
        static_headers.insert(CONTENT_TYPE, ct);
    }
    // Request headers come after (and override) the target's defaults.
    for (name, value) in plan.target.headers.iter().chain(&h.headers) {
        if value.is_static() {
            let counter = AtomicU64::new(0);
            let mut rng = SmallRng::seed_from_u64(0);
            let mut ctx = RenderCtx {
                vars: &[],
                data: &[],
                rows: &[],
                counter: &counter,
                rng: &mut rng,
                vu: 0,
                iteration: 0,
            };
            if let Ok(v) = HeaderValue::from_str(&value.render(&mut ctx)) {
                static_headers.insert(name.clone(), v);
                dynamic_headers.retain(|(n, _): &(HeaderName, Template)| n != name);
            }
        } else {
            static_headers.remove(name);
            dynamic_headers.push((name.clone(), value.clone()));
        }
    }
    let needs_json = !spec.expect.json.is_empty()
        || spec
            .extract
            .iter()
            .any(|e| matches!(e.from, ExtractFrom::Json(_)));
    let keep_body = spec.expect.needs_body()
        || spec
            .extract
            .iter()
            .any(|e| !matches!(e.from, ExtractFrom::Header(_)));
    Prepared {
        method: h.method.clone(),
        static_path,
        absolute,
        static_headers,
        dynamic_headers,
        keep_body,
        needs_json,
    }
}

fn join_path(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

/// Per-worker context a user runs in.
pub struct WorkerCtx {
    /// Shared, read-only state.
    pub shared: Arc<Shared>,
    /// This worker's recorder.
    pub recorder: Rc<RefCell<WorkerRecorder>>,
    /// End of the profile: no request starts after it.
    pub end: Instant,
    /// Set when the run is interrupted.
    pub stop: Arc<AtomicBool>,
}

impl WorkerCtx {
    /// Whether a new request may start.
    pub fn open(&self) -> bool {
        !self.stop.load(Ordering::Relaxed) && Instant::now() < self.end
    }
}

/// One virtual user's state: connections, variables, random generator.
pub struct User {
    /// User number (run-wide).
    pub id: u64,
    iteration: u64,
    rng: SmallRng,
    vars: Vec<Option<String>>,
    rows: Vec<usize>,
    /// Connections by authority (the target's is first).
    conns: Vec<(String, Conn)>,
    /// The user's WebSocket and the path it is open to.
    ws: Option<(String, ws::Ws)>,
    buf: String,
}

impl User {
    /// A fresh user.
    pub fn new(id: u64, shared: &Shared) -> Self {
        User {
            id,
            iteration: 0,
            rng: SmallRng::seed_from_u64(0x9e37_79b9_7f4a_7c15 ^ id),
            vars: vec![None; shared.plan.variables.len()],
            rows: vec![0; shared.plan.data.len()],
            conns: Vec::new(),
            ws: None,
            buf: String::new(),
        }
    }

    /// Picks a mix item by weight.
    pub fn pick(&mut self, plan: &Plan, total_weight: u32) -> usize {
        let mut x = self.rng.random_range(0..total_weight);
        for (i, item) in plan.mix.iter().enumerate() {
            if x < item.weight {
                return i;
            }
            x -= item.weight;
        }
        plan.mix.len() - 1
    }

    /// Runs mix item `item`. The first request's latency counts from `intended` when given
    /// (open model); later steps of a flow count from their own send.
    pub async fn iterate(&mut self, ctx: &WorkerCtx, item: usize, intended: Option<Instant>) {
        let plan = &ctx.shared.plan;
        self.vars.iter_mut().for_each(|v| *v = None);
        for (i, rows) in self.rows.iter_mut().enumerate() {
            *rows = ctx.shared.data_rows[i].fetch_add(1, Ordering::Relaxed) as usize;
        }
        match &plan.mix[item].run {
            MixRun::Request(id) => {
                self.request(ctx, *id, intended).await;
            }
            MixRun::Flow { steps, .. } => {
                let mut intended = intended;
                for (i, id) in steps.iter().enumerate() {
                    if i > 0 && !ctx.open() {
                        break;
                    }
                    if !self.request(ctx, *id, intended.take()).await {
                        break;
                    }
                }
            }
        }
        self.iteration += 1;
    }

    /// Sends one request and records it; returns whether it succeeded.
    async fn request(&mut self, ctx: &WorkerCtx, id: usize, intended: Option<Instant>) -> bool {
        let sent = Instant::now();
        ctx.recorder.borrow_mut().started();
        let spec = &ctx.shared.plan.requests[id];
        let outcome = match &spec.action {
            Action::Http(_) => tokio::time::timeout(spec.timeout, self.exchange(ctx, id)).await,
            Action::WsMessage(m) => tokio::time::timeout(spec.timeout, self.ws_round_trip(ctx, m))
                .await
                .map(|r| {
                    r.map(|()| Response {
                        status: 101,
                        headers: HeaderMap::new(),
                        body: None,
                    })
                }),
            Action::WsHold(_) => return true,
        };
        let end = Instant::now();
        let result = match outcome {
            Ok(r) => r,
            Err(_) => {
                // The connection may be mid-response: it cannot be reused.
                self.conns.clear();
                self.ws = None;
                Err(Failure::new(
                    ErrorKind::RequestTimeout,
                    format!("no complete response within {:?}", spec.timeout),
                ))
            }
        };
        let (status, error, failure) = match result {
            // A WebSocket reply has no status to check: it either arrived or it did not.
            Ok(resp) if !matches!(spec.action, Action::Http(_)) => (Some(resp.status), None, None),
            Ok(resp) => match self.check(spec, &ctx.shared.prepared[id], &resp) {
                Ok(()) => (Some(resp.status), None, None),
                Err(f) => (Some(resp.status), Some(f.kind), Some(f)),
            },
            Err(f) => (f.status, Some(f.kind), Some(f)),
        };
        let mut rec = ctx.recorder.borrow_mut();
        rec.finished();
        rec.record(Sample {
            request: id,
            latency: end - intended.unwrap_or(sent),
            service: end - sent,
            status,
            error,
            end,
        });
        if let Some(f) = failure {
            rec.sample_error(id, f.kind, || f.message);
            return false;
        }
        true
    }

    /// Renders, connects if needed, sends and reads the response.
    async fn exchange(&mut self, ctx: &WorkerCtx, id: usize) -> Result<Response, Failure> {
        let shared = &ctx.shared;
        let plan = &shared.plan;
        let spec = &plan.requests[id];
        let prep = &shared.prepared[id];
        let Action::Http(h) = &spec.action else {
            unreachable!("exchange is for HTTP requests")
        };
        let mut rctx = RenderCtx {
            vars: &self.vars,
            data: &plan.data,
            rows: &self.rows,
            counter: &shared.counter,
            rng: &mut self.rng,
            vu: self.id,
            iteration: self.iteration,
        };
        // Where to, and the request target.
        let (authority, addr, path) = if let Some(p) = &prep.static_path {
            (
                shared.target.authority.clone(),
                Some(shared.target.addr),
                p.clone(),
            )
        } else {
            self.buf.clear();
            h.url.render_into(&mut rctx, &mut self.buf);
            if prep.absolute {
                let uri: http::Uri = self.buf.parse().map_err(|e| {
                    Failure::new(
                        ErrorKind::Other,
                        format!("rendered URL `{}` is invalid: {e}", self.buf),
                    )
                })?;
                let auth = uri.authority().map(|a| a.to_string()).unwrap_or_default();
                let pq = uri
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "/".into());
                let same = auth == shared.target.authority;
                (auth, same.then_some(shared.target.addr), pq)
            } else {
                (
                    shared.target.authority.clone(),
                    Some(shared.target.addr),
                    join_path(&shared.target.base_path, &self.buf),
                )
            }
        };
        let body = match &h.body {
            Body::Empty => Bytes::new(),
            Body::Bytes { bytes, .. } => bytes.clone(),
            Body::Template { text, .. } => Bytes::from(text.render(&mut rctx)),
        };
        let mut headers = prep.static_headers.clone();
        for (name, t) in &prep.dynamic_headers {
            let v = t.render(&mut rctx);
            let v = HeaderValue::from_str(&v).map_err(|_| {
                Failure::new(
                    ErrorKind::Other,
                    format!("header `{name}` renders to an invalid value"),
                )
            })?;
            headers.insert(name.clone(), v);
        }
        if authority != shared.target.authority && !plan.target.http2 {
            headers.insert(
                HOST,
                HeaderValue::from_str(&authority)
                    .map_err(|_| Failure::new(ErrorKind::Other, "invalid host"))?,
            );
        }
        if !body.is_empty() || matches!(h.method, Method::POST | Method::PUT | Method::PATCH) {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        let uri = if plan.target.http2 {
            format!("http://{authority}{path}")
        } else {
            path
        };
        let mut req = Request::builder()
            .method(prep.method.clone())
            .uri(uri)
            .body(Full::new(body))
            .map_err(|e| Failure::new(ErrorKind::Other, format!("cannot build request: {e}")))?;
        *req.headers_mut() = headers;

        let conn = self.conn(&authority, addr, plan).await?;
        let result = conn.send(req, prep.keep_body, plan.max_body_bytes).await;
        if result.is_err() || !conn.is_usable() {
            self.conns.retain(|(a, _)| a != &authority);
        }
        result
    }

    async fn conn(
        &mut self,
        authority: &str,
        addr: Option<SocketAddr>,
        plan: &Plan,
    ) -> Result<&mut Conn, Failure> {
        if let Some(pos) = self
            .conns
            .iter()
            .position(|(a, c)| a == authority && c.is_usable())
        {
            return Ok(&mut self.conns[pos].1);
        }
        self.conns.retain(|(a, _)| a != authority);
        let addr = match addr {
            Some(a) => a,
            None => tokio::net::lookup_host(authority)
                .await
                .ok()
                .and_then(|mut it| it.next())
                .ok_or_else(|| {
                    Failure::new(
                        ErrorKind::ConnectError,
                        format!("cannot resolve `{authority}`"),
                    )
                })?,
        };
        let conn = connect(addr, plan.target.http2, plan.target.connect_timeout).await?;
        self.conns.push((authority.to_string(), conn));
        Ok(&mut self.conns.last_mut().expect("just pushed").1)
    }

    /// Renders a path template against this user's state and joins it to the base path.
    pub fn render_path(&mut self, shared: &Shared, t: &Template) -> String {
        let mut ctx = RenderCtx {
            vars: &self.vars,
            data: &shared.plan.data,
            rows: &self.rows,
            counter: &shared.counter,
            rng: &mut self.rng,
            vu: self.id,
            iteration: self.iteration,
        };
        join_path(&shared.target.base_path, &t.render(&mut ctx))
    }

    /// One WebSocket round trip on the user's WebSocket, opening it if needed.
    async fn ws_round_trip(&mut self, ctx: &WorkerCtx, m: &WsMessage) -> Result<(), Failure> {
        let shared = &ctx.shared;
        let path = self.render_path(shared, &m.path);
        if self.ws.as_ref().is_none_or(|(p, _)| *p != path) {
            let ws = ws::connect(
                shared.target.addr,
                &shared.target.authority,
                &path,
                shared.plan.target.connect_timeout,
            )
            .await?;
            self.ws = Some((path, ws));
        }
        let mut rctx = RenderCtx {
            vars: &self.vars,
            data: &shared.plan.data,
            rows: &self.rows,
            counter: &shared.counter,
            rng: &mut self.rng,
            vu: self.id,
            iteration: self.iteration,
        };
        let text = m.message.render(&mut rctx);
        let msg = if m.binary {
            Message::binary(text.into_bytes())
        } else {
            Message::text(text)
        };
        let (_, socket) = self.ws.as_mut().expect("opened above");
        let result = ws::round_trip(socket, msg, m.reply_contains.as_deref()).await;
        if result.is_err() {
            self.ws = None;
        }
        result
    }

    /// Checks expectations and extracts variables.
    fn check(
        &mut self,
        spec: &RequestSpec,
        prep: &Prepared,
        resp: &Response,
    ) -> Result<(), Failure> {
        if !spec.expect.status_ok(resp.status) {
            return Err(Failure {
                kind: ErrorKind::UnexpectedStatus,
                message: format!("unexpected status {}", resp.status),
                status: Some(resp.status),
            });
        }
        let body = resp.body.as_deref().unwrap_or_default();
        let text = || String::from_utf8_lossy(body);
        for needle in &spec.expect.body_contains {
            if !text().contains(needle.as_str()) {
                return Err(Failure::new(
                    ErrorKind::ExpectationFailed,
                    format!("body does not contain `{needle}`"),
                ));
            }
        }
        let json: Option<serde_json::Value> = if prep.needs_json {
            serde_json::from_slice(body).ok()
        } else {
            None
        };
        for (pointer, want) in &spec.expect.json {
            let got = json.as_ref().and_then(|j| j.pointer(pointer));
            if got != Some(want) {
                return Err(Failure::new(
                    ErrorKind::ExpectationFailed,
                    format!(
                        "JSON {pointer} is {}, expected {want}",
                        got.map_or("missing".to_string(), |g| g.to_string())
                    ),
                ));
            }
        }
        for ex in &spec.extract {
            let value = match &ex.from {
                ExtractFrom::Json(pointer) => {
                    json.as_ref()
                        .and_then(|j| j.pointer(pointer))
                        .map(|v| match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                }
                ExtractFrom::Header(name) => resp
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                ExtractFrom::Regex(re) => {
                    let t = text();
                    re.captures(&t)
                        .and_then(|c| c.get(1).or_else(|| c.get(0)))
                        .map(|m| m.as_str().to_string())
                }
            };
            match value {
                Some(v) => self.vars[ex.var] = Some(v),
                None => {
                    return Err(Failure::new(
                        ErrorKind::ExtractionFailed,
                        format!("`{}` not found in the response", ctx_var_name(spec, ex.var)),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn ctx_var_name(spec: &RequestSpec, var: usize) -> String {
    spec.extract
        .iter()
        .find(|e| e.var == var)
        .map(|e| match &e.from {
            ExtractFrom::Json(p) => format!("JSON {p}"),
            ExtractFrom::Header(h) => format!("header {h}"),
            ExtractFrom::Regex(r) => format!("regex {r}"),
        })
        .unwrap_or_default()
}
