//! The integration tests: one test binary with a module per area (ripgrep's layout), so the
//! crate is linked once for all of them instead of once per area.
//!
//! Tests of different areas share one process, so process-wide state is guarded where it
//! matters ([`shared`]: one pprof profiler per process). The end-to-end CLI tests stay a
//! binary of their own (`tests/cli.rs`): several of them judge latency SLOs of real runs and
//! must not share the two test threads with other areas' heavy tests.

mod shared;

mod compare;
mod engine;
mod launch;
mod long_run;
mod merge;
mod merge_logs;
mod observe;
mod outputs;
mod profiler;
mod protocols;
mod reference;
mod results;
mod scenarios;
mod split;
/// Proves the shared TLS test support below before other areas rely on it.
#[path = "tls_support.rs"]
mod tls;
mod units;
mod unsent;

/// Shared TLS test support (`tests/support/tls/`): an rcgen PKI, a rustls client, Debian's
/// nginx with HTTPS, hostile TLS peers. Loaded once here; the areas use `crate::tls_support`.
#[path = "support/tls/mod.rs"]
mod tls_support;

/// With `autotests = false` in Cargo.toml, a new `tests/*.rs` file is not built at all unless
/// it is declared here (or is a `[[test]]` of its own, like `cli`): fail instead of skipping.
#[test]
fn every_test_file_is_built() {
    let declared = include_str!("tests.rs");
    for entry in std::fs::read_dir("tests").expect("tests/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "tests" || name == "cli" {
            continue;
        }
        assert!(
            declared.contains(&format!("mod {name};"))
                || declared.contains(&format!("\"{name}.rs\"")),
            "tests/{name}.rs is never built: declare it as `mod {name};` in tests/tests.rs"
        );
    }
}
