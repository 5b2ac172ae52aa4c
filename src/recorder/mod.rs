//! Recording: each engine worker owns a [`WorkerRecorder`] (no locks, no atomics per
//! request) that fills per-second windows of HDR histograms and counters; finished windows
//! travel over a channel to one [`Aggregate`], which merges them losslessly. The aggregate is
//! the single source of every number in the result: totals are sums of windows. Its time
//! series ([`series`]) keeps finished seconds in compact form, so memory does not grow with
//! full histograms per second.

mod aggregate;
pub mod drive;
mod error_kind;
mod histogram;
mod phases;
pub mod series;

use std::time::{Duration, Instant};

pub use aggregate::{Aggregate, EndpointAgg};
pub use error_kind::ErrorKind;
pub use histogram::{Hist, MAX_US, map_histograms_fresh, new_histogram};
pub use phases::Phases;

/// The clock shared by all workers: a monotonic epoch and its wall-clock time, so every
/// worker assigns an instant to the same wall-clock second (runs on several machines merge by
/// wall-clock second).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Monotonic start of the run.
    pub epoch: Instant,
    /// Wall-clock time of `epoch`, in nanoseconds since the Unix epoch.
    pub epoch_unix_ns: i128,
    /// End of the warm-up.
    pub warmup_end: Instant,
}

impl Clock {
    /// A clock starting now, with the given warm-up.
    pub fn start(warmup: Duration) -> Self {
        let epoch = Instant::now();
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970");
        Clock {
            epoch,
            epoch_unix_ns: unix.as_nanos() as i128,
            warmup_end: epoch + warmup,
        }
    }

    /// The wall-clock second (Unix seconds) that `t` falls in.
    pub fn unix_second(&self, t: Instant) -> i64 {
        let ns = self.epoch_unix_ns + t.saturating_duration_since(self.epoch).as_nanos() as i128;
        ns.div_euclid(1_000_000_000) as i64
    }

    /// Start of the run in Unix milliseconds.
    pub fn start_unix_ms(&self) -> i64 {
        self.epoch_unix_ns.div_euclid(1_000_000) as i64
    }
}

/// One request name's part of a window.
#[derive(Debug, Clone)]
pub struct WindowEndpoint {
    /// Latency (µs).
    pub latency: Hist,
    /// Service time (µs).
    pub service: Hist,
    /// Completed requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Responses by status code.
    pub status: Vec<(u16, u64)>,
    /// Failures by kind, indexed by `ErrorKind as usize`.
    pub kinds: [u64; ErrorKind::COUNT],
    /// Connections opened: connect and TLS handshake times, protocols.
    pub phases: Phases,
}

impl WindowEndpoint {
    fn new() -> Self {
        WindowEndpoint {
            latency: new_histogram(),
            service: new_histogram(),
            requests: 0,
            errors: 0,
            status: Vec::new(),
            kinds: [0; ErrorKind::COUNT],
            phases: Phases::default(),
        }
    }
}

/// A finished part of one second from one worker.
#[derive(Debug, Clone)]
pub struct Window {
    /// Unix second.
    pub second: i64,
    /// Whether the records were made during the warm-up.
    pub warmup: bool,
    /// Per request id (only ids with traffic are `Some`).
    pub endpoints: Vec<Option<WindowEndpoint>>,
    /// Arrivals dropped (open model).
    pub dropped: u64,
    /// Most requests in flight at once on this worker.
    pub in_flight_max: u64,
    /// New error messages seen: (request id, kind, message).
    pub samples: Vec<(usize, ErrorKind, String)>,
    /// Open model: how late requests were sent against their intended start (µs).
    pub lag: Option<Hist>,
}

/// What one request produced.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Request id.
    pub request: usize,
    /// Latency (from intended start in the open model).
    pub latency: Duration,
    /// Service time (from the actual send).
    pub service: Duration,
    /// HTTP status, if a response head arrived.
    pub status: Option<u16>,
    /// Failure, if any.
    pub error: Option<ErrorKind>,
    /// When the request ended.
    pub end: Instant,
}

/// Per-worker recorder. Not `Send`-shared: each worker owns one.
pub struct WorkerRecorder {
    clock: Clock,
    current: Window,
    sink: std::sync::mpsc::Sender<Window>,
    requests: usize,
    sampled: usize,
    in_flight: u64,
    /// The second last split at the end of the warm-up, and the peak already sent for it.
    split: (i64, u64),
}

/// At most this many distinct error messages are sampled per worker.
const MAX_SAMPLES: usize = 64;

impl WorkerRecorder {
    /// A recorder for `requests` request ids, sending finished windows to `sink`.
    pub fn new(clock: Clock, requests: usize, sink: std::sync::mpsc::Sender<Window>) -> Self {
        let now = Instant::now();
        WorkerRecorder {
            current: empty_window(clock.unix_second(now), now < clock.warmup_end, requests),
            clock,
            sink,
            requests,
            sampled: 0,
            in_flight: 0,
            split: (i64::MIN, 0),
        }
    }

    fn roll(&mut self, t: Instant) {
        let second = self.clock.unix_second(t);
        let warmup = t < self.clock.warmup_end;
        if second != self.current.second || warmup != self.current.warmup {
            self.flush_to(second, warmup);
        }
    }

    fn flush_to(&mut self, second: i64, warmup: bool) {
        let mut next = empty_window(second, warmup, self.requests);
        next.in_flight_max = self.in_flight;
        let mut done = std::mem::replace(&mut self.current, next);
        // A second split where the warm-up ends goes out as two windows, which the aggregate
        // adds: together they must report this worker's peak once, not twice.
        let peak = done.in_flight_max;
        let (split_second, sent) = self.split;
        let already = if done.second == split_second { sent } else { 0 };
        done.in_flight_max = peak.saturating_sub(already);
        self.split = if second == done.second {
            (second, peak.max(already))
        } else {
            (i64::MIN, 0)
        };
        let busy = done.endpoints.iter().any(Option::is_some)
            || done.dropped > 0
            || done.in_flight_max > 0;
        if busy {
            // The aggregator outlives every worker; a closed channel means the run is over.
            let _ = self.sink.send(done);
        }
    }

    /// Records one finished request.
    pub fn record(&mut self, s: Sample) {
        self.roll(s.end);
        let ep = self.current.endpoints[s.request].get_or_insert_with(WindowEndpoint::new);
        if let Some(kind) = s.error.filter(|k| k.is_unsent()) {
            // Never sent: no latency sample. A generator error is not even a request (the
            // target saw nothing); a template error is the scenario's failed request.
            ep.kinds[kind as usize] += 1;
            if kind == ErrorKind::TemplateError {
                ep.requests += 1;
                ep.errors += 1;
            }
            return;
        }
        ep.latency.saturating_record(us(s.latency));
        ep.service.saturating_record(us(s.service));
        ep.requests += 1;
        if let Some(code) = s.status {
            match ep.status.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => *n += 1,
                None => ep.status.push((code, 1)),
            }
        }
        if let Some(kind) = s.error {
            ep.errors += 1;
            ep.kinds[kind as usize] += 1;
        }
    }

    /// Records a connection request `request` opened: its TCP connect time, TLS handshake
    /// time (TLS only) and whether it speaks HTTP/2.
    pub fn opened(&mut self, request: usize, opened: &crate::engine::transport::Opened) {
        self.roll(Instant::now());
        let ep = self.current.endpoints[request].get_or_insert_with(WindowEndpoint::new);
        ep.phases
            .record(us(opened.connect), opened.tls.map(us), opened.h2);
    }

    /// Keeps an error message as a sample (bounded; only the first few distinct ones).
    pub fn sample_error(
        &mut self,
        request: usize,
        kind: ErrorKind,
        message: impl FnOnce() -> String,
    ) {
        if self.sampled < MAX_SAMPLES {
            self.sampled += 1;
            let msg = message();
            self.current.samples.push((request, kind, msg));
        }
    }

    /// Counts an arrival that could not start because too many requests were in flight.
    pub fn dropped(&mut self, at: Instant) {
        self.roll(at);
        self.current.dropped += 1;
    }

    /// Records how late an open-model request was sent against its intended start.
    pub fn schedule_lag(&mut self, lag: Duration) {
        self.current
            .lag
            .get_or_insert_with(new_histogram)
            .saturating_record(us(lag));
    }

    /// Notes that a request started (for the in-flight gauge).
    pub fn started(&mut self) {
        self.in_flight += 1;
        self.current.in_flight_max = self.current.in_flight_max.max(self.in_flight);
    }

    /// Notes that a request ended or was abandoned.
    pub fn finished(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Requests in flight on this worker.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// Sends the current window if its second is over (called by a periodic tick, so idle
    /// workers still report).
    pub fn tick(&mut self, now: Instant) {
        self.roll(now);
    }

    /// Sends whatever is left; call once when the worker ends.
    pub fn finish(mut self) {
        self.flush();
    }

    /// Sends the current window now, whatever its second.
    pub fn flush(&mut self) {
        let second = self.current.second;
        let warmup = self.current.warmup;
        self.flush_to(second, warmup);
    }
}

fn empty_window(second: i64, warmup: bool, requests: usize) -> Window {
    Window {
        second,
        warmup,
        endpoints: vec![None; requests],
        dropped: 0,
        in_flight_max: 0,
        samples: Vec::new(),
        lag: None,
    }
}

/// Microseconds, at least 1 (the histogram's lowest value), at most one hour.
fn us(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, MAX_US)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_split_on_wall_clock_seconds_and_warmup() {
        let clock = Clock::start(Duration::from_millis(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let mut rec = WorkerRecorder::new(clock, 2, tx);
        let base = clock.epoch;
        let sample = |request, ms: u64, end: Instant| Sample {
            request,
            latency: Duration::from_millis(ms),
            service: Duration::from_millis(ms),
            status: Some(200),
            error: None,
            end,
        };
        rec.record(sample(0, 5, base));
        rec.record(sample(1, 7, base));
        // Two seconds later: the first window is sent.
        rec.record(sample(0, 9, base + Duration::from_secs(2)));
        let w = rx.try_recv().expect("first window flushed");
        assert_eq!(w.second, clock.unix_second(base));
        assert_eq!(w.endpoints[0].as_ref().unwrap().requests, 1);
        let h = &w.endpoints[1].as_ref().unwrap().latency;
        assert!(h.equivalent(h.max(), 7000), "{}", h.max());
        rec.record(Sample {
            error: Some(ErrorKind::RequestTimeout),
            status: None,
            ..sample(0, 1, base + Duration::from_secs(2))
        });
        rec.finish();
        let w2 = rx.try_recv().expect("last window flushed");
        let ep = w2.endpoints[0].as_ref().unwrap();
        assert_eq!((ep.requests, ep.errors), (2, 1));
        assert_eq!(ep.kinds[ErrorKind::RequestTimeout as usize], 1);
        assert_eq!(ep.status, vec![(200, 1)]);
    }

    #[test]
    fn a_second_split_by_the_warmup_end_reports_its_peak_once() {
        // Warm-up ends 0.5 s after the start of a wall-clock second.
        let mut clock = Clock::start(Duration::ZERO);
        let second_start = clock.epoch
            - Duration::from_nanos(clock.epoch_unix_ns.rem_euclid(1_000_000_000) as u64)
            + Duration::from_secs(1);
        clock.warmup_end = second_start + Duration::from_millis(500);
        let (tx, rx) = std::sync::mpsc::channel();
        let mut rec = WorkerRecorder::new(clock, 1, tx);
        rec.tick(second_start + Duration::from_millis(100));
        for _ in 0..3 {
            rec.started();
        }
        rec.tick(second_start + Duration::from_millis(600)); // the warm-up ends: split
        rec.finished();
        rec.tick(second_start + Duration::from_millis(900));
        rec.tick(second_start + Duration::from_millis(1100)); // next second
        rec.finish();
        let second = clock.unix_second(second_start);
        let total: u64 = rx
            .try_iter()
            .filter(|w| w.second == second)
            .map(|w| w.in_flight_max)
            .sum();
        assert_eq!(total, 3, "one worker with 3 in flight reports 3, not 6");
    }

    #[test]
    fn clock_maps_instants_to_unix_seconds() {
        let clock = Clock::start(Duration::ZERO);
        let s0 = clock.unix_second(clock.epoch);
        assert_eq!(
            clock.unix_second(clock.epoch + Duration::from_secs(3)) - s0,
            3
        );
        assert_eq!(s0, clock.start_unix_ms().div_euclid(1000));
    }
}
