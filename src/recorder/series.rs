//! The run's time series in bounded memory. A wall-clock second stays *open* (full-resolution
//! histograms, one per request name) only while windows for it may still arrive; then it is
//! *sealed* into a compact [`Span`]: counts, percentiles and the histograms encoded
//! (HdrHistogram V2 + deflate, a few hundred bytes instead of ~180 KB each).
//!
//! Resolution coarsens with the run's length ([`Resolution`]): the first `full_s` seconds are
//! one span each; later seconds are gathered into spans of `coarse_s` seconds (aligned on
//! wall-clock multiples, so instances of a distributed run agree) whose histograms cover the
//! whole span. Counts stay per second for the whole run. Full-resolution per-second
//! histograms leave through [`Series::take_intervals`] (for `latency.hlog`) when asked for.
//!
//! A window for a second already sealed (a late worker) is merged into its span by decoding
//! and re-encoding: exact, and rare.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

pub use super::span::{Pcts, SecondCounts, Span, SpanEndpoint, decode, encode};
use super::{Hist, new_histogram};

/// How finely the series is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// Seconds from the first one kept one by one (with per-second histograms).
    pub full_s: i64,
    /// Length of the later spans, in seconds.
    pub coarse_s: i64,
    /// A second is sealed once a window this many seconds newer has arrived. A worker sends
    /// a finished second within ~100 ms of its end, and its window of the next second only
    /// after that one ends, so 1 s loses nothing in order; a late window is still merged.
    pub seal_lag_s: i64,
}

impl Default for Resolution {
    /// Per second for ten minutes, then per 10 s; sealed 1 s after the fact.
    fn default() -> Self {
        Resolution {
            full_s: 600,
            coarse_s: 10,
            seal_lag_s: 1,
        }
    }
}

/// One sealed second at full resolution, for the interval log.
#[derive(Debug, Clone)]
pub struct Interval {
    /// Unix second.
    pub unix_s: i64,
    /// All request names merged.
    pub all: Hist,
    /// Per request id with traffic.
    pub endpoints: Vec<(usize, Hist)>,
}

/// A second (or the coarse span being filled) with its full-resolution histograms.
#[derive(Debug, Clone)]
struct Open {
    seconds: Vec<SecondCounts>,
    hists: Vec<Option<Hist>>,
}

impl Open {
    fn new(names: usize) -> Self {
        Open {
            seconds: Vec::new(),
            hists: vec![None; names],
        }
    }

    fn add_hists(&mut self, hists: &[Option<Hist>]) {
        for (a, b) in self.hists.iter_mut().zip(hists) {
            if let Some(b) = b {
                match a {
                    Some(a) => a.add(b).expect("same bounds"),
                    None => *a = Some(b.clone()),
                }
            }
        }
    }

    fn add_hists_owned(&mut self, hists: Vec<Option<Hist>>) {
        for (a, b) in self.hists.iter_mut().zip(hists) {
            if let Some(b) = b {
                match a {
                    Some(a) => a.add(&b).expect("same bounds"),
                    None => *a = Some(b),
                }
            }
        }
    }

    fn add_seconds(&mut self, seconds: &[SecondCounts]) {
        for s in seconds {
            match self.seconds.binary_search_by_key(&s.unix_s, |x| x.unix_s) {
                Ok(i) => self.seconds[i].add(s),
                Err(i) => self.seconds.insert(i, s.clone()),
            }
        }
    }

    /// The compact form.
    fn seal(&self, start: i64, length_s: i64, scratch: &mut Hist) -> Span {
        scratch.reset();
        let mut endpoints = vec![None; self.hists.len()];
        for (id, slot) in endpoints.iter_mut().enumerate() {
            let (requests, errors) = self
                .seconds
                .iter()
                .filter_map(|s| s.endpoints[id])
                .fold((0, 0), |a, (r, e)| (a.0 + r, a.1 + e));
            let seen = self.seconds.iter().any(|s| s.endpoints[id].is_some());
            let h = self.hists[id].as_ref();
            if !seen && h.is_none() {
                continue;
            }
            if let Some(h) = h {
                scratch.add(h).expect("same bounds");
            }
            *slot = Some(SpanEndpoint {
                requests,
                errors,
                latency: h.map(Pcts::of).unwrap_or_default(),
                histogram: h.map(encode).unwrap_or_default(),
            });
        }
        Span {
            start,
            length_s,
            seconds: self.seconds.clone(),
            latency: Pcts::of(scratch),
            endpoints,
        }
    }
}

/// The series: sealed spans, the coarse span being filled and the open seconds.
#[derive(Debug, Clone)]
pub struct Series {
    res: Resolution,
    names: usize,
    /// Wall-clock second from which spans are coarse (set by the first window).
    coarse_from: Option<i64>,
    /// Every second before this one is sealed.
    sealed_before: i64,
    open: BTreeMap<i64, Open>,
    /// The coarse span being filled: its start and contents.
    filling: Option<(i64, Open)>,
    spans: Vec<Span>,
    /// Starts of spans changed since the last [`Series::take_changed`].
    changed: BTreeSet<i64>,
    intervals: Option<Vec<Interval>>,
    scratch: Hist,
    /// Totals over every second, warm-up included: (requests, errors, dropped).
    all_time: (u64, u64, u64),
    /// The newest sealed second: its counts and all-names percentiles (for live progress).
    latest: Option<(SecondCounts, Pcts)>,
}

impl Series {
    /// An empty series for `names` request ids.
    pub fn new(names: usize, res: Resolution) -> Self {
        Series {
            res,
            names,
            coarse_from: None,
            sealed_before: i64::MIN,
            open: BTreeMap::new(),
            filling: None,
            spans: Vec::new(),
            changed: BTreeSet::new(),
            intervals: None,
            scratch: new_histogram(),
            all_time: (0, 0, 0),
            latest: None,
        }
    }

    /// From now on, keep each sealed second's full-resolution histograms for
    /// [`Series::take_intervals`].
    pub fn keep_intervals(&mut self) {
        self.intervals.get_or_insert_with(Vec::new);
    }

    /// The sealed seconds' full-resolution histograms since the last call.
    pub fn take_intervals(&mut self) -> Vec<Interval> {
        self.intervals
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The start of the span second `s` belongs to, and its nominal length.
    fn span_of(&self, s: i64) -> (i64, i64) {
        match self.coarse_from {
            Some(from) if s >= from => (s - s.rem_euclid(self.res.coarse_s), self.res.coarse_s),
            _ => (s, 1),
        }
    }

    /// Adds one worker's window: its counts (see [`SecondCounts::of`]) and its latency
    /// histograms per request id (moved in, not copied).
    pub fn add(&mut self, counts: SecondCounts, hists: Vec<Option<Hist>>) {
        let n = self.names;
        let coarse = self.res.coarse_s.max(1);
        let second = counts.unix_s;
        self.coarse_from.get_or_insert_with(|| {
            let from = second + self.res.full_s;
            from + (coarse - from.rem_euclid(coarse)) % coarse
        });
        self.all_time.0 += counts.requests;
        self.all_time.1 += counts.errors;
        self.all_time.2 += counts.dropped;
        if second < self.sealed_before {
            self.late(counts, hists);
        } else {
            let open = self.open.entry(second).or_insert_with(|| Open::new(n));
            open.add_seconds(std::slice::from_ref(&counts));
            open.add_hists_owned(hists);
            let newest = *self.open.keys().next_back().expect("just inserted");
            self.seal_through(newest - self.res.seal_lag_s);
        }
    }

    /// Seals every open second up to and including `last`.
    fn seal_through(&mut self, last: i64) {
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() > last {
                break;
            }
            let (second, open) = entry.remove_entry();
            self.seal_second(second, open);
        }
        self.sealed_before = self.sealed_before.max(last.saturating_add(1));
    }

    /// Seals everything, also the coarse span being filled (the end of the run).
    pub fn seal_all(&mut self) {
        self.seal_through(i64::MAX - 1);
        if let Some((start, open)) = self.filling.take() {
            let span = open.seal(start, self.res.coarse_s, &mut self.scratch);
            self.push_span(span);
        }
    }

    fn seal_second(&mut self, second: i64, open: Open) {
        let (start, length) = self.span_of(second);
        let span = open.seal(second, 1, &mut self.scratch);
        self.latest = Some((span.seconds[0].clone(), span.latency));
        if length == 1 {
            self.push_span(span);
        } else {
            if self.filling.as_ref().is_some_and(|(s, _)| *s != start) {
                let (s, done) = self.filling.take().expect("checked");
                let sealed = done.seal(s, self.res.coarse_s, &mut self.scratch);
                self.push_span(sealed);
                // `scratch` now holds the finished span: the second's total again.
                self.scratch.reset();
                for h in open.hists.iter().flatten() {
                    self.scratch.add(h).expect("same bounds");
                }
            }
            let names = self.names;
            let (_, fill) = self
                .filling
                .get_or_insert_with(|| (start, Open::new(names)));
            fill.add_seconds(&open.seconds);
            fill.add_hists(&open.hists);
            self.changed.insert(start);
        }
        if let Some(out) = &mut self.intervals {
            // The second's own histograms move on to the interval log (not copied).
            out.push(Interval {
                unix_s: second,
                all: self.scratch.clone(),
                endpoints: open
                    .hists
                    .into_iter()
                    .enumerate()
                    .filter_map(|(id, h)| h.map(|h| (id, h)))
                    .collect(),
            });
        }
    }

    /// Inserts a sealed span in order, merging with one of the same start.
    fn push_span(&mut self, span: Span) {
        self.changed.insert(span.start);
        match self.spans.binary_search_by_key(&span.start, |s| s.start) {
            Ok(i) => {
                let old = &self.spans[i];
                let mut open = reopen(old, self.names);
                open.add_seconds(&span.seconds);
                open.add_hists(&reopen(&span, self.names).hists);
                self.spans[i] = open.seal(old.start, old.length_s, &mut self.scratch);
            }
            Err(i) => self.spans.insert(i, span),
        }
    }

    /// A window for a second already sealed: merged into its span.
    fn late(&mut self, counts: SecondCounts, hists: Vec<Option<Hist>>) {
        let second = counts.unix_s;
        let (start, length) = self.span_of(second);
        let mut part = Open::new(self.names);
        part.add_seconds(std::slice::from_ref(&counts));
        part.add_hists(&hists);
        if let Some(out) = &mut self.intervals {
            let mut all = new_histogram();
            for h in hists.iter().flatten() {
                all.add(h).expect("same bounds");
            }
            out.push(Interval {
                unix_s: second,
                all,
                endpoints: hists
                    .into_iter()
                    .enumerate()
                    .filter_map(|(id, h)| h.map(|h| (id, h)))
                    .collect(),
            });
        }
        match &mut self.filling {
            Some((s, fill)) if *s == start => {
                fill.add_seconds(&part.seconds);
                fill.add_hists(&part.hists);
                self.changed.insert(start);
            }
            _ => {
                let span = part.seal(start, length, &mut self.scratch);
                self.push_span(span);
            }
        }
    }

    /// Every span so far, in order: the sealed ones, then provisional ones for the coarse
    /// span being filled and the open seconds.
    pub fn spans(&self) -> Vec<Cow<'_, Span>> {
        let mut out: Vec<Cow<'_, Span>> = self.spans.iter().map(Cow::Borrowed).collect();
        out.extend(self.provisional().into_iter().map(Cow::Owned));
        out
    }

    fn provisional(&self) -> Vec<Span> {
        let mut scratch = new_histogram();
        let mut out = Vec::new();
        let mut filling = self.filling.clone();
        for (&second, open) in &self.open {
            let (start, length) = self.span_of(second);
            if length == 1 {
                out.push(open.seal(second, 1, &mut scratch));
                continue;
            }
            match &mut filling {
                Some((s, fill)) if *s == start => {
                    fill.add_seconds(&open.seconds);
                    fill.add_hists(&open.hists);
                }
                _ => {
                    if let Some((s, fill)) = filling.take() {
                        out.push(fill.seal(s, self.res.coarse_s, &mut scratch));
                    }
                    let mut fill = Open::new(self.names);
                    fill.add_seconds(&open.seconds);
                    fill.add_hists(&open.hists);
                    filling = Some((start, fill));
                }
            }
        }
        if let Some((s, fill)) = filling {
            out.push(fill.seal(s, self.res.coarse_s, &mut scratch));
        }
        out.sort_by_key(|s| s.start);
        out
    }

    /// The spans changed since the last call (sealed ones that changed, and every
    /// provisional one), in order: what a checkpoint appends to its journal.
    pub fn take_changed(&mut self) -> Vec<Cow<'_, Span>> {
        let changed = std::mem::take(&mut self.changed);
        let mut out: Vec<Cow<'_, Span>> = changed
            .iter()
            .filter_map(|s| {
                self.spans
                    .binary_search_by_key(s, |x| x.start)
                    .ok()
                    .map(|i| Cow::Borrowed(&self.spans[i]))
            })
            .collect();
        out.extend(self.provisional().into_iter().map(Cow::Owned));
        out.sort_by_key(|s| s.start);
        out
    }

    /// The sealed spans that start after `after` (all of them for `None`), in order: what a
    /// live export sends as each second is sealed.
    pub fn sealed_after(&self, after: Option<i64>) -> Vec<Cow<'_, Span>> {
        let from = after.map_or(0, |a| self.spans.partition_point(|s| s.start <= a));
        self.spans[from..].iter().map(Cow::Borrowed).collect()
    }

    /// Totals over every second so far, warm-up included: (requests, errors, dropped).
    pub fn all_time(&self) -> (u64, u64, u64) {
        self.all_time
    }

    /// The newest sealed second: its counts and all-names percentiles.
    pub fn latest(&self) -> Option<&(SecondCounts, Pcts)> {
        self.latest.as_ref()
    }

    /// Bytes of memory the series holds (histogram counters, encoded histograms and the
    /// vectors' capacities): what a soak run's memory grows with.
    pub fn heap_bytes(&self) -> usize {
        let hist = |h: &Option<Hist>| h.as_ref().map_or(0, hist_bytes);
        let open = |o: &Open| {
            o.seconds.capacity() * std::mem::size_of::<SecondCounts>()
                + o.seconds.iter().map(counts_bytes).sum::<usize>()
                + o.hists.iter().map(hist).sum::<usize>()
                + o.hists.capacity() * std::mem::size_of::<Option<Hist>>()
        };
        let span = |s: &Span| {
            s.seconds.capacity() * std::mem::size_of::<SecondCounts>()
                + s.seconds.iter().map(counts_bytes).sum::<usize>()
                + s.endpoints.capacity() * std::mem::size_of::<Option<SpanEndpoint>>()
                + s.endpoints
                    .iter()
                    .flatten()
                    .map(|e| e.histogram.capacity())
                    .sum::<usize>()
        };
        self.spans.capacity() * std::mem::size_of::<Span>()
            + self.spans.iter().map(span).sum::<usize>()
            + self.open.values().map(open).sum::<usize>()
            + self.filling.as_ref().map_or(0, |(_, o)| open(o))
            + self.changed.len() * 2 * std::mem::size_of::<i64>()
            + hist_bytes(&self.scratch)
    }
}

fn counts_bytes(s: &SecondCounts) -> usize {
    s.endpoints.capacity() * std::mem::size_of::<Option<(u64, u64)>>()
}

/// The memory of a histogram's counters.
fn hist_bytes(h: &Hist) -> usize {
    h.distinct_values() * std::mem::size_of::<u64>()
}

/// A sealed span back in open form (decoded histograms).
fn reopen(span: &Span, names: usize) -> Open {
    let mut open = Open::new(names);
    open.seconds = span.seconds.clone();
    for (id, e) in span.endpoints.iter().enumerate() {
        if let Some(e) = e {
            open.hists[id] = (!e.histogram.is_empty()).then(|| decode(&e.histogram));
        }
    }
    open
}

#[cfg(test)]
#[path = "series_tests.rs"]
mod tests;
