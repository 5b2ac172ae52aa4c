//! Thinning of resource readings for long runs: readings come ten times a second; after the
//! first 10 minutes a result keeps one per second (the last time, the highest memory, the
//! mean CPU of the second), so an hour's readings stay a few hundred KB while trends and
//! charts keep their shape. Judgements that need every reading run before thinning.

use super::{MachineReading, ResourceReading};

/// Readings up to this time (ms since the start) are all kept.
const KEEP_ALL_MS: f64 = 600_000.0;

/// Groups `items` by second after [`KEEP_ALL_MS`] and merges each group with `merge`.
fn thin<T: Clone>(items: Vec<T>, t_ms: impl Fn(&T) -> f64, merge: impl Fn(&[T]) -> T) -> Vec<T> {
    let mut out = Vec::new();
    let mut group: Vec<T> = Vec::new();
    let mut key = i64::MIN;
    for item in items {
        let t = t_ms(&item);
        if t <= KEEP_ALL_MS {
            out.push(item);
            continue;
        }
        let k = (t / 1000.0).floor() as i64;
        if k != key && !group.is_empty() {
            out.push(merge(&group));
            group.clear();
        }
        key = k;
        group.push(item);
    }
    if !group.is_empty() {
        out.push(merge(&group));
    }
    out
}

fn mean<T>(xs: &[T], f: impl Fn(&T) -> f64) -> f64 {
    xs.iter().map(f).sum::<f64>() / xs.len() as f64
}

/// Process readings, one per second after the first 10 minutes.
pub fn thin_readings(readings: Vec<ResourceReading>) -> Vec<ResourceReading> {
    thin(
        readings,
        |r| r.t_ms,
        |g| ResourceReading {
            t_ms: g[g.len() - 1].t_ms,
            rss_bytes: g.iter().map(|r| r.rss_bytes).max().unwrap_or(0),
            cpu_percent: mean(g, |r| r.cpu_percent),
        },
    )
}

/// Machine readings, one per second after the first 10 minutes.
pub fn thin_machine(readings: Vec<MachineReading>) -> Vec<MachineReading> {
    thin(
        readings,
        |r| r.t_ms,
        |g| MachineReading {
            t_ms: g[g.len() - 1].t_ms,
            busy_percent: mean(g, |r| r.busy_percent),
            other_percent: mean(g, |r| r.other_percent),
            steal_percent: mean(g, |r| r.steal_percent),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_ten_minutes_whole_then_one_reading_a_second() {
        let readings: Vec<ResourceReading> = (0..7_000)
            .map(|i| ResourceReading {
                t_ms: i as f64 * 100.0,
                rss_bytes: 1000 + i,
                cpu_percent: (i % 10) as f64,
            })
            .collect();
        let thin = thin_readings(readings);
        // 6,001 readings up to 600 s, then one per second for 600.1–699.9 s.
        assert_eq!(thin.len(), 6_001 + 100);
        let last = thin.last().unwrap();
        assert_eq!(last.t_ms, 699_900.0);
        assert_eq!(
            last.rss_bytes,
            1000 + 6_999,
            "the highest memory of the second"
        );
        assert!(
            (last.cpu_percent - 4.5).abs() < 1e-9,
            "the mean CPU of the second"
        );
    }
}
