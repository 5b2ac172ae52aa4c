//! HTTPS end to end through the real binary: `nexus-bench run` against `nexus-bench serve
//! --tls` (HTTP/1.1 and HTTP/2 by ALPN, phases and protocols recorded, wrong CA, `--insecure`,
//! mTLS), hostile TLS peers (silent, garbage, expired, wrong name) and every shipped scenario
//! over HTTPS with its SLO verdict.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Served, load_lock, result_json, run, run_dir};
use crate::tls_support::peers::Peer;
use crate::tls_support::pki::Pki;

/// Writes a scenario for `url` (a closed model of `users` for `secs`), with `target` lines
/// (TOML inside `[target]`, before `[target.tls]`) and `tls` lines, asking for error rate
/// under 1 %.
pub(crate) fn scenario(
    dir: &Path,
    url: &str,
    users: u32,
    secs: u32,
    target: &str,
    tls: &str,
) -> String {
    let text = format!(
        "name = \"tls\"\n\n[target]\nbase_url = \"{url}\"\nconnect_timeout = \"1s\"\n{target}\n\
         [target.tls]\n{tls}\n\n[load]\nmodel = \"closed\"\nusers = {users}\nduration = \"{secs}s\"\n\n\
         [[requests]]\nname = \"health\"\npath = \"/healthz\"\ntimeout = \"2s\"\n\n\
         [slo]\n\"error_rate\" = \"< 1%\"\n"
    );
    let path = dir.join("tls.toml");
    std::fs::write(&path, text).expect("write the scenario");
    path.to_string_lossy().into_owned()
}

/// Runs the scenario; returns (exit code, result.json, stderr, the run folder).
pub(crate) fn run_it(
    dir: &Path,
    scenario: &str,
    extra: &[&str],
) -> (i32, Value, String, std::path::PathBuf) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = dir.join(format!("out-{n}"));
    let mut args = vec!["run", scenario, "--out", out.to_str().expect("UTF-8")];
    args.extend_from_slice(extra);
    let done = run(&args, Duration::from_secs(40));
    let run = run_dir(&out, "tls");
    let result = result_json(&run);
    (done.code(), result, done.stderr, run)
}

pub(crate) fn endpoint(result: &Value) -> &Value {
    &result["endpoints"][0]
}

/// Every request failed with `kind`, and the error samples carry `reason`.
pub(crate) fn all_failed_with(result: &Value, kind: &str, reason: &str) {
    let e = endpoint(result);
    let requests = e["requests"].as_u64().expect("requests");
    assert!(requests > 0, "some attempts were made");
    assert_eq!(e["errors"].as_u64(), Some(requests), "every attempt failed");
    assert_eq!(
        e["error_kinds"][kind].as_u64(),
        Some(requests),
        "all {kind}: {}",
        e["error_kinds"]
    );
    let samples = result["error_samples"].as_array().expect("samples");
    assert!(
        samples
            .iter()
            .any(|s| s["kind"] == kind && s["message"].as_str().unwrap_or("").contains(reason)),
        "a {kind} sample says {reason:?}: {samples:?}"
    );
}

#[test]
fn https_over_http1_and_h2_by_alpn_records_handshakes_and_protocols() {
    let _serial = load_lock();
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    let served = Served::start(&["--tls", "--tls-cert-out", ca.to_str().expect("UTF-8")]);
    for (http2, h1, h2) in [("false", 4, 0), ("\"auto\"", 0, 4), ("true", 0, 4)] {
        let s = scenario(
            dir.path(),
            &served.url,
            4,
            2,
            &format!("http2 = {http2}"),
            "ca = \"ca.pem\"",
        );
        // Phases are SLO metrics, per request and overall.
        let mut text = std::fs::read_to_string(&s).expect("scenario");
        text.push_str("\"health.tls_handshake.p99\" = \"< 5s\"\n\"connect.p99\" = \"< 5s\"\n");
        std::fs::write(&s, text).expect("scenario");
        let (code, result, stderr, run) = run_it(dir.path(), &s, &["--threads", "2"]);
        assert_eq!(code, 0, "http2 = {http2}: {stderr}");
        // Every output shows the phases.
        assert!(stderr.contains("TLS handshake p50"), "{stderr}");
        let read = |f: &str| std::fs::read_to_string(run.join(f)).expect(f);
        assert!(read("summary.md").contains("### Connections"));
        assert!(read("report.html").contains("id=\"connection-table\""));
        let csv = read("requests.csv");
        assert!(
            csv.lines()
                .next()
                .is_some_and(|h| h.ends_with("tls_handshake_p99_ms"))
        );
        let row = csv.lines().nth(1).expect("the request's row");
        let conns = if h1 > 0 {
            format!(",{h1},0,")
        } else {
            format!(",0,{h2},")
        };
        assert!(row.contains(&conns), "{row}");
        let slos = result["slos"].as_array().expect("slos");
        for key in ["health.tls_handshake.p99", "connect.p99"] {
            let slo = slos.iter().find(|x| x["key"] == key).expect(key);
            assert_eq!(slo["pass"], true, "{slo}");
            assert!(slo["observed"].as_f64().is_some_and(|v| v > 0.0), "{slo}");
        }
        assert_eq!(
            result["schema_version"],
            nexus_bench::result::SCHEMA_VERSION
        );
        let e = endpoint(&result);
        let requests = e["requests"].as_u64().expect("requests");
        assert!(requests > 100, "http2 = {http2}: {requests} requests");
        assert_eq!(e["errors"], 0);
        assert_eq!(
            e["status"]["200"].as_u64(),
            Some(requests),
            "every answer a 200"
        );
        // Four users keep one connection each for the whole run.
        let c = &e["connections"];
        assert_eq!(
            (c["http1"].as_u64(), c["http2"].as_u64()),
            (Some(h1), Some(h2)),
            "{c}"
        );
        assert_eq!(
            c["tls_handshake_ms"]["count"], 4,
            "one handshake per connection"
        );
        assert_eq!(c["connect_ms"]["count"], 4);
        assert!(c["tls_handshake_ms"]["p50"].as_f64().unwrap_or(0.0) > 0.0);
    }
}

#[test]
fn a_wrong_ca_is_unknown_issuer_and_exit_1_and_insecure_passes_saying_so() {
    let _serial = load_lock();
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = Pki::new();
    let served = Served::start(&["--tls"]);
    std::fs::copy(&pki.ca.cert, dir.path().join("other-ca.pem")).expect("copy");
    let s = scenario(dir.path(), &served.url, 2, 1, "", "ca = \"other-ca.pem\"");
    let (code, result, _, _) = run_it(dir.path(), &s, &[]);
    assert_eq!(code, 1, "the error-rate SLO fails");
    all_failed_with(&result, "tls_handshake", "unknown issuer");

    let (code, result, stderr, run) = run_it(dir.path(), &s, &["--insecure"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(endpoint(&result)["errors"], 0);
    let warned = |text: &str| text.contains("TLS certificate verification was OFF");
    assert!(warned(&stderr), "terminal says so: {stderr}");
    assert!(
        result["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| warned(w.as_str().unwrap_or("")))),
        "result.json says so"
    );
    let read = |f: &str| std::fs::read_to_string(run.join(f)).expect(f);
    for file in ["summary.md", "report.html", "junit.xml"] {
        assert!(warned(&read(file)), "{file} says verification was off");
    }
}

#[test]
fn mtls_passes_with_the_client_certificate_and_fails_cleanly_without() {
    let _serial = load_lock();
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = Pki::new();
    let p = |f: &Path| f.to_str().expect("UTF-8").to_string();
    let served = Served::start(&[
        "--tls-cert",
        &p(&pki.server.cert),
        "--tls-key",
        &p(&pki.server.key),
        "--tls-client-ca",
        &p(&pki.ca.cert),
    ]);
    let with = format!(
        "ca = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"",
        p(&pki.ca.cert),
        p(&pki.client.cert),
        p(&pki.client.key)
    );
    let s = scenario(dir.path(), &served.url, 2, 1, "", &with);
    let (code, result, stderr, _) = run_it(dir.path(), &s, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(endpoint(&result)["errors"], 0);

    let s = scenario(
        dir.path(),
        &served.url,
        2,
        1,
        "",
        &format!("ca = \"{}\"", p(&pki.ca.cert)),
    );
    let (code, result, _, _) = run_it(dir.path(), &s, &[]);
    assert_eq!(code, 1);
    all_failed_with(&result, "tls_handshake", "certificate");
}

#[test]
fn hostile_tls_peers_are_counted_by_kind_and_the_run_ends_on_time() {
    let _serial = load_lock();
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = Pki::new();
    std::fs::copy(&pki.ca.cert, dir.path().join("ca.pem")).expect("copy");
    let silent = Peer::silent();
    let garbage = Peer::garbage();
    let expired = Peer::tls(&pki.expired);
    let wrong = Peer::tls(&pki.wrong_name);
    let cases = [
        (&silent, "connect_timeout", "no TLS handshake"),
        (&garbage, "tls_handshake", "invalid TLS message"),
        (&expired, "tls_handshake", "certificate expired"),
        (&wrong, "tls_handshake", "name mismatch"),
    ];
    for (peer, kind, reason) in cases {
        let url = peer.url();
        let s = scenario(dir.path(), &url, 3, 2, "", "ca = \"ca.pem\"");
        let started = Instant::now();
        let (code, result, stderr, _) = run_it(dir.path(), &s, &[]);
        let took = started.elapsed();
        assert_eq!(code, 1, "{url}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        all_failed_with(&result, kind, reason);
        assert_eq!(result["status"], "completed");
        // Exact: every connection the peer accepted is one failed request, nothing more
        // (the readiness check opens one TCP connection before the run).
        let requests = endpoint(&result)["requests"].as_u64().expect("requests");
        assert_eq!(peer.accepted() as u64, requests + 1, "{url}");
        assert_eq!(
            peer.handshakes(),
            0,
            "the client never completed a handshake"
        );
        // 2 s of load, a 1 s connect timeout to drain, and process start-up.
        assert!(
            took < Duration::from_secs(10),
            "{url}: the run took {took:?}"
        );
    }
}

/// A shipped scenario over HTTPS (the embedded target with `--tls`), shortened with
/// `extra` as tests/cli/shipped.rs shortens it: the same verdict as over plain HTTP (pass),
/// every connection a TLS one. Returns result.json.
fn passes_over_https(name: &str, extra: &[&str]) -> Value {
    let _serial = load_lock();
    let out = tempfile::tempdir().expect("temp dir");
    let scenario = crate::support::repo(&format!("scenarios/{name}.toml"));
    let mut args = vec![
        "run",
        scenario.to_str().expect("UTF-8"),
        "--out",
        out.path().to_str().expect("UTF-8"),
        "--set",
        "target.embedded_args=[\"--tls\"]",
        "--no-html",
    ];
    args.extend_from_slice(extra);
    let done = run(&args, Duration::from_secs(60));
    let result = result_json(&run_dir(out.path(), name));
    if done.code() == 1 && crate::support::failed_only_on_timing_of_a_busy_machine(&result) {
        eprintln!("{name}: timing SLOs failed on a machine nexus-bench found busy; not held");
    } else {
        assert_eq!(done.code(), 0, "{name} over https: {}", done.stderr);
        assert_eq!(result["verdict"], "pass", "{name}");
    }
    let mut handshakes = 0;
    for e in result["endpoints"].as_array().expect("endpoints") {
        if let Some(c) = e.get("connections") {
            assert_eq!(
                c["tls_handshake_ms"]["count"], c["connect_ms"]["count"],
                "{name}/{}: every connection is TLS",
                e["name"]
            );
            handshakes += c["tls_handshake_ms"]["count"].as_u64().unwrap_or(0);
        }
    }
    assert!(handshakes > 0, "{name}: TLS connections were made");
    result
}

#[test]
fn smoke_passes_over_https() {
    passes_over_https("smoke", &["--duration", "2s"]);
}

#[test]
fn mesh_passes_over_https() {
    // The same short run as over plain HTTP (measured 5.5k-9.3k/s over TLS with a compile
    // beside the run, 20.8k/s idle).
    passes_over_https("mesh", crate::shipped::MESH_SHORT);
}

#[test]
fn cache_passes_over_https() {
    // The same short run, with the same limits, as over plain HTTP.
    passes_over_https("cache", crate::shipped::CACHE_SHORT);
}

/// 1,000 status streams held over wss for the whole run without a disconnect, with the
/// warm-up of the plain-HTTP test. Measured 2026-11-29: a release binary passes; with a debug
/// binary the embedded TLS server (debug build) misses the p95 latency SLOs, while the debug
/// client against a release `serve --tls` passes: the cost is the debug server's.
#[test]
fn supervisor_passes_over_https_holding_a_thousand_wss_streams() {
    // The 1,000 wss streams open their TLS connections at the start: a 2 s warm-up keeps
    // those handshakes (server side, in the debug-built reference target) out of the
    // measured API latencies, which the shipped p95 limits judge.
    let result = passes_over_https(
        "supervisor",
        &["--duration", "3s", "--set", "load.warmup=2s"],
    );
    let stream = result["endpoints"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["name"] == "status-stream"))
        .expect("status-stream");
    assert_eq!(stream["errors"], 0, "no wss disconnects");
    assert!(
        stream["requests"].as_u64() >= Some(3_000),
        "{}",
        stream["requests"]
    );
    assert_eq!(
        stream["connections"]["tls_handshake_ms"]["count"], 1_000,
        "1,000 wss streams: {}",
        stream["connections"]
    );
}
