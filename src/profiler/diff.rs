//! Differential CPU profiles: what changed between a baseline profile and the current one,
//! normalised to CPU time per request so a run that served more (or fewer) requests is not
//! simply "more (or less) of everything".
//!
//! Pure: two decoded profiles and the number of requests each one's window covered in, a
//! table and an SVG out.

use std::collections::{HashMap, HashSet};

use super::decode::cpu_stacks;
use super::{Profile, ProfileError};

/// One function's CPU per request before and after, self (it is the leaf) and total (it is
/// on the stack), in microseconds of CPU per request.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffRow {
    /// Function name (short, as in the flamegraphs).
    pub name: String,
    /// Self CPU µs per request in the baseline.
    pub self_before_us: f64,
    /// Self CPU µs per request now.
    pub self_after_us: f64,
    /// Total CPU µs per request in the baseline.
    pub total_before_us: f64,
    /// Total CPU µs per request now.
    pub total_after_us: f64,
}

impl DiffRow {
    /// Change of self CPU per request (µs).
    pub fn self_delta_us(&self) -> f64 {
        self.self_after_us - self.self_before_us
    }
    /// Change of total CPU per request (µs).
    pub fn total_delta_us(&self) -> f64 {
        self.total_after_us - self.total_before_us
    }
}

/// Per function: (self ns, total ns) summed over the profile, divided by `requests`.
fn per_request(p: &Profile, requests: f64) -> HashMap<String, (f64, f64)> {
    let mut out: HashMap<String, (f64, f64)> = HashMap::new();
    for (frames, ns) in cpu_stacks(p) {
        let us = ns / 1_000.0 / requests;
        if let Some(leaf) = frames.last() {
            out.entry(leaf.clone()).or_default().0 += us;
        }
        let distinct: HashSet<&String> = frames.iter().collect();
        for name in distinct {
            out.entry(name.clone()).or_default().1 += us;
        }
    }
    out
}

/// The `n` functions whose self CPU per request changed most (ties and zero self change:
/// by total change), largest absolute change first, with both values.
///
/// `*_requests` are the requests completed during each profile's window; they must be
/// positive.
pub fn cpu_diff(
    before: &Profile,
    before_requests: f64,
    after: &Profile,
    after_requests: f64,
    n: usize,
) -> Result<Vec<DiffRow>, ProfileError> {
    if !(before_requests > 0.0 && after_requests > 0.0) {
        return Err(ProfileError::Decode(
            "a profile window with no completed request cannot be normalised".into(),
        ));
    }
    let b = per_request(before, before_requests);
    let a = per_request(after, after_requests);
    let names: HashSet<&String> = b.keys().chain(a.keys()).collect();
    let mut rows: Vec<DiffRow> = names
        .into_iter()
        .map(|name| {
            let (sb, tb) = b.get(name).copied().unwrap_or_default();
            let (sa, ta) = a.get(name).copied().unwrap_or_default();
            DiffRow {
                name: name.clone(),
                self_before_us: sb,
                self_after_us: sa,
                total_before_us: tb,
                total_after_us: ta,
            }
        })
        .collect();
    rows.sort_by(|x, y| {
        y.self_delta_us()
            .abs()
            .total_cmp(&x.self_delta_us().abs())
            .then(
                y.total_delta_us()
                    .abs()
                    .total_cmp(&x.total_delta_us().abs()),
            )
            .then_with(|| x.name.cmp(&y.name))
    });
    rows.truncate(n);
    Ok(rows)
}

/// The differential flamegraph (inferno's differential mode): frame widths are the current
/// run's CPU, colours the change per request (red grew, blue shrank). The baseline's CPU is
/// rescaled to the current run's request count first.
pub fn diff_flamegraph_svg(
    before: &Profile,
    before_requests: f64,
    after: &Profile,
    after_requests: f64,
    title: &str,
) -> Result<String, ProfileError> {
    if !(before_requests > 0.0 && after_requests > 0.0) {
        return Err(ProfileError::Empty);
    }
    let scale = after_requests / before_requests;
    let mut merged: HashMap<String, (f64, f64)> = HashMap::new();
    for (frames, ns) in cpu_stacks(before) {
        merged.entry(frames.join(";")).or_default().0 += ns * scale;
    }
    for (frames, ns) in cpu_stacks(after) {
        merged.entry(frames.join(";")).or_default().1 += ns;
    }
    // Integer counts in nanoseconds of CPU (inferno's folded format wants integers).
    let mut lines: Vec<String> = merged
        .into_iter()
        .map(|(stack, (b, a))| format!("{stack} {} {}", b.round() as u64, a.round() as u64))
        .collect();
    lines.sort();
    if lines.is_empty() {
        return Err(ProfileError::Empty);
    }
    let mut options = super::flame::icicle_options(title, "ns of CPU");
    options.subtitle = Some(
        "widths: current run · red: more CPU per request than the baseline, blue: less".into(),
    );
    super::flame::render(&mut options, &lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiler::decode::tests::small_profile;

    #[test]
    fn a_function_that_grew_per_request_leads_the_table() {
        let before = small_profile();
        // The same stacks, `leaf` stacks tripled (5 → 15 samples), `main` alone unchanged.
        let mut after = small_profile();
        after.sample[0].value = vec![9];
        after.sample[2].value = vec![6];
        // Twice the requests in both windows: per-request figures are what is compared.
        let rows = cpu_diff(&before, 10.0, &after, 10.0, 10).unwrap();
        assert_eq!(rows[0].name, "leaf");
        assert!(rows[0].self_delta_us() > 0.0);
        assert!((rows[0].self_after_us / rows[0].self_before_us - 3.0).abs() < 1e-9);
        // Normalisation: the same profile over twice the requests halves every value.
        let rows = cpu_diff(&before, 10.0, &before, 20.0, 10).unwrap();
        let main = rows.iter().find(|r| r.name == "main").unwrap();
        assert!((main.total_after_us * 2.0 - main.total_before_us).abs() < 1e-9);
        assert!(cpu_diff(&before, 0.0, &after, 1.0, 1).is_err());
    }

    #[test]
    fn the_diff_svg_is_differential() {
        let before = small_profile();
        let mut after = small_profile();
        after.sample[0].value = vec![9];
        let svg = diff_flamegraph_svg(&before, 1.0, &after, 1.0, "diff").unwrap();
        assert!(svg.contains("<svg") && svg.contains("leaf"));
        // inferno marks differential frames with the change in their title.
        assert!(svg.contains('%'), "no change shown");
    }
}
