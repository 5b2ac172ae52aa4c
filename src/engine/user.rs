//! One virtual user (closed model) or one arrival (open model): its state (connections,
//! variables, random generator) and the loop over a mix item — a request or a flow — that
//! sends each request (`exchange.rs` for HTTP, `ws_exchange.rs` for WebSocket), checks
//! expectations, extracts variables and records it, with the phases of any connection it
//! opened.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use http::HeaderMap;
use rand::SeedableRng;
use rand::rngs::SmallRng;

use super::check;
use super::prepare::{Shared, join_path};
use super::transport::{Conn, Failure, Opened, Response, ws};
use crate::plan::template::RenderCtx;
use crate::plan::{Action, MixItem, MixRun, Template};
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
    pub(super) iteration: u64,
    pub(super) rng: SmallRng,
    pub(super) vars: Vec<Option<String>>,
    pub(super) rows: Vec<usize>,
    /// Connections by `scheme://authority` (`None`: the target's).
    pub(super) conns: Vec<(Option<String>, Conn)>,
    /// The user's WebSocket and the path it is open to.
    pub(super) ws: Option<(String, ws::Ws)>,
    pub(super) buf: String,
    /// The serialised HTTP/1.1 request, reused.
    pub(super) wbuf: Vec<u8>,
    /// The phases of the connection the current request opened, if it opened one.
    pub(super) opened: Option<Opened>,
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
            opened: None,
            timer: None,
            backoff: Duration::ZERO,
        }
    }

    /// Runs mix item `item`. The first request's latency counts from `intended` when given
    /// (open model); later steps of a flow count from their own send.
    pub async fn iterate(&mut self, ctx: &WorkerCtx, item: usize, intended: Option<Instant>) {
        let plan = &ctx.shared.plan;
        self.vars.iter_mut().for_each(|v| *v = None);
        // Rows are striped over instances like the work itself: instance I of N reads
        // rows I, I + N, … (wrapping only when the data is shorter than the work).
        let split = plan.split;
        for (i, rows) in self.rows.iter_mut().enumerate() {
            let local = ctx.shared.data_rows[i].fetch_add(1, Ordering::Relaxed);
            *rows = split.stripe(local) as usize;
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
            if let Some(opened) = self.opened.take() {
                rec.opened(id, &opened);
            }
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

    /// Renders a template against this user's state.
    pub(super) fn render(&mut self, shared: &Shared, t: &Template) -> String {
        let mut ctx = RenderCtx {
            vars: &self.vars,
            data: &shared.plan.data,
            rows: &self.rows,
            counter: &shared.counter,
            split: shared.plan.split,
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
}

/// Multiplier of Fibonacci hashing (2^64 / φ): `key · GOLDEN mod 2^64` spreads consecutive
/// keys evenly over the whole range (a low-discrepancy sequence), so the mix's counts stay
/// within a few of their weights over any run of consecutive keys.
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The mix item for work number `key` ([`arrival_key`], [`iteration_key`]): a pure function
/// of the key, so the request mix does not depend on how many instances or threads share
/// the load. No allocation, no shared state.
pub fn pick(mix: &[MixItem], total_weight: u32, key: u64) -> usize {
    let point = (u128::from(key.wrapping_mul(GOLDEN)) * u128::from(total_weight)) >> 64;
    let mut x = point as u32;
    for (i, item) in mix.iter().enumerate() {
        if x < item.weight {
            return i;
        }
        x -= item.weight;
    }
    mix.len() - 1
}

/// Open model: the mix key of global arrival `n`. Every instance draws arrival `n`'s item
/// the same way, so a split run's per-name counts equal a single machine's.
pub fn arrival_key(n: u64) -> u64 {
    n
}

/// Closed model: the mix key of user `user`'s iteration `iteration`. Both numbers are
/// global, so the draw does not depend on the split; each user's iterations walk the
/// low-discrepancy sequence from its own (hashed) offset.
pub fn iteration_key(user: u64, iteration: u64) -> u64 {
    // splitmix64's finaliser: users' offsets spread over the whole range.
    let mut z = user.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)).wrapping_add(iteration)
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
