//! Unit tests of [`super`]: the layout of spans, late windows, what is held.
use super::*;

const RES: Resolution = Resolution {
    full_s: 3,
    coarse_s: 5,
    seal_lag_s: 1,
};

/// One worker's window of `second`: request id 0 with `n` requests at `us` µs.
fn add(series: &mut Series, second: i64, n: u64, us: u64) {
    let mut counts = SecondCounts::new(second, 2);
    counts.warmup = false;
    counts.requests = n;
    counts.endpoints[0] = Some((n, 0));
    let mut h = new_histogram();
    h.record_n(us, n).unwrap();
    series.add(counts, vec![Some(h), None]);
}

#[test]
fn seconds_then_aligned_coarse_spans_with_counts_per_second() {
    let mut s = Series::new(2, RES);
    s.keep_intervals();
    for second in 100..116 {
        add(&mut s, second, 10, 1000 + second as u64);
    }
    // Sealed as they go: everything up to the second before the newest.
    assert_eq!(s.take_intervals().len(), 15);
    s.seal_all();
    assert_eq!(s.take_intervals().len(), 1);
    let spans = s.spans();
    let starts: Vec<(i64, i64)> = spans.iter().map(|x| (x.start, x.length_s)).collect();
    // Coarse from the first multiple of 5 at least 3 s after the first second.
    assert_eq!(
        starts,
        [
            (100, 1),
            (101, 1),
            (102, 1),
            (103, 1),
            (104, 1),
            (105, 5),
            (110, 5),
            (115, 5)
        ]
    );
    let coarse = &spans[5];
    assert_eq!(coarse.seconds.len(), 5);
    assert!(coarse.seconds.iter().all(|c| c.requests == 10));
    let e = coarse.endpoints[0].as_ref().unwrap();
    assert_eq!(e.requests, 50);
    assert_eq!(decode(&e.histogram).len(), 50);
    assert_eq!(coarse.latency.max, decode(&e.histogram).max());
    assert!(coarse.endpoints[1].is_none(), "no traffic, no entry");
    assert_eq!(s.all_time(), (160, 0, 0));
}

#[test]
fn a_late_window_is_merged_into_its_sealed_span() {
    let mut s = Series::new(2, RES);
    for second in 100..103 {
        add(&mut s, second, 10, 500);
    }
    assert_eq!(s.spans.len(), 2, "100 and 101 sealed");
    let _ = s.take_changed();
    add(&mut s, 100, 5, 9000);
    let changed = s.take_changed();
    assert_eq!(
        changed.iter().map(|x| x.start).collect::<Vec<_>>(),
        [100, 102],
        "the merged span and the open second"
    );
    let first = &s.spans[0];
    assert_eq!(first.seconds[0].requests, 15);
    let e = first.endpoints[0].as_ref().unwrap();
    assert_eq!((e.requests, e.latency.count), (15, 15));
    assert_eq!(
        decode(&e.histogram).max(),
        new_histogram().highest_equivalent(9000)
    );
    // Nothing changed since: only the provisional open second comes again.
    let again: Vec<i64> = s.take_changed().iter().map(|x| x.start).collect();
    assert_eq!(again, [102]);
}

#[test]
fn holds_little_once_sealed() {
    let mut s = Series::new(2, RES);
    for second in 0..200 {
        add(&mut s, second, 100, 700 + (second as u64 % 50));
    }
    s.seal_all();
    // 3 + 2 one-second spans and 39 coarse ones: no full histogram left but the scratch.
    assert_eq!(s.spans.len(), 44);
    assert!(s.open.is_empty() && s.filling.is_none());
    let held = s.heap_bytes();
    let one_histogram = new_histogram().distinct_values() * 8;
    assert!(held < one_histogram + 200 * 1024, "{held} bytes");
}
