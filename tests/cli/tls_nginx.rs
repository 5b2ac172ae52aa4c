//! HTTPS against a real nginx with `ssl` (Debian's nginx, a certificate from the test's own
//! CA, started by the test on a free loopback port): HTTP/1.1 and HTTP/2 by ALPN with exact
//! connection counts and the TLS handshake phase, a wrong CA (unknown issuer, exit 1), and
//! `--insecure` passing.

use crate::support::load_lock;
use crate::tls::{all_failed_with, endpoint, run_it, scenario};
use crate::tls_support::nginx::{Nginx, NginxOptions};
use crate::tls_support::pki::Pki;

fn ok_path(s: &str) {
    let text = std::fs::read_to_string(s).expect("scenario");
    std::fs::write(s, text.replace("path = \"/healthz\"", "path = \"/ok\"")).expect("scenario");
}

#[test]
fn nginx_https_over_http1_and_h2_counts_connections_and_handshakes() {
    let _serial = load_lock();
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = Pki::new();
    std::fs::copy(&pki.ca.cert, dir.path().join("ca.pem")).expect("copy");
    let nginx = Nginx::start(&pki.server.cert, &pki.server.key, NginxOptions::default());
    for (http2, h1, h2) in [("false", 3, 0), ("true", 0, 3)] {
        let s = scenario(
            dir.path(),
            &nginx.url(),
            3,
            2,
            &format!("http2 = {http2}"),
            "ca = \"ca.pem\"",
        );
        ok_path(&s);
        let (code, result, stderr, _) = run_it(dir.path(), &s, &[]);
        assert_eq!(code, 0, "http2 = {http2}: {stderr}\n{}", nginx.error_log());
        let e = endpoint(&result);
        let requests = e["requests"].as_u64().expect("requests");
        assert!(requests > 100, "{requests}");
        assert_eq!(e["errors"], 0);
        assert_eq!(e["status"]["200"].as_u64(), Some(requests));
        let c = &e["connections"];
        assert_eq!(
            (c["http1"].as_u64(), c["http2"].as_u64()),
            (Some(h1), Some(h2)),
            "three users, one connection each: {c}"
        );
        assert_eq!(c["tls_handshake_ms"]["count"], 3, "{c}");
        assert!(
            c["tls_handshake_ms"]["p50"]
                .as_f64()
                .is_some_and(|v| v > 0.0)
        );
    }
}

#[test]
fn nginx_with_a_wrong_ca_is_unknown_issuer_and_insecure_passes() {
    let _serial = load_lock();
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = Pki::new();
    // The server certificate is self-signed: the CA the scenario trusts did not sign it.
    std::fs::copy(&pki.ca.cert, dir.path().join("ca.pem")).expect("copy");
    let nginx = Nginx::start(
        &pki.self_signed.cert,
        &pki.self_signed.key,
        NginxOptions::default(),
    );
    let s = scenario(dir.path(), &nginx.url(), 2, 1, "", "ca = \"ca.pem\"");
    ok_path(&s);
    let (code, result, stderr, _) = run_it(dir.path(), &s, &[]);
    assert_eq!(code, 1, "{stderr}");
    all_failed_with(&result, "tls_handshake", "unknown issuer");
    let (code, result, stderr, _) = run_it(dir.path(), &s, &["--insecure"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(endpoint(&result)["errors"], 0);
    assert!(endpoint(&result)["requests"].as_u64() > Some(10));
}
