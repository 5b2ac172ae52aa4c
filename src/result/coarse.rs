//! Merging the per-second counts of coarse time-series entries (entries of several seconds,
//! see [`super::Second::seconds`]) when results of the same run are merged: the seconds of
//! both are joined by `unix_s` and each request name's counts realigned to them.

use std::collections::BTreeMap;

use super::{PerSecond, Second};

/// The joined per-second counts of two entries with the same start, computed before the
/// entries themselves are added ([`apply`] puts them in place afterwards).
pub(super) struct Joined {
    seconds: Vec<PerSecond>,
    /// Per request name: requests and errors by second, aligned with `seconds`.
    endpoints: BTreeMap<String, (Vec<u64>, Vec<u64>)>,
}

/// One second's counts and each request name's `(name, requests, errors)` in it.
type CountsOf<'a> = (PerSecond, Vec<(&'a str, u64, u64)>);

/// Per second of `s` (a one-second entry is its own only second): the counts, and each
/// request name's (requests, errors).
fn by_second(s: &Second) -> Vec<CountsOf<'_>> {
    if s.seconds.is_empty() {
        let c = PerSecond {
            unix_s: s.unix_s,
            warmup: s.warmup,
            length_ms: s.length_ms,
            requests: s.requests,
            errors: s.errors,
            dropped: s.dropped,
            in_flight_max: s.in_flight_max,
        };
        let names = s
            .endpoints
            .iter()
            .map(|e| (e.name.as_str(), e.requests, e.errors))
            .collect();
        return vec![(c, names)];
    }
    s.seconds
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let names = s
                .endpoints
                .iter()
                .map(|e| {
                    let at = |v: &[u64]| v.get(i).copied().unwrap_or(0);
                    (
                        e.name.as_str(),
                        at(&e.requests_by_second),
                        at(&e.errors_by_second),
                    )
                })
                .collect();
            (c.clone(), names)
        })
        .collect()
}

/// `None` when both entries are one second long (nothing to join).
pub(super) fn join(a: &Second, b: &Second) -> Option<Joined> {
    if a.seconds.is_empty() && b.seconds.is_empty() {
        return None;
    }
    let mut seconds: BTreeMap<i64, PerSecond> = BTreeMap::new();
    let mut names: BTreeMap<String, BTreeMap<i64, (u64, u64)>> = BTreeMap::new();
    for (c, per_name) in by_second(a).into_iter().chain(by_second(b)) {
        let unix_s = c.unix_s;
        match seconds.get_mut(&unix_s) {
            Some(x) => {
                x.warmup &= c.warmup;
                x.length_ms = x.length_ms.max(c.length_ms);
                x.requests += c.requests;
                x.errors += c.errors;
                x.dropped += c.dropped;
                x.in_flight_max += c.in_flight_max;
            }
            None => {
                seconds.insert(unix_s, c);
            }
        }
        for (name, r, e) in per_name {
            let slot = names
                .entry(name.to_string())
                .or_default()
                .entry(unix_s)
                .or_default();
            slot.0 += r;
            slot.1 += e;
        }
    }
    let endpoints = names
        .into_iter()
        .map(|(name, by)| {
            let pick = |f: fn(&(u64, u64)) -> u64| {
                seconds
                    .keys()
                    .map(|s| by.get(s).map_or(0, f))
                    .collect::<Vec<u64>>()
            };
            (name, (pick(|x| x.0), pick(|x| x.1)))
        })
        .collect();
    Some(Joined {
        seconds: seconds.into_values().collect(),
        endpoints,
    })
}

/// Puts joined counts into the merged entry.
pub(super) fn apply(acc: &mut Second, joined: Option<Joined>) {
    let Some(mut j) = joined else { return };
    acc.length_ms = j.seconds.iter().map(|c| c.length_ms).sum();
    acc.in_flight_max = j.seconds.iter().map(|c| c.in_flight_max).max().unwrap_or(0);
    for e in &mut acc.endpoints {
        if let Some((r, x)) = j.endpoints.remove(&e.name) {
            (e.requests_by_second, e.errors_by_second) = (r, x);
        }
    }
    acc.seconds = j.seconds;
}
