//! The functions where the samples are: self time (the function is the leaf) and total time
//! (the function is anywhere on the stack).

use std::collections::{HashMap, HashSet};

use super::Profile;
use super::decode::stacks;

/// One row of the top-functions table.
#[derive(Debug, Clone, PartialEq)]
pub struct TopFunction {
    /// Function name.
    pub name: String,
    /// Samples in which this function was the leaf (running itself).
    pub self_samples: u64,
    /// Samples in which this function was anywhere on the stack (counted once per sample,
    /// even when it recurses).
    pub total_samples: u64,
    /// `self_samples` as a percentage of all samples.
    pub self_pct: f64,
    /// `total_samples` as a percentage of all samples.
    pub total_pct: f64,
}

/// The `n` functions with the most self samples (ties: more total samples, then by name).
pub fn top_functions(p: &Profile, n: usize) -> Vec<TopFunction> {
    let mut self_samples: HashMap<&str, u64> = HashMap::new();
    let mut total_samples: HashMap<&str, u64> = HashMap::new();
    let mut all = 0u64;
    let stacks = stacks(p);
    for (frames, count) in &stacks {
        all += count;
        if let Some(leaf) = frames.last() {
            *self_samples.entry(leaf).or_default() += count;
        }
        let distinct: HashSet<&str> = frames.iter().map(String::as_str).collect();
        for name in distinct {
            *total_samples.entry(name).or_default() += count;
        }
    }
    let pct = |x: u64| {
        if all == 0 {
            0.0
        } else {
            x as f64 / all as f64 * 100.0
        }
    };
    let mut rows: Vec<TopFunction> = total_samples
        .iter()
        .map(|(name, &total)| {
            let own = self_samples.get(name).copied().unwrap_or(0);
            TopFunction {
                name: name.to_string(),
                self_samples: own,
                total_samples: total,
                self_pct: pct(own),
                total_pct: pct(total),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.self_samples
            .cmp(&a.self_samples)
            .then(b.total_samples.cmp(&a.total_samples))
            .then_with(|| a.name.cmp(&b.name))
    });
    rows.truncate(n);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiler::decode::tests::small_profile;
    use pprof::protos::{Sample, ValueType};

    #[test]
    fn self_and_total_from_the_small_profile() {
        let top = top_functions(&small_profile(), 10);
        let row = |name: &str| top.iter().find(|r| r.name == name).unwrap().clone();
        assert_eq!(top[0].name, "leaf");
        assert_eq!(
            (row("leaf").self_samples, row("leaf").total_samples),
            (5, 5)
        );
        assert_eq!(
            (row("main").self_samples, row("main").total_samples),
            (1, 6)
        );
        assert_eq!(
            (row("work").self_samples, row("work").total_samples),
            (0, 5)
        );
        assert!((row("main").total_pct - 100.0).abs() < 1e-9);
        assert!((row("leaf").self_pct - 500.0 / 6.0).abs() < 1e-9);
        assert_eq!(top_functions(&small_profile(), 2).len(), 2);
    }

    #[test]
    fn recursion_is_counted_once_per_stack() {
        let mut p = small_profile();
        // main -> main -> main (location 10 three times), 4 samples.
        p.sample = vec![Sample {
            location_id: vec![10, 10, 10],
            value: vec![4],
            label: vec![],
        }];
        p.sample_type = vec![ValueType { ty: 1, unit: 2 }];
        let top = top_functions(&p, 5);
        assert_eq!(top.len(), 1);
        assert_eq!((top[0].self_samples, top[0].total_samples), (4, 4));
        assert!((top[0].total_pct - 100.0).abs() < 1e-9);
    }
}
