//! One virtual user (closed model) or one arrival (open model): runs a mix item — a request
//! or a flow — rendering templates, sending, checking expectations, extracting variables and
//! recording each request.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HOST};
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::Full;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use tokio_tungstenite::tungstenite::Message;

use super::check;
use super::http::{Conn, Failure, Response, connect};
use super::prepare::{Shared, h1_want, join_path, push_h1_request, push_header, valid_target};
use super::ws;
use crate::plan::template::RenderCtx;
use crate::plan::{Action, Body, MixRun, Plan, Template, WsMessage};
use crate::recorder::{ErrorKind, Sample, WorkerRecorder};

/// First and longest wait after a generator-side failure.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

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
    /// Notified once, when the profile ends or the run stops (long waits select on it).
    pub closing: tokio::sync::Notify,
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
    /// Connections by authority (`None`: the target's).
    conns: Vec<(Option<String>, Conn)>,
    /// The user's WebSocket and the path it is open to.
    ws: Option<(String, ws::Ws)>,
    buf: String,
    /// The serialised HTTP/1.1 request, reused.
    wbuf: Vec<u8>,
    /// The request timeout, one timer per user re-armed per request (extending a timer is
    /// a store, not a timer-wheel insert).
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The current wait after generator-side failures (zero after a success).
    backoff: Duration,
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
            wbuf: Vec::new(),
            timer: None,
            backoff: Duration::ZERO,
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
        let deadline = tokio::time::Instant::from_std(sent + spec.timeout);
        let mut timer = match self.timer.take() {
            Some(mut t) => {
                t.as_mut().reset(deadline);
                t
            }
            None => Box::pin(tokio::time::sleep_until(deadline)),
        };
        let outcome = match &spec.action {
            Action::Http(_) => within(timer.as_mut(), self.exchange(ctx, id, sent)).await,
            Action::WsMessage(m) => within(timer.as_mut(), self.ws_round_trip(ctx, m))
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
        self.timer = Some(timer);
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
            Ok(resp) => match check::check(spec, &ctx.shared.prepared[id], &resp, &mut self.vars) {
                Ok(()) => (Some(resp.status), None, None),
                Err(f) => (Some(resp.status), Some(f.kind), Some(f)),
            },
            Err(f) => (f.status, Some(f.kind), Some(f)),
        };
        let failed = {
            let mut rec = ctx.recorder.borrow_mut();
            rec.finished();
            if let Some(intended) = intended {
                rec.schedule_lag(sent.saturating_duration_since(intended));
            }
            rec.record(Sample {
                request: id,
                latency: end - intended.unwrap_or(sent),
                service: end - sent,
                status,
                error,
                end,
            });
            failure.map(|f| {
                let kind = f.kind;
                rec.sample_error(id, kind, || f.message);
                kind
            })
        };
        match failed {
            None => {
                self.backoff = Duration::ZERO;
                true
            }
            Some(kind) => {
                if kind == ErrorKind::GeneratorError {
                    self.back_off(ctx).await;
                }
                false
            }
        }
    }

    /// After a generator-side failure (no descriptors or ports left), waits before trying
    /// again, doubling up to a second: retrying at once only spins on the same limit.
    async fn back_off(&mut self, ctx: &WorkerCtx) {
        self.backoff = (self.backoff * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
        let until = (Instant::now() + self.backoff).min(ctx.end);
        tokio::time::sleep_until(until.into()).await;
    }

    /// Renders, connects if needed, sends and reads the response.
    async fn exchange(
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
            let want = h1_want(prep, plan);
            let conn = self.conn(None, Some(shared.target.addr), plan).await?;
            let Conn::H1(c) = conn else {
                unreachable!("HTTP/1.1 plans open HTTP/1.1 connections")
            };
            let result = c.send(request, want, sent).await;
            if !c.is_usable() {
                self.conns.retain(|(a, _)| a.is_some());
            }
            return result;
        }
        let Action::Http(h) = &plan.requests[id].action else {
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
        // Where to (`None`: the target), and the request target.
        let (other, addr, path): (Option<String>, _, String) = if let Some(p) = &prep.static_path {
            (None, Some(shared.target.addr), p.clone())
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
                let auth = uri.authority().map(|a| a.to_string()).unwrap_or_default();
                let pq = uri
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "/".into());
                if auth == shared.target.authority {
                    (None, Some(shared.target.addr), pq)
                } else {
                    (Some(auth), None, pq)
                }
            } else {
                (
                    None,
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
            Some(a) => HeaderValue::from_str(a)
                .map_err(|_| Failure::new(ErrorKind::TemplateError, "invalid host"))?,
            None => HeaderValue::from_static(""),
        };
        let key = other.as_deref();
        if plan.target.http2 {
            let authority = key.unwrap_or(&shared.target.authority);
            let mut headers = prep.static_headers.clone();
            for (name, v) in dynamic {
                headers.insert(name.clone(), v);
            }
            if !body.is_empty() || matches!(h.method, Method::POST | Method::PUT | Method::PATCH) {
                headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
            }
            let mut req = Request::builder()
                .method(prep.method.clone())
                .uri(format!("http://{authority}{path}"))
                .body(Full::new(body))
                .map_err(|e| {
                    Failure::new(
                        ErrorKind::TemplateError,
                        format!("cannot build request: {e}"),
                    )
                })?;
            *req.headers_mut() = headers;
            let conn = self.conn(key, addr, plan).await?;
            let result = conn.send_h2(req, prep.keep_body, plan.max_body_bytes).await;
            if result.is_err() || !conn.is_usable() {
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
        let result = match self.conn(key, addr, plan).await {
            Ok(Conn::H1(c)) => c.send(&wbuf, want, sent).await,
            Ok(Conn::H2(_)) => unreachable!("HTTP/1.1 plans open HTTP/1.1 connections"),
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

    /// A usable connection for `key` (`None`: the target), opened if needed.
    async fn conn(
        &mut self,
        key: Option<&str>,
        addr: Option<SocketAddr>,
        plan: &Plan,
    ) -> Result<&mut Conn, Failure> {
        if let Some(pos) = self
            .conns
            .iter()
            .position(|(a, c)| a.as_deref() == key && c.is_usable())
        {
            return Ok(&mut self.conns[pos].1);
        }
        self.conns.retain(|(a, _)| a.as_deref() != key);
        let addr = match addr {
            Some(a) => a,
            None => {
                let authority = key.unwrap_or_default();
                tokio::net::lookup_host(authority)
                    .await
                    .ok()
                    .and_then(|mut it| it.next())
                    .ok_or_else(|| {
                        Failure::new(
                            ErrorKind::ConnectError,
                            format!("cannot resolve `{authority}`"),
                        )
                    })?
            }
        };
        let conn = connect(addr, plan.target.http2, plan.target.connect_timeout).await?;
        self.conns.push((key.map(str::to_string), conn));
        Ok(&mut self.conns.last_mut().expect("just pushed").1)
    }

    /// Renders a template against this user's state.
    fn render(&mut self, shared: &Shared, t: &Template) -> String {
        let mut ctx = RenderCtx {
            vars: &self.vars,
            data: &shared.plan.data,
            rows: &self.rows,
            counter: &shared.counter,
            rng: &mut self.rng,
            vu: self.id,
            iteration: self.iteration,
        };
        t.render(&mut ctx)
    }

    /// Renders a path template against this user's state and joins it to the base path.
    pub fn render_path(&mut self, shared: &Shared, t: &Template) -> String {
        join_path(&shared.target.base_path, &self.render(shared, t))
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
        let text = self.render(shared, &m.message);
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
}

/// Runs `fut` until it completes or `timer` fires (`Err`), polling `fut` first.
async fn within<F: Future>(
    mut timer: Pin<&mut tokio::time::Sleep>,
    fut: F,
) -> Result<F::Output, ()> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(r));
        }
        timer.as_mut().poll(cx).map(|()| Err(()))
    })
    .await
}
