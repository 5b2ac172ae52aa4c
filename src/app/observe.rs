//! Everything that watches the target beside the load: probes read before, during and after
//! the run, the target's CPU profile fetched right after the warm-up, its heap profile at the
//! start and the end of the steady state ([`super::heap`]), and (with `--profile`)
//! nexus-bench's own CPU profile.
//!
//! Probes and the profile fetch run on their own thread with a current-thread tokio runtime,
//! because the main thread is busy aggregating. Nothing here can fail a run: a probe that
//! cannot be read keeps its error in [`ProbeSeries::error`], a profile that cannot be taken
//! is a [`ProfileInfo`] with `error` set.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::target::signed_ms;
use crate::plan::{HeapProfile, Plan, Probe, TargetProfile};
use crate::probe;
use crate::profiler::{self, Profile, SelfProfiler};
use crate::recorder::Clock;
use crate::result::{ProbeReading, ProbeSeries, ProfileInfo, TopFunctionInfo};

/// Time allowed for one probe reading.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Rows of the top-functions table.
const TOP_FUNCTIONS: usize = 15;
/// Sampling frequency of the self-profiler.
const SELF_PROFILE_HZ: i32 = 99;

/// What the observer thread hands back: probe series, the fetched target profile and heap
/// snapshots.
type ThreadOutput = (
    Vec<ProbeSeries>,
    Option<Fetched>,
    Option<super::heap::Fetched>,
);

/// A fetched target profile: the window (ms on the run clock) and the bytes or the error.
struct Fetched {
    start_ms: f64,
    duration_ms: f64,
    bytes: Result<Vec<u8>, String>,
}

/// The observers of one run, started before the load and finished after it.
pub struct Observers {
    thread: Option<(JoinHandle<ThreadOutput>, watch::Sender<bool>)>,
    self_profile: Option<(Result<SelfProfiler, String>, Instant)>,
    clock: Clock,
    dir: PathBuf,
}

/// What the observers saw.
#[derive(Debug, Default)]
pub struct Observed {
    /// One series per probe, in plan order.
    pub probes: Vec<ProbeSeries>,
    /// The target's profile (if asked for) and the generator's (with `--profile`).
    pub profiles: Vec<ProfileInfo>,
}

impl Observers {
    /// With `self_profile` starts sampling nexus-bench itself, reads every probe once
    /// ("before", waiting for those readings), then starts the run's clock and returns it:
    /// from now on the probes are read every `interval` (times on that clock) and the target
    /// profile is fetched right after the warm-up. Files go to `dir`.
    ///
    /// The clock starts last so that the slow parts (starting the profiler, the first
    /// readings) do not delay the load against its schedule.
    pub fn start(
        plan: &Plan,
        base_url: &str,
        dir: &Path,
        self_profile: bool,
    ) -> (Observers, Clock) {
        let self_profile = self_profile.then(|| {
            (
                SelfProfiler::start(SELF_PROFILE_HZ).map_err(|e| e.to_string()),
                Instant::now(),
            )
        });
        let thread = (!plan.probes.is_empty()
            || plan.target_profile.is_some()
            || plan.heap_profile.is_some())
        .then(|| spawn(plan, base_url))
        .and_then(|r| match r {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("warning: cannot start the observer thread: {e}");
                None
            }
        });
        let clock = super::split::clock(plan);
        let thread = thread.map(|(handle, stop, clock_tx)| {
            let _ = clock_tx.send(clock);
            (handle, stop)
        });
        let observers = Observers {
            thread,
            self_profile,
            clock,
            dir: dir.to_path_buf(),
        };
        (observers, clock)
    }

    /// Reads the probes "after", waits for the target profile, writes the profile files
    /// (`target.pb.gz`, `target-flamegraph.svg`, `generator.pb.gz`,
    /// `generator-flamegraph.svg`) and returns what was observed.
    pub fn finish(self) -> Observed {
        let mut observed = Observed::default();
        if let Some((handle, stop)) = self.thread {
            let _ = stop.send(true);
            match handle.join() {
                Ok((probes, fetched, heap)) => {
                    observed.probes = probes;
                    if let Some(f) = fetched {
                        let info = match f.bytes {
                            Ok(bytes) => save(&self.dir, "target", &bytes, None),
                            Err(e) => failed("target", e),
                        };
                        observed.profiles.push(ProfileInfo {
                            start_ms: f.start_ms,
                            duration_ms: f.duration_ms,
                            ..info
                        });
                    }
                    observed
                        .profiles
                        .extend(heap.map(|h| super::heap::save(&self.dir, h)));
                }
                Err(_) => eprintln!("warning: the observer thread panicked"),
            }
        }
        if let Some((profiler, since)) = self.self_profile {
            let info = match profiler.and_then(|p| p.finish().map_err(|e| e.to_string())) {
                Ok((bytes, profile)) => save(&self.dir, "generator", &bytes, Some(profile)),
                Err(e) => failed("generator", e),
            };
            observed.profiles.push(ProfileInfo {
                start_ms: signed_ms(since, self.clock.epoch),
                duration_ms: since.elapsed().as_secs_f64() * 1000.0,
                ..info
            });
        }
        for p in &observed.profiles {
            if let Some(e) = &p.error {
                eprintln!("warning: no {} profile: {e}", p.kind);
            }
        }
        observed
    }
}

/// The observer thread, its stop signal, and where to send it the run's clock.
type Spawned = (
    JoinHandle<ThreadOutput>,
    watch::Sender<bool>,
    mpsc::Sender<Clock>,
);

/// Starts the observer thread; returns once the "before" readings are taken. The thread
/// waits for the clock before it goes on.
fn spawn(plan: &Plan, base_url: &str) -> std::io::Result<Spawned> {
    let probes = plan.probes.clone();
    let profile = plan.target_profile.clone();
    let heap = plan.heap_profile.clone();
    let base_url = base_url.to_string();
    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, ready_rx) = mpsc::channel();
    let (clock_tx, clock_rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("nexus-observe".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(());
                    let fetched = profile.map(|_| Fetched {
                        start_ms: 0.0,
                        duration_ms: 0.0,
                        bytes: Err(format!("no runtime: {e}")),
                    });
                    if heap.is_some() {
                        eprintln!("warning: no heap profile: no runtime: {e}");
                    }
                    return (Vec::new(), fetched, None);
                }
            };
            let before = rt.block_on(read_all(&probes, &base_url));
            let _ = ready_tx.send(());
            let Ok(clock) = clock_rx.recv() else {
                return (Vec::new(), None, None);
            };
            let targets = Targets {
                profile,
                heap,
                base_url,
            };
            rt.block_on(observe(probes, before, targets, clock, stop_rx))
        })?;
    // The thread signals (or drops the sender) once the "before" readings are done.
    let _ = ready_rx.recv();
    Ok((handle, stop_tx, clock_tx))
}

/// Reads every probe once, one after another (probe reads are short).
async fn read_all(probes: &[Probe], base_url: &str) -> Vec<Result<f64, probe::ProbeError>> {
    let mut out = Vec::new();
    for p in probes {
        out.push(probe::read(base_url, p, PROBE_TIMEOUT).await);
    }
    out
}

/// What the observer thread fetches from the target besides probes.
struct Targets {
    profile: Option<TargetProfile>,
    heap: Option<HeapProfile>,
    base_url: String,
}

async fn observe(
    probes: Vec<Probe>,
    before: Vec<Result<f64, probe::ProbeError>>,
    targets: Targets,
    clock: Clock,
    stop: watch::Receiver<bool>,
) -> ThreadOutput {
    let Targets {
        profile,
        heap,
        base_url,
    } = targets;
    let heap =
        heap.map(|h| tokio::spawn(super::heap::fetch(base_url.clone(), h, clock, stop.clone())));
    let fetch = profile.map(|p| {
        tokio::spawn(fetch_target_profile(
            base_url.clone(),
            p,
            clock,
            stop.clone(),
        ))
    });
    let tasks: Vec<_> = probes
        .iter()
        .map(|p| tokio::spawn(sample(base_url.clone(), p.clone(), clock, stop.clone())))
        .collect();
    let mut series = Vec::new();
    for ((p, before), task) in probes.iter().zip(before).zip(tasks) {
        let (samples, last_error) = task.await.unwrap_or_default();
        let after = probe::read(&base_url, p, PROBE_TIMEOUT).await;
        let mut error = last_error;
        for r in [&before, &after] {
            if let Err(e) = r {
                error = Some(e.to_string());
            }
        }
        series.push(ProbeSeries {
            name: p.name.clone(),
            source: probe::describe(p),
            before: before.ok(),
            after: after.ok(),
            samples,
            error,
        });
    }
    let fetched = match fetch {
        None => None,
        Some(task) => Some(task.await.unwrap_or_else(|e| Fetched {
            start_ms: 0.0,
            duration_ms: 0.0,
            bytes: Err(format!("the profile task failed: {e}")),
        })),
    };
    let heap = match heap {
        None => None,
        Some(task) => match task.await {
            Ok(h) => Some(h),
            Err(e) => {
                eprintln!("warning: no heap profile: the heap profile task failed: {e}");
                None
            }
        },
    };
    (series, fetched, heap)
}

/// Reads one probe every `interval` until `stop`; returns the readings and the last error.
async fn sample(
    base_url: String,
    p: Probe,
    clock: Clock,
    mut stop: watch::Receiver<bool>,
) -> (Vec<ProbeReading>, Option<String>) {
    let mut readings = Vec::new();
    let mut error = None;
    let start = tokio::time::Instant::now() + p.interval;
    let mut ticker = tokio::time::interval_at(start, p.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        match probe::read(
            &base_url,
            &p,
            PROBE_TIMEOUT.min(p.interval.max(Duration::from_millis(500))),
        )
        .await
        {
            Ok(value) => readings.push(ProbeReading {
                t_ms: signed_ms(Instant::now(), clock.epoch),
                value,
            }),
            Err(e) => error = Some(e.to_string()),
        }
    }
    (readings, error)
}

/// Waits for the end of the warm-up, then fetches the target's profile. A run that ends
/// before the window opens has no profile.
async fn fetch_target_profile(
    base_url: String,
    p: TargetProfile,
    clock: Clock,
    mut stop: watch::Receiver<bool>,
) -> Fetched {
    let at = tokio::time::Instant::from_std(clock.warmup_end);
    let start_ms = signed_ms(clock.warmup_end, clock.epoch);
    tokio::select! {
        _ = tokio::time::sleep_until(at) => {}
        _ = stop.wait_for(|s| *s) => {
            return Fetched {
                start_ms,
                duration_ms: 0.0,
                bytes: Err("the run ended before the profile window (right after the warm-up) opened".into()),
            };
        }
    }
    let began = Instant::now();
    let bytes = profiler::fetch_profile(&base_url, &p.path, p.seconds)
        .await
        .map_err(|e| e.to_string());
    Fetched {
        start_ms: signed_ms(began, clock.epoch),
        duration_ms: began.elapsed().as_secs_f64() * 1000.0,
        bytes,
    }
}

/// A profile that could not be taken.
fn failed(kind: &str, error: String) -> ProfileInfo {
    ProfileInfo {
        kind: kind.into(),
        pprof_file: None,
        flamegraph_file: None,
        start_ms: 0.0,
        duration_ms: 0.0,
        top: Vec::new(),
        error: Some(error),
        heap: None,
    }
}

/// Writes `<kind>.pb.gz` (gzipped if it was not) and `<kind>-flamegraph.svg`; the top
/// functions. A profile that does not decode or render keeps its raw file and an error.
fn save(dir: &Path, kind: &str, bytes: &[u8], decoded: Option<Profile>) -> ProfileInfo {
    let mut info = failed(kind, String::new());
    info.error = None;
    let pprof_name = format!("{kind}.pb.gz");
    match write_gz(dir, &pprof_name, bytes) {
        Ok(()) => info.pprof_file = Some(pprof_name),
        Err(e) => info.error = Some(e),
    }
    let profile = match decoded.map_or_else(|| profiler::decode_pprof(bytes), Ok) {
        Ok(p) => p,
        Err(e) => {
            info.error = Some(e.to_string());
            return info;
        }
    };
    info.top = profiler::top_functions(&profile, TOP_FUNCTIONS)
        .into_iter()
        .map(|t| TopFunctionInfo {
            name: t.name,
            self_samples: t.self_samples,
            total_samples: t.total_samples,
            self_percent: t.self_pct,
            total_percent: t.total_pct,
        })
        .collect();
    let svg_name = format!("{kind}-flamegraph.svg");
    let title = format!("{kind} CPU profile");
    match profiler::flamegraph_svg(&profile, &title)
        .map_err(|e| e.to_string())
        .and_then(|svg| {
            std::fs::write(dir.join(&svg_name), svg).map_err(|e| format!("writing {svg_name}: {e}"))
        }) {
        Ok(()) => info.flamegraph_file = Some(svg_name),
        Err(e) => info.error = Some(e),
    }
    info
}

/// Writes pprof `bytes` to `dir/name`, gzipped if they are not already.
pub(super) fn write_gz(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    let gz = if bytes.starts_with(&[0x1f, 0x8b]) {
        Ok(bytes.to_vec())
    } else {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).and_then(|()| enc.finish())
    };
    gz.and_then(|gz| std::fs::write(dir.join(name), gz))
        .map_err(|e| format!("writing {name}: {e}"))
}
