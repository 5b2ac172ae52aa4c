//! `serve --tls`: HTTPS/1.1 and HTTPS/2 chosen by ALPN, wss, the generated certificate written
//! by `--tls-cert-out` (verified for 127.0.0.1 and localhost), given certificate files, mTLS
//! with right, missing and foreign client certificates, and a silent client that must not hold
//! up anyone else. Real rustls clients over 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use nexus_bench::reference::{Identity, ServerTls, TlsOptions, serve_tls};
use rustls::{AlertDescription, CertificateError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{STEP, config};
use crate::tls_support::client::{
    self, H1_ONLY, H2_AND_H1, H2_ONLY, get, handshake, negotiated, raw_get, rustls_error,
};
use crate::tls_support::pki::Pki;

/// `serve_tls` in this process on 127.0.0.1:0; stops (gracefully, bounded) on [`Self::stop`].
struct TlsServer {
    addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TlsServer {
    async fn start(options: TlsOptions) -> TlsServer {
        let tls = ServerTls::new(&options).expect("TLS setup");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (shutdown, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve_tls(listener, config(), &tls, async move {
                let _ = rx.await;
            })
            .await
        });
        TlsServer {
            addr,
            shutdown,
            task,
        }
    }

    async fn stop(self) {
        let _ = self.shutdown.send(());
        tokio::time::timeout(STEP, self.task)
            .await
            .expect("graceful shutdown within the bound")
            .expect("server task")
            .expect("serve_tls returned Ok");
    }
}

fn files(pki: &Pki) -> TlsOptions {
    TlsOptions {
        identity: Identity::Files {
            cert: pki.server.cert.clone(),
            key: pki.server.key.clone(),
        },
        client_ca: None,
    }
}

#[tokio::test]
async fn alpn_picks_h2_or_http11_and_the_server_speaks_it() {
    let pki = Pki::new();
    let server = TlsServer::start(files(&pki)).await;
    let authority = server.addr.to_string();
    for (offer, alpn, version) in [
        (H2_AND_H1, "h2", http::Version::HTTP_2),
        (H2_ONLY, "h2", http::Version::HTTP_2),
        (H1_ONLY, "http/1.1", http::Version::HTTP_11),
        (&[][..], "", http::Version::HTTP_11),
    ] {
        let config = client::config(&pki.ca.cert, offer, None);
        let stream = handshake(server.addr, "127.0.0.1", config)
            .await
            .expect("handshake");
        assert_eq!(negotiated(&stream), alpn, "offered {offer:?}");
        // Several requests on one connection: keep-alive (h1) or streams (h2) over TLS.
        let reply = get(stream, &authority, "/healthz", 3).await;
        assert_eq!((reply.version, reply.status), (version, 200), "{offer:?}");
        assert_eq!(reply.text(), "ok");
    }
    let config = client::config(&pki.ca.cert, H2_AND_H1, None);
    let stream = handshake(server.addr, "localhost", config).await.unwrap();
    let reply = get(stream, &authority, "/api/v1/cache/stats", 1).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    server.stop().await;
}

#[tokio::test]
async fn wss_round_trip() {
    let pki = Pki::new();
    let server = TlsServer::start(files(&pki)).await;
    let config = client::config(&pki.ca.cert, H1_ONLY, None);
    let stream = handshake(server.addr, "localhost", config).await.unwrap();
    let url = format!("wss://localhost:{}/api/mesh/ws", server.addr.port());
    let (mut ws, response) =
        tokio::time::timeout(STEP, tokio_tungstenite::client_async(url, stream))
            .await
            .expect("upgrade in time")
            .expect("WebSocket upgrade over TLS");
    assert_eq!(response.status(), 101);
    for i in 0..3 {
        let text = format!("over tls {i}");
        ws.send(Message::text(text.clone())).await.unwrap();
        let echo = tokio::time::timeout(STEP, ws.next())
            .await
            .expect("echo in time")
            .expect("socket open")
            .expect("valid frame");
        assert_eq!(echo, Message::text(text));
    }
    ws.close(None).await.ok();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_wss_connections_are_held_and_echo() {
    const CLIENTS: usize = 1000;
    crate::ws::raise_fd_limit(8192);
    let pki = Pki::new();
    let server = TlsServer::start(files(&pki)).await;
    let config = client::config(&pki.ca.cert, H1_ONLY, None);
    let url = format!("wss://localhost:{}/api/mesh/ws", server.addr.port());
    let mut sockets = Vec::with_capacity(CLIENTS);
    // In waves, so the listen backlog never overflows.
    for _ in 0..CLIENTS / 100 {
        let mut connecting = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let (config, url, addr) = (config.clone(), url.clone(), server.addr);
            connecting.spawn(async move {
                let stream = handshake(addr, "localhost", config).await?;
                tokio::time::timeout(STEP, tokio_tungstenite::client_async(url, stream))
                    .await
                    .map_err(|_| std::io::Error::other("upgrade timed out"))?
                    .map_err(std::io::Error::other)
            });
        }
        while let Some(done) = connecting.join_next().await {
            sockets.push(done.unwrap().expect("wss connection").0);
        }
    }
    // All are open at once; each does a round trip.
    let mut echoes = tokio::task::JoinSet::new();
    for (i, mut ws) in sockets.into_iter().enumerate() {
        echoes.spawn(async move {
            let text = format!("client {i}");
            ws.send(Message::text(text.clone()))
                .await
                .map_err(|e| e.to_string())?;
            let echo = tokio::time::timeout(STEP, ws.next()).await;
            ws.close(None).await.ok();
            match echo {
                Ok(Some(Ok(reply))) if reply == Message::text(text) => Ok(()),
                other => Err(format!("client {i}: {other:?}")),
            }
        });
    }
    let mut ok = 0;
    while let Some(done) = echoes.join_next().await {
        done.unwrap().expect("echo");
        ok += 1;
    }
    assert_eq!(ok, CLIENTS);
    server.stop().await;
}

#[tokio::test]
async fn sessions_resume() {
    let pki = Pki::new();
    let server = TlsServer::start(files(&pki)).await;
    let config = client::config(&pki.ca.cert, H2_AND_H1, None);
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let stream = handshake(server.addr, "localhost", config.clone())
            .await
            .unwrap();
        kinds.push(stream.get_ref().1.handshake_kind());
        // The ticket arrives after the handshake; a request makes sure the client has read it.
        assert_eq!(get(stream, "localhost", "/healthz", 1).await.status, 200);
    }
    use rustls::HandshakeKind::{Full, Resumed};
    assert_eq!(kinds, [Some(Full), Some(Resumed), Some(Resumed)]);
    server.stop().await;
}

#[tokio::test]
async fn a_silent_client_holds_up_nobody() {
    let pki = Pki::new();
    let server = TlsServer::start(files(&pki)).await;
    // Connects and never sends a ClientHello; handshakes run in their own tasks, so the next
    // client is served at once.
    let _silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let config = client::config(&pki.ca.cert, H2_AND_H1, None);
    let started = Instant::now();
    let stream = client::handshake_within(server.addr, "127.0.0.1", config, Duration::from_secs(3))
        .await
        .expect("served while another client is silent");
    assert_eq!(get(stream, "x", "/healthz", 1).await.status, 200);
    assert!(started.elapsed() < Duration::from_secs(3));
    server.stop().await;
}

/// `nexus-bench serve args…` as a child process; killed on drop.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    fn start(args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nexus-bench"))
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nexus-bench serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut served = Served {
            child,
            url: String::new(),
        };
        served.url = rx
            .recv_timeout(STEP)
            .expect("the URL on the first stdout line in time")
            .trim()
            .to_owned();
        served
    }

    fn addr(&self) -> SocketAddr {
        self.url
            .strip_prefix("https://")
            .unwrap_or_else(|| panic!("an https URL: {:?}", self.url))
            .parse()
            .expect("host:port")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn generated_certificate_written_by_cert_out_verifies_for_ip_and_localhost() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("served.pem");
    let served = Served::start(&["--tls", "--tls-cert-out", ca.to_str().unwrap()]);
    assert!(
        served.url.starts_with("https://127.0.0.1:"),
        "{}",
        served.url
    );
    let pem = std::fs::read_to_string(&ca).expect("--tls-cert-out written before the URL");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    for name in ["127.0.0.1", "localhost"] {
        let config = client::config(&ca, H2_AND_H1, None);
        let stream = handshake(served.addr(), name, config)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let reply = get(stream, name, "/healthz", 1).await;
        assert_eq!((reply.version, reply.status), (http::Version::HTTP_2, 200));
    }
    // The client really verifies: a name the certificate does not carry is refused.
    let config = client::config(&ca, H2_AND_H1, None);
    let err = handshake(served.addr(), "example.com", config)
        .await
        .expect_err("not valid for example.com");
    assert!(
        matches!(
            rustls_error(&err),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn mtls_accepts_the_right_client_and_refuses_missing_or_foreign_ones() {
    let pki = Pki::new();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let served = Served::start(&[
        "--tls-cert",
        &path(&pki.server.cert),
        "--tls-key",
        &path(&pki.server.key),
        "--tls-client-ca",
        &path(&pki.ca.cert),
    ]);
    let addr = served.addr();

    let right = client::config(
        &pki.ca.cert,
        H2_AND_H1,
        Some((&pki.client.cert, &pki.client.key)),
    );
    let stream = handshake(addr, "localhost", right)
        .await
        .expect("handshake");
    let reply = get(stream, "localhost", "/healthz", 2).await;
    assert_eq!((reply.status, reply.text().as_str()), (200, "ok"));

    let refused =
        |who: &str, err: std::io::Error, alerts: &[AlertDescription]| match rustls_error(&err) {
            Some(rustls::Error::AlertReceived(alert)) if alerts.contains(alert) => {}
            other => panic!("{who}: expected one of {alerts:?}, got {other:?} ({err})"),
        };
    let cases = [
        (
            "no client certificate",
            None,
            &[AlertDescription::CertificateRequired][..],
        ),
        (
            "a certificate from another CA",
            Some((&pki.stranger_client.cert, &pki.stranger_client.key)),
            &[
                AlertDescription::UnknownCA,
                AlertDescription::BadCertificate,
            ][..],
        ),
    ];
    for (who, identity, alerts) in cases {
        let config = client::config(
            &pki.ca.cert,
            H1_ONLY,
            identity.map(|(c, k): (&std::path::PathBuf, &std::path::PathBuf)| {
                (c.as_path(), k.as_path())
            }),
        );
        // In TLS 1.3 the client finishes its side of the handshake before the server has
        // checked the client certificate: the refusal arrives as an alert on the first read.
        match handshake(addr, "localhost", config).await {
            Err(err) => refused(who, err, alerts),
            Ok(stream) => match raw_get(stream, "/healthz").await {
                Ok(bytes) => panic!(
                    "{who}: the server answered: {:?}",
                    String::from_utf8_lossy(&bytes)
                ),
                Err(err) => refused(who, err, alerts),
            },
        }
    }
}

#[test]
fn bad_certificate_files_are_a_clear_error_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let output = Command::new(env!("CARGO_BIN_EXE_nexus-bench"))
        .args([
            "serve",
            "--tls-cert",
            missing.to_str().unwrap(),
            "--tls-key",
        ])
        .arg(&missing)
        .stdin(Stdio::null())
        .output()
        .expect("nexus-bench runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missing.pem"), "{stderr}");
    assert!(output.stdout.is_empty(), "no URL printed");
}
