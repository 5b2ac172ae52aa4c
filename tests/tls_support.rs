//! Proves the shared TLS test support (`tests/support/tls/`) before other tests rely on it:
//! the PKI's certificates verify (or fail) for the reasons they stand for, as seen by a real
//! rustls client; the hostile peers misbehave as documented and stop; Debian's nginx starts
//! as this user, serves HTTPS/1.1 and HTTPS/2 by ALPN, enforces mTLS, and is gone after drop.
//! Needs nginx (ci/test.sh installs it); without it the nginx tests fail, they never skip.

#[path = "support/tls/mod.rs"]
mod tls_support;

use std::time::{Duration, Instant};

use rustls::CertificateError;
use tls_support::client::{
    self, H1_ONLY, H2_AND_H1, get, handshake, handshake_within, rustls_error,
};
use tls_support::nginx::{self, Nginx, NginxOptions};
use tls_support::peers::Peer;
use tls_support::pki::Pki;

fn certificate_error(err: &std::io::Error) -> &CertificateError {
    match rustls_error(err) {
        Some(rustls::Error::InvalidCertificate(reason)) => reason,
        other => panic!("expected a certificate error, got {other:?} ({err})"),
    }
}

#[tokio::test]
async fn a_valid_certificate_from_the_ca_is_accepted_for_ip_and_localhost() {
    let pki = Pki::new();
    let peer = Peer::tls(&pki.server);
    for name in ["127.0.0.1", "localhost"] {
        let config = client::config(&pki.ca.cert, H2_AND_H1, None);
        let stream = handshake(peer.addr, name, config).await.expect(name);
        let reply = get(stream, name, "/anything", 1).await;
        assert_eq!((reply.version, reply.status), (http::Version::HTTP_2, 200));
        assert_eq!(reply.text(), "ok");
    }
    assert_eq!((peer.accepted(), peer.handshakes()), (2, 2));
}

#[tokio::test]
async fn expired_wrong_name_and_unknown_issuer_fail_for_those_reasons() {
    let pki = Pki::new();
    let config = || client::config(&pki.ca.cert, H2_AND_H1, None);

    let expired = Peer::tls(&pki.expired);
    let err = handshake(expired.addr, "127.0.0.1", config())
        .await
        .unwrap_err();
    assert!(
        matches!(
            certificate_error(&err),
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        ),
        "{err:?}"
    );

    let wrong = Peer::tls(&pki.wrong_name);
    let err = handshake(wrong.addr, "127.0.0.1", config())
        .await
        .unwrap_err();
    assert!(
        matches!(
            certificate_error(&err),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ),
        "{err:?}"
    );
    // The same certificate is fine for the name it carries.
    handshake(wrong.addr, tls_support::pki::WRONG_NAME, config())
        .await
        .expect("valid for its own name");

    let stranger = Peer::tls(&pki.self_signed);
    let err = handshake(stranger.addr, "127.0.0.1", config())
        .await
        .unwrap_err();
    assert!(
        matches!(certificate_error(&err), CertificateError::UnknownIssuer),
        "{err:?}"
    );
    // Trusting that certificate itself makes it acceptable: the failure was the issuer.
    let own = client::config(&pki.self_signed.cert, H2_AND_H1, None);
    handshake(stranger.addr, "localhost", own)
        .await
        .expect("trusted directly");

    // The server side of a TLS 1.3 handshake ends a moment after the client's.
    let deadline = Instant::now() + client::STEP;
    while (wrong.handshakes(), stranger.handshakes()) != (1, 1) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        (
            expired.handshakes(),
            wrong.handshakes(),
            stranger.handshakes()
        ),
        (0, 1, 1)
    );
}

#[tokio::test]
async fn the_silent_peer_accepts_and_never_answers() {
    let peer = Peer::silent();
    let config = client::config(&Pki::new().ca.cert, H2_AND_H1, None);
    let started = Instant::now();
    let err = handshake_within(peer.addr, "127.0.0.1", config, Duration::from_millis(500))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert_eq!(peer.accepted(), 1);
    let addr = peer.addr;
    drop(peer);
    // Stopped: nothing listens there any more.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn the_garbage_peer_gives_a_protocol_error() {
    let peer = Peer::garbage();
    let config = client::config(&Pki::new().ca.cert, H2_AND_H1, None);
    let err = handshake(peer.addr, "127.0.0.1", config).await.unwrap_err();
    assert!(
        matches!(rustls_error(&err), Some(rustls::Error::InvalidMessage(_))),
        "{err:?}"
    );
    assert_eq!(peer.accepted(), 1);
}

#[tokio::test]
async fn nginx_serves_https_1_1_and_2_by_alpn() {
    let pki = Pki::new();
    let server = Nginx::start(&pki.server.cert, &pki.server.key, NginxOptions::default());
    assert!(server.url().starts_with("https://127.0.0.1:"));
    for (offer, version) in [
        (H2_AND_H1, http::Version::HTTP_2),
        (H1_ONLY, http::Version::HTTP_11),
    ] {
        let config = client::config(&pki.ca.cert, offer, None);
        let stream = handshake(server.addr, "localhost", config).await.unwrap();
        // Many requests on one connection: keep-alive is not cut short.
        let reply = get(stream, "localhost", "/ok", 200).await;
        assert_eq!(
            (reply.version, reply.status),
            (version, 200),
            "{}",
            server.error_log()
        );
        assert_eq!(reply.text(), "ok");
    }
    let config = client::config(&pki.ca.cert, H2_AND_H1, None);
    let stream = handshake(server.addr, "127.0.0.1", config).await.unwrap();
    assert_eq!(get(stream, "127.0.0.1", "/missing", 1).await.status, 404);
    // A wrong CA is refused by the client, against nginx as against any server.
    let wrong_ca = client::config(&pki.self_signed.cert, H2_AND_H1, None);
    let err = handshake(server.addr, "localhost", wrong_ca)
        .await
        .unwrap_err();
    assert!(matches!(
        certificate_error(&err),
        CertificateError::UnknownIssuer
    ));
}

#[tokio::test]
async fn nginx_with_mtls_answers_400_without_a_valid_client_certificate() {
    let pki = Pki::new();
    let server = Nginx::start(
        &pki.server.cert,
        &pki.server.key,
        NginxOptions {
            client_ca: Some(pki.ca.cert.clone()),
            ..NginxOptions::default()
        },
    );
    let with = |identity: Option<&tls_support::pki::CertFiles>| {
        client::config(
            &pki.ca.cert,
            H1_ONLY,
            identity.map(|id| (id.cert.as_path(), id.key.as_path())),
        )
    };
    let stream = handshake(server.addr, "localhost", with(Some(&pki.client)))
        .await
        .unwrap();
    assert_eq!(get(stream, "localhost", "/ok", 1).await.status, 200);
    for identity in [None, Some(&pki.stranger_client)] {
        // nginx completes the handshake without a certificate and then answers 400; a
        // certificate from another CA may be refused in the handshake or answered 400.
        match handshake(server.addr, "localhost", with(identity)).await {
            Ok(stream) => {
                assert_eq!(get(stream, "localhost", "/ok", 1).await.status, 400);
            }
            Err(err) => assert!(rustls_error(&err).is_some(), "{err}"),
        }
    }
}

#[test]
fn nginx_stops_on_drop_with_its_workers() {
    let pki = Pki::new();
    let server = Nginx::start(
        &pki.server.cert,
        &pki.server.key,
        NginxOptions {
            workers: 2,
            ..NginxOptions::default()
        },
    );
    let (addr, pid) = (server.addr, server.pid());
    let group_alive = || {
        // SAFETY: signal 0 only checks that the group exists.
        unsafe { libc::kill(-(pid as libc::pid_t), 0) == 0 }
    };
    assert!(group_alive());
    drop(server);
    assert!(!group_alive(), "no process of nginx's group is left");
    assert!(std::net::TcpStream::connect(addr).is_err());
    assert!(nginx::version() >= (1, 18, 0));
}
