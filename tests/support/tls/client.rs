//! An in-process TLS client (tokio-rustls on the `ring` provider) for tests: handshake with
//! chosen roots, ALPN and client certificate, then one HTTP request over whichever protocol was
//! negotiated (hyper's HTTP/1.1 or HTTP/2 client), and a way to read the rustls reason out of a
//! failed handshake.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Every network step of a TLS test is bounded by this.
pub const STEP: Duration = Duration::from_secs(10);

/// ALPN lists a client may offer.
pub const H2_AND_H1: &[&[u8]] = &[b"h2", b"http/1.1"];
/// Only HTTP/1.1.
pub const H1_ONLY: &[&[u8]] = &[b"http/1.1"];
/// Only HTTP/2.
pub const H2_ONLY: &[&[u8]] = &[b"h2"];

/// A client configuration trusting the certificates in `ca_pem` only, offering `alpn`, and
/// presenting `client` (certificate, key) when the server asks for one.
pub fn config(ca_pem: &Path, alpn: &[&[u8]], client: Option<(&Path, &Path)>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_pem).expect("CA file") {
        roots.add(cert.expect("CA PEM")).expect("CA accepted");
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots);
    let mut config = match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .expect("client cert file")
                .collect::<Result<Vec<_>, _>>()
                .expect("client cert PEM");
            let key = PrivateKeyDer::from_pem_file(key).expect("client key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client identity")
        }
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// Connects to `addr` and completes a TLS handshake for `server_name` (an IP address or a DNS
/// name), bounded by [`STEP`]. A timeout is an `io::ErrorKind::TimedOut` error.
pub async fn handshake(
    addr: SocketAddr,
    server_name: &str,
    config: Arc<ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    handshake_within(addr, server_name, config, STEP).await
}

/// [`handshake`] with its own bound.
pub async fn handshake_within(
    addr: SocketAddr,
    server_name: &str,
    config: Arc<ClientConfig>,
    bound: Duration,
) -> std::io::Result<TlsStream<TcpStream>> {
    let name = ServerName::try_from(server_name.to_owned()).expect("a valid server name");
    let attempt = async {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        TlsConnector::from(config).connect(name, tcp).await
    };
    match tokio::time::timeout(bound, attempt).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no TLS handshake with {addr} within {bound:?}"),
        )),
    }
}

/// The rustls error behind a failed handshake, if that is what failed.
pub fn rustls_error(err: &std::io::Error) -> Option<&rustls::Error> {
    err.get_ref()?.downcast_ref::<rustls::Error>()
}

/// The ALPN protocol the handshake settled on (`"h2"`, `"http/1.1"`), or `""` for none.
pub fn negotiated(stream: &TlsStream<TcpStream>) -> String {
    let alpn = stream.get_ref().1.alpn_protocol().unwrap_or_default();
    String::from_utf8_lossy(alpn).into_owned()
}

/// A complete response.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP version the response came in.
    pub version: http::Version,
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `GET path` on `stream` with HTTP/2 if ALPN chose `h2`, else HTTP/1.1, `count` times
/// on the same connection, and returns the last reply. Bounded by [`STEP`].
pub async fn get(stream: TlsStream<TcpStream>, authority: &str, path: &str, count: usize) -> Reply {
    let h2 = negotiated(&stream) == "h2";
    let io = TokioIo::new(stream);
    let exchange = async {
        let mut last = None;
        if h2 {
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .expect("HTTP/2 handshake");
            tokio::spawn(conn);
            for _ in 0..count {
                let request = http::Request::get(format!("https://{authority}{path}"))
                    .body(Empty::<Bytes>::new())
                    .expect("request");
                sender.ready().await.expect("HTTP/2 ready");
                let response = sender.send_request(request).await.expect("HTTP/2 response");
                last = Some(collect(response).await);
            }
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .expect("HTTP/1.1 handshake");
            tokio::spawn(conn);
            for _ in 0..count {
                let request = http::Request::get(path)
                    .header("host", authority)
                    .body(Empty::<Bytes>::new())
                    .expect("request");
                sender.ready().await.expect("HTTP/1.1 ready");
                let response = sender
                    .send_request(request)
                    .await
                    .expect("HTTP/1.1 response");
                last = Some(collect(response).await);
            }
        }
        let response = last.expect("at least one request");
        let version = response.version();
        let status = response.status().as_u16();
        Reply {
            version,
            status,
            body: response.into_body(),
        }
    };
    tokio::time::timeout(STEP, exchange)
        .await
        .expect("responses in time")
}

async fn collect(response: http::Response<hyper::body::Incoming>) -> http::Response<Bytes> {
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    http::Response::from_parts(parts, bytes)
}

/// Writes one raw HTTP/1.1 `GET path` with `Connection: close` on `stream` and reads until the
/// server closes: the bytes received, or the error that ended the connection (for example the
/// alert an mTLS server sends after a TLS 1.3 handshake that lacked a client certificate).
pub async fn raw_get(mut stream: TlsStream<TcpStream>, path: &str) -> std::io::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        stream.flush().await?;
        let mut received = Vec::new();
        stream.read_to_end(&mut received).await?;
        Ok(received)
    };
    match tokio::time::timeout(STEP, exchange).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no response within the bound",
        )),
    }
}
