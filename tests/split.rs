//! Property tests of splitting one load over instances (issue #12): for 1 to 15 instances,
//! 1 to 4 worker threads each, and constant, ramped and start-level profiles, the arrivals
//! the instances' workers schedule are disjoint and together are exactly the single-machine
//! schedule (same numbers, same instants); the closed model's active users add up to the
//! level at every instant; the request mix depends only on the global numbers.

use std::time::Duration;

use nexus_bench::engine::user::{arrival_key, iteration_key, pick};
use nexus_bench::plan::{Arrivals, MixItem, MixRun, Profile, Split, Stage, arrivals_before};
use proptest::prelude::*;

/// A profile of one of the three shapes the issue names: constant, ramped (from zero), or a
/// start level followed by several stages (ramps and holds, levels possibly zero).
fn profile() -> impl Strategy<Value = Profile> {
    let ms = 50u64..3_000;
    let level = 0.0f64..400.0;
    prop_oneof![
        (level.clone(), ms.clone())
            .prop_map(|(l, d)| Profile::constant(l.max(1.0), Duration::from_millis(d))),
        (level.clone(), ms.clone()).prop_map(|(l, d)| Profile {
            start: 0.0,
            stages: vec![Stage {
                duration: Duration::from_millis(d),
                target: l,
            }],
        }),
        (level.clone(), prop::collection::vec((level, ms), 1..4)).prop_map(|(start, stages)| {
            Profile {
                start,
                stages: stages
                    .into_iter()
                    .map(|(target, d)| Stage {
                        duration: Duration::from_millis(d),
                        target,
                    })
                    .collect(),
            }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Open model: the instances' arrivals (as their workers iterate them) are disjoint, each
    /// instance holds exactly the numbers `n mod N == I`, and their union is the global
    /// schedule, arrival for arrival and instant for instant.
    #[test]
    fn instance_arrivals_partition_the_global_schedule(
        p in profile(),
        instances in 1u32..16,
        threads in 1usize..5,
    ) {
        let global: Vec<(u64, Duration)> = Arrivals::all(&p).collect();
        prop_assert_eq!(global.len() as u64, arrivals_before(&p, p.duration()));
        let mut union = Vec::with_capacity(global.len());
        for i in 0..instances {
            let split = Split::new(i, instances).unwrap();
            let mut mine = 0u64;
            for w in 0..threads {
                for (n, due) in split.arrivals(&p, w, threads) {
                    prop_assert!(split.owns(n), "instance {} got arrival {}", i, n);
                    union.push((n, due));
                    mine += 1;
                }
            }
            prop_assert_eq!(mine, split.share(global.len() as u64), "instance {}", i);
        }
        union.sort_by_key(|&(n, _)| n);
        // Equal to the global list of distinct numbers: nothing twice, nothing missing, each
        // at the same instant.
        prop_assert_eq!(union, global);
    }

    /// Closed model: at every instant, the users active on the instances (each instance's
    /// workers' users with `u < users_at(t)`) add up to the global level, each instance
    /// holding its `u mod N` share, and no user is on two instances.
    #[test]
    fn instance_users_add_up_to_the_level(
        p in profile(),
        instances in 1u32..16,
        threads in 1usize..5,
        at in prop::collection::vec(0.0f64..1.2, 1..20),
    ) {
        let total = p.max_users();
        let mut owner = vec![None; total as usize];
        let users: Vec<Vec<u64>> = (0..instances)
            .map(|i| {
                let split = Split::new(i, instances).unwrap();
                (0..threads).flat_map(|w| split.numbers(total, w, threads)).collect()
            })
            .collect();
        for (i, list) in users.iter().enumerate() {
            for &u in list {
                prop_assert!(owner[u as usize].is_none(), "user {} on two instances", u);
                owner[u as usize] = Some(i);
            }
        }
        prop_assert!(owner.iter().all(Option::is_some), "a user belongs to no instance");
        for frac in at {
            let t = p.duration().mul_f64(frac);
            let level = p.users_at(t);
            let mut sum = 0;
            for (i, list) in users.iter().enumerate() {
                let active = list.iter().filter(|&&u| u < level).count() as u64;
                let split = Split::new(i as u32, instances).unwrap();
                prop_assert_eq!(active, split.share(level), "instance {} at {:?}", i, t);
                sum += active;
            }
            prop_assert_eq!(sum, level, "at {:?}", t);
        }
    }
}

fn mix(weights: &[u32]) -> Vec<MixItem> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &weight)| MixItem {
            weight,
            run: MixRun::Request(i),
        })
        .collect()
}

/// The mix keyed on global arrival numbers: over any run of consecutive arrivals, each item's
/// count stays within a few of its weighted share (a low-discrepancy sequence, not a coin).
#[test]
fn arrival_mix_follows_the_weights_closely() {
    let weights = [1, 3, 6, 90];
    let items = mix(&weights);
    let total: u32 = weights.iter().sum();
    for (from, len) in [(0u64, 1_000u64), (12_345, 10_000), (1 << 40, 100_000)] {
        let mut counts = [0u64; 4];
        for n in from..from + len {
            counts[pick(&items, total, arrival_key(n))] += 1;
        }
        for (i, &w) in weights.iter().enumerate() {
            let expected = len as f64 * f64::from(w) / f64::from(total);
            let off = (counts[i] as f64 - expected).abs();
            assert!(
                off <= 8.0,
                "item {i}: {} of {len} from {from}, expected {expected}",
                counts[i]
            );
        }
    }
}

/// Closed model: users' iterations keyed on (user, iteration) follow the weights too, and
/// the draw of a user's iteration is the same whatever instance or thread runs it (it is a
/// function of the two global numbers only).
#[test]
fn iteration_mix_follows_the_weights() {
    let weights = [1, 1, 8];
    let items = mix(&weights);
    let mut counts = [0u64; 3];
    for user in 0..200 {
        for iteration in 0..50 {
            counts[pick(&items, 10, iteration_key(user, iteration))] += 1;
        }
    }
    // 10 000 draws: 1 000, 1 000, 8 000, each user's 50 within a few of its share.
    for (i, &w) in weights.iter().enumerate() {
        let expected = 10_000.0 * f64::from(w) / 10.0;
        assert!(
            (counts[i] as f64 - expected).abs() <= 200.0,
            "item {i}: {} (expected {expected})",
            counts[i]
        );
    }
    assert_ne!(
        iteration_key(1, 0),
        iteration_key(2, 0),
        "users start at different points"
    );
}

/// A single weight, or zero-weight tails, never pick outside the mix.
#[test]
fn pick_stays_in_the_mix() {
    let items = mix(&[5]);
    assert!((0..1000).all(|n| pick(&items, 5, arrival_key(n)) == 0));
    let items = mix(&[2, 1]);
    assert!((0..1000).all(|n| pick(&items, 3, u64::MAX - n) < 2));
}
