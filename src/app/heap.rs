//! The target's heap profile (`[profile] heap = true`): a snapshot at the start of the steady
//! state (right after the warm-up) and one at its end (when the load has stopped), both kept
//! as `heap-start.pb.gz` and `heap-end.pb.gz`; the end snapshot's in-use flamegraph
//! (`heap-flamegraph.svg`), the growth flamegraph of end minus start (`heap-growth.svg`) and
//! the allocation sites that grew most, recorded in result.json as a `profiles` entry of kind
//! `heap`.
//!
//! The fetches run on the observer thread ([`super::observe`]); nothing here fails a run: a
//! snapshot that cannot be taken or read is the entry's `error`.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::observe::write_gz;
use super::target::signed_ms;
use crate::plan::HeapProfile;
use crate::profiler::{self, Profile};
use crate::recorder::Clock;
use crate::result::{HeapInfo, HeapSiteInfo, ProfileInfo};

/// Rows of the growth table in result.json and the report.
const GROWTH_ROWS: usize = 15;
/// The shortest warm-up that gets a priming snapshot halfway through (see [`fetch`]).
const PRIME_MIN_WARMUP: Duration = Duration::from_secs(2);
/// The entry's kind in result.json.
pub const KIND: &str = "heap";

/// One snapshot: when it was asked for (ms on the run clock) and the bytes or the error.
pub(super) struct Snapshot {
    at_ms: f64,
    bytes: Result<Vec<u8>, String>,
}

/// Both snapshots (the end one is missing when the run ended before the steady state).
pub(super) struct Fetched {
    start: Snapshot,
    end: Option<Snapshot>,
}

/// Waits for the end of the warm-up, takes the start snapshot, waits for `stop`, takes the
/// end snapshot.
///
/// Halfway through a warm-up of at least [`PRIME_MIN_WARMUP`], one more snapshot is taken and
/// thrown away: a target that names its frames in-process (jemalloc_pprof's `symbolize`, as
/// `serve --heap-profiling`) reads and caches the symbol tables of every code path a snapshot
/// holds for the first time, a step of resident memory (~20 MB in the debug build) that must
/// happen in the warm-up, not at the start of the steady state where `target.rss.slope` would
/// read it as growth.
pub(super) async fn fetch(
    base_url: String,
    h: HeapProfile,
    clock: Clock,
    mut stop: watch::Receiver<bool>,
) -> Fetched {
    let warmup = clock.warmup_end.saturating_duration_since(clock.epoch);
    if warmup >= PRIME_MIN_WARMUP {
        let prime = tokio::time::Instant::from_std(clock.epoch + warmup / 2);
        let due = tokio::select! {
            _ = tokio::time::sleep_until(prime) => true,
            _ = stop.wait_for(|s| *s) => false,
        };
        if due {
            // Its outcome does not matter: the start snapshot reports its own.
            let _ = profiler::fetch_heap_profile(&base_url, &h.path).await;
        }
    }
    let at = tokio::time::Instant::from_std(clock.warmup_end);
    tokio::select! {
        _ = tokio::time::sleep_until(at) => {}
        _ = stop.wait_for(|s| *s) => {
            return Fetched {
                start: Snapshot {
                    at_ms: signed_ms(clock.warmup_end, clock.epoch),
                    bytes: Err("the run ended before the steady state began".into()),
                },
                end: None,
            };
        }
    }
    let start = snapshot(&base_url, &h.path, &clock).await;
    // A dropped sender is a stop too.
    let _ = stop.wait_for(|s| *s).await;
    let end = snapshot(&base_url, &h.path, &clock).await;
    Fetched {
        start,
        end: Some(end),
    }
}

async fn snapshot(base_url: &str, path: &str, clock: &Clock) -> Snapshot {
    let at_ms = signed_ms(Instant::now(), clock.epoch);
    let bytes = profiler::fetch_heap_profile(base_url, path)
        .await
        .map_err(|e| e.to_string());
    Snapshot { at_ms, bytes }
}

/// A heap entry that failed before any snapshot was read.
pub(super) fn failed(error: String) -> ProfileInfo {
    ProfileInfo {
        kind: KIND.into(),
        pprof_file: None,
        flamegraph_file: None,
        start_ms: 0.0,
        duration_ms: 0.0,
        top: Vec::new(),
        error: Some(error),
        heap: Some(HeapInfo::default()),
    }
}

/// Writes what was fetched into `dir` and describes it. Every problem is kept in `error`
/// (joined; each is also printed as a warning).
pub(super) fn save(dir: &Path, f: Fetched) -> ProfileInfo {
    let mut info = failed(String::new());
    info.error = None;
    info.start_ms = f.start.at_ms;
    let mut heap = HeapInfo::default();
    let mut errors = Vec::new();
    let (file, start) = keep(dir, "heap-start.pb.gz", f.start.bytes, &mut errors);
    heap.start_pprof_file = file;
    let end = f.end.and_then(|end| {
        info.duration_ms = end.at_ms - f.start.at_ms;
        let (file, p) = keep(dir, "heap-end.pb.gz", end.bytes, &mut errors);
        info.pprof_file = file;
        p
    });
    let mut note = |what: &str, r: Result<(), String>| {
        if let Err(e) = r {
            errors.push(format!("{what}: {e}"));
        }
    };
    if let Some(p) = &start {
        let r = profiler::heap_inuse_bytes(p).map(|b| heap.inuse_start_bytes = Some(b));
        note("heap-start.pb.gz", r.map_err(|e| e.to_string()));
    }
    if let Some(p) = &end {
        let r = profiler::heap_inuse_bytes(p).map(|b| heap.inuse_end_bytes = Some(b));
        note("heap-end.pb.gz", r.map_err(|e| e.to_string()));
        let r = profiler::heap_flamegraph_svg(p, "target heap in use at the end of the run")
            .map_err(|e| e.to_string())
            .and_then(|svg| write(dir, "heap-flamegraph.svg", &svg))
            .map(|name| info.flamegraph_file = Some(name));
        note("in-use flamegraph", r);
    }
    if let (Some(s), Some(e)) = (&start, &end) {
        let r = profiler::heap_growth(s, e, GROWTH_ROWS)
            .map(|rows| heap.growth = rows.into_iter().map(site_info).collect());
        note("heap growth", r.map_err(|e| e.to_string()));
        let title = "target heap growth: end − start of the steady state";
        let r = match profiler::heap_growth_svg(s, e, title) {
            Ok(svg) => write(dir, "heap-growth.svg", &svg)
                .map(|name| heap.growth_flamegraph_file = Some(name)),
            // Nothing grew: no graph, and that is no error.
            Err(profiler::ProfileError::Empty) => Ok(()),
            Err(e) => Err(e.to_string()),
        };
        note("growth flamegraph", r);
    }
    if !errors.is_empty() {
        info.error = Some(errors.join("; "));
    }
    info.heap = Some(heap);
    info
}

fn site_info(s: profiler::HeapSite) -> HeapSiteInfo {
    HeapSiteInfo {
        growth_bytes: s.growth_bytes(),
        growth_objects: s.growth_objects(),
        name: s.name,
        start_bytes: s.start_bytes,
        end_bytes: s.end_bytes,
    }
}

/// Keeps a fetched snapshot as `name` (gzipped) and decodes it: the file name if written,
/// and the profile if it decodes. Problems go to `errors`.
fn keep(
    dir: &Path,
    name: &str,
    bytes: Result<Vec<u8>, String>,
    errors: &mut Vec<String>,
) -> (Option<String>, Option<Profile>) {
    let what = name.trim_end_matches(".pb.gz");
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            errors.push(format!("{what}: {e}"));
            return (None, None);
        }
    };
    let file = match write_gz(dir, name, &bytes) {
        Ok(()) => Some(name.to_string()),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    match profiler::decode_pprof(&bytes) {
        Ok(p) => (file, Some(p)),
        Err(e) => {
            errors.push(format!("{name}: {e}"));
            (file, None)
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> Result<String, String> {
    std::fs::write(dir.join(name), text)
        .map(|()| name.to_string())
        .map_err(|e| format!("writing {name}: {e}"))
}
