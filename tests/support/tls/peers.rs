//! Hostile TLS peers on 127.0.0.1:0 for tests, each on its own thread with its own
//! single-threaded runtime (so it works from `#[test]` and `#[tokio::test]` alike), stopped
//! and joined on drop:
//!
//! - [`Peer::silent`] accepts TCP and never answers the ClientHello;
//! - [`Peer::garbage`] reads the ClientHello and answers with bytes that are not TLS;
//! - [`Peer::tls`] completes handshakes with any certificate (e.g. [`Pki::expired`] or
//!   [`Pki::wrong_name`]) and answers every HTTP request `200 ok` (HTTP/1.1 or h2 by ALPN),
//!   for a client that was told not to verify.
//!
//! Each counts the TCP connections it accepted and the handshakes it completed.
//!
//! [`Pki::expired`]: super::pki::Pki::expired
//! [`Pki::wrong_name`]: super::pki::Pki::wrong_name

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::pki::CertFiles;

/// What [`Peer::garbage`] sends instead of a ServerHello: a plain-HTTP answer, as a
/// misconfigured port would.
pub const GARBAGE: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nnot TLS at all";

/// One hostile peer; stops (closing every socket it holds) and joins its thread on drop.
pub struct Peer {
    /// Where it listens.
    pub addr: SocketAddr,
    counts: Arc<Counts>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Counts {
    accepted: AtomicUsize,
    handshakes: AtomicUsize,
}

#[derive(Clone)]
enum Behaviour {
    Silent,
    Garbage,
    Tls(Arc<ServerConfig>),
}

impl Peer {
    /// Accepts TCP connections and holds them open without ever sending a byte.
    pub fn silent() -> Peer {
        Peer::start(Behaviour::Silent)
    }

    /// Reads what the client sends first (its ClientHello), answers [`GARBAGE`] and closes.
    pub fn garbage() -> Peer {
        Peer::start(Behaviour::Garbage)
    }

    /// A real TLS server (ALPN h2 and http/1.1) with `identity`, answering `200 ok`.
    pub fn tls(identity: &CertFiles) -> Peer {
        let chain = CertificateDer::pem_file_iter(&identity.cert)
            .expect("certificate file")
            .collect::<Result<Vec<_>, _>>()
            .expect("certificate PEM");
        let key = PrivateKeyDer::from_pem_file(&identity.key).expect("key PEM");
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("protocol versions")
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .expect("server identity");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Peer::start(Behaviour::Tls(Arc::new(config)))
    }

    fn start(behaviour: Behaviour) -> Peer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("local addr");
        let counts = Arc::new(Counts::default());
        let (stop, stopped) = oneshot::channel();
        let thread = {
            let counts = counts.clone();
            std::thread::Builder::new()
                .name(format!("hostile-peer-{}", addr.port()))
                .spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("peer runtime")
                        .block_on(async move {
                            let listener = TcpListener::from_std(listener).expect("tokio listener");
                            tokio::select! {
                                () = accept_loop(listener, behaviour, counts) => {}
                                _ = stopped => {}
                            }
                        });
                    // Dropping the runtime cancels every connection task and closes its socket.
                })
                .expect("peer thread")
        };
        Peer {
            addr,
            counts,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// TCP connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.counts.accepted.load(Ordering::SeqCst)
    }

    /// TLS handshakes completed so far (only [`Peer::tls`] completes any).
    pub fn handshakes(&self) -> usize {
        self.counts.handshakes.load(Ordering::SeqCst)
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, behaviour: Behaviour, counts: Arc<Counts>) {
    let mut held = Vec::new();
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        counts.accepted.fetch_add(1, Ordering::SeqCst);
        match &behaviour {
            // Kept until the peer stops: the client sees an open, mute connection.
            Behaviour::Silent => held.push(tcp),
            Behaviour::Garbage => {
                tokio::spawn(answer_garbage(tcp));
            }
            Behaviour::Tls(config) => {
                tokio::spawn(serve_ok(tcp, config.clone(), counts.clone()));
            }
        }
    }
}

async fn answer_garbage(mut tcp: TcpStream) {
    let mut hello = [0u8; 4096];
    let _ = tcp.read(&mut hello).await;
    let _ = tcp.write_all(GARBAGE).await;
    let _ = tcp.shutdown().await;
}

async fn serve_ok(tcp: TcpStream, config: Arc<ServerConfig>, counts: Arc<Counts>) {
    let Ok(tls) = tokio_rustls::TlsAcceptor::from(config).accept(tcp).await else {
        return;
    };
    counts.handshakes.fetch_add(1, Ordering::SeqCst);
    let service = hyper::service::service_fn(|_request| async {
        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
            b"ok",
        ))))
    });
    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(tls), service)
        .await;
}
