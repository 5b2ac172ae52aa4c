//! The aggregate of every worker's windows: per-second series and measured-period totals,
//! merged losslessly (histograms add).

use std::collections::BTreeMap;

use super::series::{Resolution, SecondCounts, Series};
use super::{ErrorKind, Phases, Window};
use super::{Hist, new_histogram};

/// Measured-period totals of one request name.
#[derive(Debug, Clone)]
pub struct EndpointAgg {
    /// Latency (µs).
    pub latency: Hist,
    /// Service time (µs).
    pub service: Hist,
    /// Completed requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Responses by status code.
    pub status: BTreeMap<u16, u64>,
    /// Failures by kind, indexed by `ErrorKind as usize`.
    pub kinds: [u64; ErrorKind::COUNT],
    /// Connections opened: connect and TLS handshake times, protocols.
    pub phases: Phases,
}

impl Default for EndpointAgg {
    /// Empty totals.
    fn default() -> Self {
        EndpointAgg {
            latency: new_histogram(),
            service: new_histogram(),
            requests: 0,
            errors: 0,
            status: BTreeMap::new(),
            kinds: [0; ErrorKind::COUNT],
            phases: Phases::default(),
        }
    }
}

impl EndpointAgg {
    /// Adds another request name's totals (for the all-requests entry).
    pub fn add(&mut self, o: &EndpointAgg) {
        self.latency.add(&o.latency).expect("same bounds");
        self.service.add(&o.service).expect("same bounds");
        self.requests += o.requests;
        self.errors += o.errors;
        for (c, n) in &o.status {
            *self.status.entry(*c).or_default() += n;
        }
        for (a, b) in self.kinds.iter_mut().zip(o.kinds) {
            *a += b;
        }
        self.phases.add(&o.phases);
    }
}

/// Everything measured so far.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// Measured-period totals per request id.
    pub endpoints: Vec<EndpointAgg>,
    /// Per wall-clock second, warm-up included, in bounded memory.
    pub series: Series,
    /// Dropped arrivals in the measured period.
    pub dropped: u64,
    /// Distinct error messages: (request id, kind, message, count).
    pub samples: Vec<(usize, ErrorKind, String, u64)>,
    /// Open model, measured period: send lateness against the schedule (µs).
    pub lag: Hist,
    /// Connections the generator could not open for its own lack of resources, warm-up
    /// included (`generator_error`).
    pub generator_errors: u64,
}

impl Aggregate {
    /// An empty aggregate for `requests` request ids, with the default [`Resolution`].
    pub fn new(requests: usize) -> Self {
        Self::with_resolution(requests, Resolution::default())
    }

    /// An empty aggregate for `requests` request ids keeping its series at `res`.
    pub fn with_resolution(requests: usize, res: Resolution) -> Self {
        Aggregate {
            endpoints: (0..requests).map(|_| EndpointAgg::default()).collect(),
            series: Series::new(requests, res),
            dropped: 0,
            samples: Vec::new(),
            lag: new_histogram(),
            generator_errors: 0,
        }
    }

    /// Merges one worker's window.
    pub fn add(&mut self, w: Window) {
        let counts = SecondCounts::of(&w);
        if !w.warmup {
            self.dropped += w.dropped;
            if let Some(lag) = &w.lag {
                self.lag.add(lag).expect("same bounds");
            }
        }
        let mut hists: Vec<Option<Hist>> = Vec::with_capacity(w.endpoints.len());
        for (id, part) in w.endpoints.into_iter().enumerate() {
            let Some(part) = part else {
                hists.push(None);
                continue;
            };
            let total = &mut self.endpoints[id];
            // Connections open mostly at the start: their phases count warm-up included.
            total.phases.add(&part.phases);
            self.generator_errors += part.kinds[ErrorKind::GeneratorError as usize];
            if !w.warmup {
                total.latency.add(&part.latency).expect("same bounds");
                total.service.add(&part.service).expect("same bounds");
                total.requests += part.requests;
                total.errors += part.errors;
                for (code, count) in part.status {
                    *total.status.entry(code).or_default() += count;
                }
                for (acc, k) in total.kinds.iter_mut().zip(part.kinds) {
                    *acc += k;
                }
            }
            hists.push((!part.latency.is_empty()).then_some(part.latency));
        }
        self.series.add(counts, hists);
        for (id, kind, message) in w.samples {
            match self
                .samples
                .iter_mut()
                .find(|s| s.0 == id && s.1 == kind && s.2 == message)
            {
                Some(s) => s.3 += 1,
                None => self.samples.push((id, kind, message, 1)),
            }
        }
    }

    /// Completed requests in the measured period.
    pub fn requests(&self) -> u64 {
        self.endpoints.iter().map(|e| e.requests).sum()
    }

    /// Failed requests in the measured period.
    pub fn errors(&self) -> u64 {
        self.endpoints.iter().map(|e| e.errors).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::super::WindowEndpoint;
    use super::*;

    fn window(second: i64, warmup: bool, latency_us: u64) -> Window {
        let mut ep = WindowEndpoint::new();
        ep.latency.record(latency_us).unwrap();
        ep.service.record(latency_us).unwrap();
        ep.requests = 1;
        ep.status.push((200, 1));
        Window {
            second,
            warmup,
            endpoints: vec![Some(ep)],
            dropped: 1,
            in_flight_max: 2,
            samples: vec![],
            lag: None,
        }
    }

    #[test]
    fn warmup_is_in_the_series_but_not_the_totals() {
        let mut agg = Aggregate::new(1);
        agg.add(window(100, true, 50));
        agg.add(window(101, false, 70));
        agg.add(window(101, false, 90));
        assert_eq!(agg.requests(), 2);
        assert_eq!(agg.dropped, 2);
        assert_eq!(agg.endpoints[0].status[&200], 2);
        agg.series.seal_all();
        let spans = agg.series.spans();
        assert_eq!(spans.len(), 2);
        assert!(spans[0].warmup());
        assert!(!spans[1].warmup());
        assert_eq!(spans[1].seconds[0].requests, 2);
        assert_eq!(spans[1].seconds[0].in_flight_max, 4);
        assert_eq!(agg.endpoints[0].latency.max(), 90);
    }
}
