//! `write_all` and the `report` command write every file; one failing output loses nothing.

use std::process::Command;

use nexus_bench::output::{OutputOptions, ReportInput, write_all};

use super::fixture;

#[test]
fn write_all_writes_each_file_and_isolates_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = fixture::sample();
    let input = ReportInput {
        result: &r,
        sections: &[],
    };
    let written = write_all(&input, tmp.path(), &OutputOptions::default());
    let names: Vec<String> = written
        .iter()
        .map(|(p, res)| {
            assert!(res.is_ok(), "{}: {res:?}", p.display());
            assert!(std::fs::metadata(p).unwrap().len() > 100);
            p.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "report.html",
            "summary.md",
            "junit.xml",
            "requests.csv",
            "timeseries.csv",
            "latency.hlog"
        ]
    );

    // A corrupt histogram breaks the HTML report and the log, not the rest.
    r.overall.histograms.latency_us.0 = "not base64!".into();
    r.timeseries[3].endpoints[0].latency_us.0 = "AAAA".into();
    let out = tmp.path().join("broken");
    let input = ReportInput {
        result: &r,
        sections: &[],
    };
    let written = write_all(
        &input,
        &out,
        &OutputOptions {
            html: true,
            extra: true,
        },
    );
    let failed: Vec<String> = written
        .iter()
        .filter(|(_, res)| res.is_err())
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(failed, ["report.html", "latency.hlog"]);
    assert!(out.join("summary.md").exists() && out.join("requests.csv").exists());
    assert!(!out.join("report.html").exists());
}

#[test]
fn report_command_writes_next_to_the_result() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::copy(
        fixture::fixture_path("sample.json"),
        run.join("result.json"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nexus-bench"))
        .args(["report", "--no-html"])
        .arg(&run)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    // People's text goes to stderr; `report` has no data for stdout.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("search.latency.p99"), "{stderr}");
    assert!(stderr.contains(&format!("wrote {}", run.join("summary.md").display())));
    assert!(run.join("junit.xml").exists() && run.join("latency.hlog").exists());
    assert!(!run.join("report.html").exists());

    let missing = Command::new(env!("CARGO_BIN_EXE_nexus-bench"))
        .args(["report", "/nonexistent/result.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/result.json"));
}
