//! Merging a distributed run: exactness (samples split across N results merge into the
//! histogram of all samples, bucket by bucket), the complete-set rules (instances 0..N-1 of
//! one run, each once, overlapping), what the merge says about its inputs and the
//! instances table. Results collected from logs: `merge_logs.rs`.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use nexus_bench::analysis::merged;
use nexus_bench::result::{
    self, EncodedHistogram, InstanceInfo, RunResult, RunStatus, SetError, Summary, Verdict,
    check_set, new_histogram,
};

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// The committed sample result without its per-second series (not needed here, and slow).
fn sample() -> RunResult {
    static SAMPLE: std::sync::OnceLock<RunResult> = std::sync::OnceLock::new();
    SAMPLE
        .get_or_init(|| {
            let mut r = result::load(&fixture("fixtures/results/sample.json")).unwrap();
            r.timeseries.clear();
            r
        })
        .clone()
}

/// `sample()` as instance `i` of `n` of run `id`.
fn share(id: &str, i: u32, n: u32) -> RunResult {
    let mut r = sample();
    r.run_id = Some(id.into());
    r.instances = vec![InstanceInfo {
        instance: i,
        instances: n,
        start_at: None,
        hostname: format!("gen-{i}"),
    }];
    r
}

/// Instances 0..n of run `id`.
fn set(id: &str, n: u32) -> Vec<RunResult> {
    (0..n).map(|i| share(id, i, n)).collect()
}

fn hist(samples: &[u64]) -> nexus_bench::result::Hist {
    let mut h = new_histogram();
    for &s in samples {
        h.record(s).unwrap();
    }
    h
}

/// `r` with every request's latency and service-time histograms replaced by `samples`.
fn with_samples(mut r: RunResult, samples: &[u64]) -> RunResult {
    let h = EncodedHistogram::encode(&hist(samples));
    let n = samples.len() as u64;
    r.endpoints.truncate(1);
    for e in r
        .endpoints
        .iter_mut()
        .chain(std::iter::once(&mut r.overall))
    {
        e.histograms.latency_us = h.clone();
        e.histograms.service_time_us = h.clone();
        e.requests = n;
        e.errors = 0;
        e.connections = None;
    }
    r.totals.requests = n;
    r
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Samples dealt to N generators, merged: the merged histogram equals the histogram of
    /// all samples bucket by bucket, and every percentile is identical.
    #[test]
    fn split_samples_merge_into_the_histogram_of_all(
        samples in prop::collection::vec(
            prop_oneof![1u64..2_000, 2_000u64..200_000, 200_000u64..3_600_000_000],
            1..400,
        ),
        n in 1usize..16,
        seed in any::<u64>(),
    ) {
        // Deal each sample to a generator by a hash of its position: uneven shares, some
        // empty.
        let mut parts: Vec<Vec<u64>> = vec![Vec::new(); n];
        for (k, &s) in samples.iter().enumerate() {
            let pick = (seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).rotate_left(17);
            parts[(pick % n as u64) as usize].push(s);
        }
        let inputs: Vec<RunResult> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut r = with_samples(share("prop", i as u32, n as u32), p);
                if n == 1 {
                    r.instances.clear();
                }
                r
            })
            .collect();
        let merged = result::merge(&inputs).unwrap();
        let all = hist(&samples);
        for e in [&merged.overall, &merged.endpoints[0]] {
            let got = e.histograms.latency_us.decode().unwrap();
            prop_assert_eq!(got.len(), samples.len() as u64);
            let buckets = |h: &nexus_bench::result::Hist| -> Vec<(u64, u64)> {
                h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect()
            };
            prop_assert_eq!(buckets(&got), buckets(&all));
            prop_assert_eq!(&got, &all);
            for q in [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0] {
                prop_assert_eq!(got.value_at_quantile(q), all.value_at_quantile(q));
            }
            prop_assert_eq!(&e.latency_ms, &Summary::of(&all));
            prop_assert_eq!(&e.service_time_ms, &Summary::of(&all));
        }
        prop_assert_eq!(merged.totals.requests, samples.len() as u64);
    }
}

#[test]
fn a_complete_set_passes_the_check() {
    let results = set("r", 3);
    let s = check_set(&results, false).unwrap();
    assert_eq!((s.run_id.as_deref(), s.instances), (Some("r"), 3));
    assert!(!s.partial());
    let m = result::merge(&results).unwrap();
    let order: Vec<u32> = m.instances.iter().map(|i| i.instance).collect();
    assert_eq!(order, vec![0, 1, 2]);
    assert_eq!(m.merge.as_ref().unwrap().inputs.len(), 3);
    assert_eq!(m.run_id.as_deref(), Some("r"));
}

#[test]
fn a_missing_instance_is_refused_unless_partial_is_allowed() {
    let mut results = set("r", 4);
    results.remove(2);
    results.swap(0, 2);
    let err = check_set(&results, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "run r has 4 instances but instance(s) 2 of 0..4 missing: merge every instance, or pass --allow-partial to merge what exists (the verdict is then fail)"
    );
    let s = check_set(&results, true).unwrap();
    assert_eq!(s.missing, vec![2]);

    let mut m = result::merge(&results).unwrap();
    m.merge.as_mut().unwrap().missing = s.missing;
    let p = merged::problems(&m);
    assert_eq!(
        p.failing,
        vec![
            "partial merge: instance(s) 2 of 4 missing (merged with --allow-partial); the load asked for was not all sent"
        ]
    );
    m.verdict = Verdict::Pass;
    assert_eq!(merged::verdict(&m, &p), Verdict::Fail);
}

#[test]
fn an_interrupted_instance_counts_as_incomplete() {
    let mut results = set("r", 2);
    results[1].status = RunStatus::Interrupted;
    let err = check_set(&results, false).unwrap_err().to_string();
    assert!(err.contains("instance(s) 1 did not complete"), "{err}");
    assert!(check_set(&results, true).unwrap().partial());
    let m = result::merge(&results).unwrap();
    let p = merged::problems(&m);
    assert!(
        p.failing[0].starts_with("instance 1 (gen-1) did not complete"),
        "{p:?}"
    );
}

#[test]
fn duplicates_mismatches_and_strangers_are_refused_by_name() {
    let mut dup = set("r", 3);
    dup[2] = share("r", 1, 3);
    assert_eq!(
        check_set(&dup, true).unwrap_err(),
        SetError::Duplicate {
            run_id: "r".into(),
            instance: 1,
            times: 2,
            hosts: "gen-1, gen-1".into()
        }
    );

    let mut runs = set("r", 2);
    runs[1].run_id = Some("other".into());
    let err = check_set(&runs, true).unwrap_err().to_string();
    assert!(err.contains("different runs: other ×1, r ×1"), "{err}");

    let mut counts = set("r", 2);
    counts[1].instances[0].instances = 3;
    let err = check_set(&counts, true).unwrap_err().to_string();
    assert!(err.contains("1 say 2, 1 say 3"), "{err}");

    let mut range = set("r", 2);
    range[1].instances[0].instance = 5;
    assert_eq!(
        check_set(&range, true).unwrap_err(),
        SetError::OutOfRange {
            instance: 5,
            instances: 2
        }
    );

    let mut mixed = set("r", 2);
    mixed.push(sample());
    let err = check_set(&mixed, true).unwrap_err().to_string();
    assert!(
        err.contains("2 of the results come from `run --instance` and 1 do not (e.g. runner-1)"),
        "{err}"
    );
}

#[test]
fn instances_that_did_not_run_at_the_same_time_are_refused() {
    let mut results = set("r", 2);
    // Instance 1 begins measuring a second after instance 0 stopped.
    let later = results[0].measured_ms as i64 + 1_000;
    results[1].start_unix_ms += later;
    let err = check_set(&results, false).unwrap_err().to_string();
    assert!(
        err.starts_with("the measured periods do not overlap (instance 0 ended its measurement at"),
        "{err}"
    );
    // Overlapping by a second is enough.
    results[1].start_unix_ms -= 2_000;
    check_set(&results, false).unwrap();
}

#[test]
fn plain_runs_merge_as_before() {
    // Files before version 4, and plain runs (instance 0 of 1): no set rules.
    let mut one = sample();
    one.instances = vec![InstanceInfo {
        instance: 0,
        instances: 1,
        start_at: None,
        hostname: "a".into(),
    }];
    let results = vec![sample(), one.clone(), one];
    assert_eq!(check_set(&results, false).unwrap(), Default::default());
    let m = result::merge(&results).unwrap();
    assert!(m.instances.is_empty());
    assert!(m.merge.unwrap().inputs.iter().all(|i| i.instance.is_none()));
}

#[test]
fn a_saturated_instance_makes_the_merge_unjudgeable_by_name() {
    let observed = |i: u32, saturated: bool| {
        let mut r = share("r", i, 2);
        r.generator = Some(nexus_bench::result::GeneratorHealth {
            cpu_mean_percent: 97.0,
            cpu_max_percent: 100.0,
            cpus: 2,
            schedule_lag_ms: None,
            saturated,
            samples: Vec::new(),
            generator_errors: 0,
            machine: None,
            rss_trend: None,
        });
        r
    };
    let m = result::merge(&[observed(0, false), observed(1, true)]).unwrap();
    let p = merged::problems(&m);
    assert!(p.failing.is_empty());
    assert_eq!(p.unjudgeable.len(), 1);
    assert!(
        p.unjudgeable[0].starts_with("instance 1 (gen-1): the generator was saturated"),
        "{p:?}"
    );
    assert_eq!(merged::verdict(&m, &p), Verdict::Unjudgeable);
    // The merged result holds each generator, not the first one's as the whole run's.
    assert!(m.generator.is_none());
    let gens: Vec<bool> = m
        .merge
        .unwrap()
        .inputs
        .iter()
        .map(|i| i.generator.as_ref().unwrap().saturated)
        .collect();
    assert_eq!(gens, vec![false, true]);
}

#[test]
fn per_machine_slos_hold_only_when_they_hold_on_every_machine() {
    use nexus_bench::analysis::slo;
    let with_rss = |i: u32, rss: u64| {
        let mut r = share("r", i, 2);
        r.target_process = Some(nexus_bench::result::TargetProcess {
            command: vec!["svc".into()],
            startup_ms: 10.0 * f64::from(i + 1),
            rss_max_bytes: rss,
            cpu_mean_percent: 10.0,
            exe_size_bytes: None,
            exit: None,
            samples: Vec::new(),
        });
        r
    };
    let slos = vec![
        nexus_bench::scenario::parse_slo("target.rss.max", "< 50MB").unwrap(),
        nexus_bench::scenario::parse_slo("target.startup", "< 1s").unwrap(),
    ];
    let judge = |inputs: Vec<RunResult>| {
        let mut m = result::merge(&inputs).unwrap();
        slo::apply(&mut m, &slos);
        // Not added up: without a per-machine judgement nothing would be observed.
        assert_eq!(m.slos[0].observed, None);
        merged::judge_per_machine(&mut m, &inputs, &slos);
        m
    };
    let m = judge(vec![with_rss(0, 10_000_000), with_rss(1, 30_000_000)]);
    assert_eq!(m.slos[0].observed, Some(30_000_000.0));
    assert_eq!(m.slos[1].observed, Some(20.0));
    assert!(m.slos.iter().all(|s| s.pass));
    assert_eq!(m.verdict, Verdict::Pass);
    let m = judge(vec![with_rss(0, 60_000_000), with_rss(1, 30_000_000)]);
    assert_eq!(m.slos[0].observed, Some(60_000_000.0));
    assert!(!m.slos[0].pass && m.slos[1].pass);
    assert_eq!(m.verdict, Verdict::Fail);
}

#[test]
fn the_instances_table_escapes_host_names() {
    use nexus_bench::output::{ReportInput, html, markdown};
    let hostile = "<script>alert(1)</script>|**x**";
    let mut a = share("r", 0, 3);
    a.instances[0].hostname = hostile.into();
    let mut m = result::merge(&[a, share("r", 2, 3)]).unwrap();
    m.merge.as_mut().unwrap().missing = vec![1];
    let input = ReportInput {
        result: &m,
        sections: &[],
    };
    let page = html::render(&input).unwrap();
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;|**x**</td>"));
    assert!(page.contains("<tr class=\"fail\"><td>1</td><td>–</td><td>missing</td>"));
    let md = markdown::render(&input);
    assert!(
        !md.contains("<script>alert") && !md.contains("|**x**"),
        "{md}"
    );
    assert!(md.contains("| 1 | – | **missing** |"), "{md}");
}
