//! The result file as a contract: real runs through the CLI validate against the committed
//! JSON Schema, and results of two generators running at once merge exactly.

use std::path::{Path, PathBuf};
use std::process::Command;

use nexus_bench::result::{self, RunResult};

const BIN: &str = env!("CARGO_BIN_EXE_nexus-bench");

fn run_scenario(out: &Path) -> std::process::Child {
    Command::new(BIN)
        .args([
            "run",
            "fixtures/scenarios/e2e/cache_short.toml",
            "--quiet",
            "--no-html",
            "--out",
        ])
        .arg(out)
        .spawn()
        .expect("nexus-bench runs")
}

fn result_in(out: &Path) -> PathBuf {
    let dir = out.join("cache-short");
    let run = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    run.join("result.json")
}

#[test]
fn committed_schema_matches_the_types() {
    let generated = serde_json::to_string_pretty(&RunResult::json_schema()).unwrap() + "\n";
    let path = Path::new("schema/result.schema.json");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).expect("schema/result.schema.json is committed");
    assert_eq!(
        committed, generated,
        "regenerate with UPDATE_SCHEMA=1 cargo test --test tests results::"
    );
}

#[test]
fn two_generators_at_once_merge_exactly_and_validate() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    // Two generators, each with its own embedded target, at the same time.
    let (mut pa, mut pb) = (run_scenario(&a), run_scenario(&b));
    assert!(pa.wait().unwrap().success());
    assert!(pb.wait().unwrap().success());
    let (ra, rb) = (
        result::load(&result_in(&a)).unwrap(),
        result::load(&result_in(&b)).unwrap(),
    );

    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("schema/result.schema.json").unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for r in [&ra, &rb] {
        let value = serde_json::to_value(r).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert!(r.totals.requests > 100);
        assert_eq!(r.slos.len(), 3);
    }

    let merged_dir = tmp.path().join("merged");
    let status = Command::new(BIN)
        .args(["merge", "-o"])
        .arg(&merged_dir)
        .arg(result_in(&a))
        .arg(result_in(&b))
        .status()
        .unwrap();
    assert!(status.success());
    let m = result::load(&merged_dir.join("result.json")).unwrap();
    assert!(merged_dir.join("report.html").exists());

    // Counts add.
    assert_eq!(m.totals.requests, ra.totals.requests + rb.totals.requests);
    for name in ["get", "set"] {
        let (ea, eb, em) = (
            ra.endpoint(name).unwrap(),
            rb.endpoint(name).unwrap(),
            m.endpoint(name).unwrap(),
        );
        assert_eq!(em.requests, ea.requests + eb.requests);
        // Histograms add losslessly: the merged one is exactly the sum.
        let mut sum = ea.histograms.latency_us.decode().unwrap();
        sum.add(eb.histograms.latency_us.decode().unwrap()).unwrap();
        assert_eq!(em.histograms.latency_us.decode().unwrap(), sum);
        assert_eq!(
            em.latency_ms.p99,
            nexus_bench::result::Summary::of(&sum).p99
        );
    }
    // Seconds align on wall-clock time.
    for s in &m.timeseries {
        let part = |r: &RunResult| {
            r.timeseries
                .iter()
                .find(|x| x.unix_s == s.unix_s)
                .map_or(0, |x| x.requests)
        };
        assert_eq!(s.requests, part(&ra) + part(&rb), "second {}", s.unix_s);
    }
    // SLOs are judged again on the merged numbers.
    assert_eq!(m.slos.len(), 3);
    let p99 = m.slos.iter().find(|s| s.key == "latency.p99").unwrap();
    let overall = m.overall.histograms.latency_us.decode().unwrap();
    assert_eq!(
        p99.observed,
        Some(overall.value_at_quantile(0.99) as f64 / 1000.0)
    );
    let throughput = m.slos.iter().find(|s| s.key == "throughput").unwrap();
    assert_eq!(throughput.observed, Some(m.overall.throughput_per_sec));
    assert!(m.overall.throughput_per_sec > ra.overall.throughput_per_sec);
    assert_eq!(m.hosts.len(), 2);
    // Per-machine sections are not presented as the merged run's.
    assert!(ra.target_process.is_some() && m.target_process.is_none() && m.generator.is_none());
}
