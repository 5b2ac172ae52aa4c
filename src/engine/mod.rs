//! The engine: drives the plan's load against the target. Schedule (open arrivals or closed
//! virtual users, both following the plan's piecewise-linear profile) × executor (a user
//! running requests over [`transport`]: HTTP/1.1, HTTP/2, WebSocket, each on TCP or TLS) ×
//! recorder.
//!
//! Each worker is an OS thread with its own single-threaded tokio runtime and its own
//! [`WorkerRecorder`] (the wrk model): nothing is shared per request but two relaxed atomic
//! counters for templates. Closed-model users are dealt to workers round-robin; open-model
//! arrivals are interleaved (worker `w` of `T` takes arrivals `w`, `w + T`, …), each with its
//! intended start time from the schedule, from which its latency is measured. When the load
//! is split over instances ([`crate::plan::Split`]), the same dealing applies to this
//! instance's share of the global numbers.

mod check;
mod exchange;
mod hold;
mod prepare;
mod schedule;
pub mod transport;
pub mod user;
mod ws_exchange;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::plan::LoadModel;
use crate::recorder::{Clock, Window, WorkerRecorder};

pub use prepare::{ResolveError, ResolvedTarget, Shared};

/// How the engine ended.
#[derive(Debug, Clone, Copy)]
pub struct EngineOutcome {
    /// Requests still in flight when the drain period ended, abandoned.
    pub cancelled: u64,
    /// When the schedule stopped issuing work (its end, or the stop signal).
    pub schedule_end: Instant,
    /// Whether the stop signal ended the run early.
    pub interrupted: bool,
}

/// Longest drain after an interruption: whoever pressed Ctrl-C wants the results now.
const INTERRUPT_DRAIN: Duration = Duration::from_secs(2);

/// Runs the plan on `threads` worker threads until the profile ends or `stop` is set.
/// Blocks; finished windows go to `sink` as they complete.
pub fn run(
    shared: Arc<Shared>,
    threads: usize,
    clock: Clock,
    stop: Arc<AtomicBool>,
    sink: std::sync::mpsc::Sender<Window>,
) -> std::io::Result<EngineOutcome> {
    let threads = threads.max(1);
    let handles: Vec<_> = (0..threads)
        .map(|w| {
            let shared = shared.clone();
            let stop = stop.clone();
            let sink = sink.clone();
            std::thread::Builder::new()
                .name(format!("nexus-worker-{w}"))
                .spawn(move || worker(w, threads, shared, clock, stop, sink))
        })
        .collect::<Result<_, _>>()?;
    drop(sink);
    let mut cancelled = 0;
    let mut schedule_end = clock.epoch;
    for h in handles {
        let (c, end) = h
            .join()
            .map_err(|_| std::io::Error::other("a worker thread panicked"))??;
        cancelled += c;
        schedule_end = schedule_end.max(end);
    }
    Ok(EngineOutcome {
        cancelled,
        schedule_end,
        interrupted: stop.load(Ordering::Relaxed),
    })
}

/// Per-worker run parameters.
pub(crate) struct Worker {
    pub index: usize,
    pub threads: usize,
    pub clock: Clock,
    pub end: Instant,
    pub stop: Arc<AtomicBool>,
    pub ctx: Rc<user::WorkerCtx>,
}

impl Worker {
    /// Whether new work may start.
    pub fn open(&self) -> bool {
        !self.stop.load(Ordering::Relaxed) && Instant::now() < self.end
    }

    /// Sleeps until `t`, waking early (false) if the run stops.
    pub async fn sleep_until(&self, t: Instant) -> bool {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            let now = Instant::now();
            if now >= t {
                return true;
            }
            let step = (t - now).min(Duration::from_millis(100));
            tokio::time::sleep(step).await;
        }
    }
}

fn worker(
    index: usize,
    threads: usize,
    shared: Arc<Shared>,
    clock: Clock,
    stop: Arc<AtomicBool>,
    sink: std::sync::mpsc::Sender<Window>,
) -> std::io::Result<(u64, Instant)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let load = shared.plan.load.clone();
    let recorder = Rc::new(RefCell::new(WorkerRecorder::new(
        clock,
        shared.plan.requests.len(),
        sink,
    )));
    let ctx = Rc::new(user::WorkerCtx {
        shared,
        recorder: recorder.clone(),
        end: clock.epoch + load.profile.duration(),
        stop: stop.clone(),
        closing: tokio::sync::Notify::new(),
    });
    let w = Worker {
        index,
        threads,
        clock,
        end: ctx.end,
        stop,
        ctx,
    };
    let (cancelled, schedule_end) = local.block_on(&rt, async {
        let ticker = {
            let recorder = recorder.clone();
            tokio::task::spawn_local(async move {
                let mut every = tokio::time::interval(Duration::from_millis(100));
                loop {
                    every.tick().await;
                    recorder.borrow_mut().tick(Instant::now());
                }
            })
        };
        // One watcher per worker tells every long wait (held streams) that the run is over.
        let closer = {
            let ctx = w.ctx.clone();
            tokio::task::spawn_local(async move {
                while ctx.open() {
                    let next = (Instant::now() + Duration::from_millis(50)).min(ctx.end);
                    tokio::time::sleep_until(next.into()).await;
                }
                ctx.closing.notify_waiters();
            })
        };
        let split = w.ctx.shared.plan.split;
        for stream in &w.ctx.shared.plan.streams {
            for c in split.numbers(u64::from(stream.connections), index, threads) {
                let holder = Worker {
                    index,
                    threads,
                    clock,
                    end: w.end,
                    stop: w.stop.clone(),
                    ctx: w.ctx.clone(),
                };
                let id = stream.request;
                tokio::task::spawn_local(async move { hold::hold(&holder, id, c).await });
            }
        }
        let active = match &load.model {
            LoadModel::Closed { think_time } => {
                schedule::closed(&w, &load.profile, *think_time).await
            }
            LoadModel::Open { max_in_flight } => {
                // The cap is the run's: each instance, then each thread, takes its share.
                let instances = w.ctx.shared.plan.split.instances() as usize;
                let cap = (*max_in_flight)
                    .div_ceil(instances)
                    .div_ceil(threads)
                    .max(1);
                schedule::open(&w, &load.profile, cap).await
            }
        };
        let schedule_end = Instant::now().min(w.end);
        // Drain: in-flight work gets `drain` to finish; whatever is left is cancelled.
        let drain = if w.stop.load(Ordering::Relaxed) {
            load.drain.min(INTERRUPT_DRAIN)
        } else {
            load.drain
        };
        let deadline = Instant::now().max(w.end) + drain;
        while (recorder.borrow().in_flight() > 0 || active.get() > 0) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        ticker.abort();
        closer.abort();
        (recorder.borrow().in_flight(), schedule_end)
    });
    // Dropping the LocalSet cancels the remaining tasks (and their connections).
    drop(local);
    drop(w);
    match Rc::try_unwrap(recorder) {
        Ok(rec) => rec.into_inner().finish(),
        Err(rc) => rc.borrow_mut().flush(),
    }
    Ok((cancelled, schedule_end))
}
