//! The two schedules. Closed: each virtual user loops iterations while the profile says it
//! is active (user `u` is active while `u < level(t)`). Open: arrivals at the instants the
//! profile's integral gives, whatever the target's speed; an arrival that would exceed the
//! in-flight cap is dropped and counted, never silently skipped.
//!
//! Both take this worker's share of this instance's share of the one global schedule
//! ([`crate::plan::Split`]): users and arrivals keep their global numbers, which also key
//! the request mix ([`user::pick`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::Worker;
use super::user::{self, User};
use crate::plan::Profile;
use crate::timer::Pacer;

/// How often an inactive closed-model user checks whether the ramp reached it.
const RAMP_POLL: Duration = Duration::from_millis(50);

/// Runs this worker's share of the closed model. Returns the count of running iterations
/// (zero once every user has stopped).
pub(crate) async fn closed(w: &Worker, profile: &Profile, think: Duration) -> Rc<Cell<usize>> {
    let split = w.ctx.shared.plan.split;
    let active = Rc::new(Cell::new(0usize));
    let total_weight: u32 = w.ctx.shared.plan.mix.iter().map(|m| m.weight).sum();
    if total_weight == 0 {
        // Only streams: nothing to iterate.
        w.sleep_until(w.end).await;
        return active;
    }
    let mut tasks = Vec::new();
    for u in split.numbers(profile.max_users(), w.index, w.threads) {
        let ctx = w.ctx.clone();
        let active = active.clone();
        let (epoch, end, stop) = (w.clock.epoch, w.end, w.stop.clone());
        let profile = profile.clone();
        let worker = Worker {
            index: w.index,
            threads: w.threads,
            clock: w.clock,
            end,
            stop,
            ctx: ctx.clone(),
        };
        tasks.push(tokio::task::spawn_local(async move {
            let mut user = User::new(u, &ctx.shared);
            loop {
                // One clock reading per iteration serves both checks.
                let now = Instant::now();
                if now >= end || worker.stop.load(Ordering::Relaxed) {
                    break;
                }
                if u >= profile.users_at(now - epoch) {
                    worker
                        .sleep_until((Instant::now() + RAMP_POLL).min(end))
                        .await;
                    continue;
                }
                let key = user::iteration_key(u, user.iteration);
                let item = user::pick(&ctx.shared.plan.mix, total_weight, key);
                active.set(active.get() + 1);
                user.iterate(&ctx, item, None).await;
                active.set(active.get() - 1);
                if !think.is_zero() {
                    worker.sleep_until((Instant::now() + think).min(end)).await;
                }
            }
        }));
    }
    // Users end by themselves at the end of the profile (or on stop); the caller drains
    // what is still in flight then.
    w.sleep_until(w.end).await;
    drop(tasks);
    active
}

/// Runs this worker's share of the open model: of the global arrivals, those of this
/// instance (`n mod N`) and, among them, every `threads`-th from this worker's index.
pub(crate) async fn open(w: &Worker, profile: &Profile, cap: usize) -> Rc<Cell<usize>> {
    let active = Rc::new(Cell::new(0usize));
    let idle: Rc<RefCell<Vec<User>>> = Rc::new(RefCell::new(Vec::new()));
    let total_weight: u32 = w.ctx.shared.plan.mix.iter().map(|m| m.weight).sum();
    if total_weight == 0 {
        w.sleep_until(w.end).await;
        return active;
    }
    let split = w.ctx.shared.plan.split;
    // Users (connections and state) are numbered globally too: worker w's k-th user of
    // instance I is number I + N·(w + threads·k).
    let mut users_made = 0u64;
    let mut pacer = Pacer::new();
    for (n, due) in split.arrivals(profile, w.index, w.threads) {
        let intended = w.clock.epoch + due;
        if intended >= w.end {
            break;
        }
        // Coarse (stop-aware) wait for most of a long gap, then a precise one: an arrival
        // must not be sent late, since its lateness counts into its latency.
        if let Some(coarse) = Pacer::coarse_until(intended, Instant::now()) {
            if !w.sleep_until(coarse).await {
                break;
            }
        }
        pacer.wait_until(intended).await;
        if w.stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        if active.get() >= cap {
            w.ctx.recorder.borrow_mut().dropped(intended);
            continue;
        }
        let mut user = idle.borrow_mut().pop().unwrap_or_else(|| {
            let local = w.index as u64 + w.threads as u64 * users_made;
            users_made += 1;
            User::new(split.stripe(local), &w.ctx.shared)
        });
        let item = user::pick(&w.ctx.shared.plan.mix, total_weight, user::arrival_key(n));
        let (ctx, active2, idle2) = (w.ctx.clone(), active.clone(), idle.clone());
        active.set(active.get() + 1);
        tokio::task::spawn_local(async move {
            user.iterate(&ctx, item, Some(intended)).await;
            active2.set(active2.get() - 1);
            idle2.borrow_mut().push(user);
        });
    }
    // The schedule lasts to the end of the profile even after this worker's last arrival:
    // an instance with a thin share (or none) measures the same period as the others.
    w.sleep_until(w.end).await;
    active
}
