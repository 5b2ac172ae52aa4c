//! HTTPS for the reference target (`nexus-bench serve --tls`): the server identity (a
//! certificate generated at start with rcgen, or PEM files), optional client-certificate
//! authentication (mTLS), and a listener that completes TLS handshakes before handing the
//! connections to the same axum server that serves plain HTTP.
//!
//! ALPN offers `h2` and `http/1.1`. The server behind the listener is hyper-util's auto
//! builder, which speaks whatever the client starts with; a client that negotiated `h2` sends
//! the HTTP/2 preface, one that negotiated `http/1.1` (or nothing) an HTTP/1.1 request, so the
//! protocol spoken is the negotiated one. WebSocket upgrades (`wss://`) work as over plain
//! HTTP/1.1. rustls runs on the `ring` provider (no C toolchain beyond a C compiler).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The names the generated certificate is valid for.
pub const SELF_SIGNED_NAMES: [&str; 3] = ["127.0.0.1", "::1", "localhost"];

/// ALPN protocols offered, in the server's order of preference.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A client that has not finished its handshake after this long is dropped, so a silent peer
/// holds a socket for a bounded time and never delays anyone else's connection.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Resumption state kept for this many sessions (rustls's default is 256, too few for a load
/// test that opens thousands of connections and wants to measure resumed handshakes).
const SESSION_CACHE: usize = 65_536;

/// Why a TLS server configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen could not generate the self-signed certificate.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PEM file could not be read or holds no usable item.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls rejected the certificate, the key or the client CA.
    #[error("{context}: {source}")]
    Rustls {
        /// What was being set up.
        context: &'static str,
        /// rustls's reason.
        source: rustls::Error,
    },
    /// The client CA file could not be turned into a verifier.
    #[error("client CA {path}: {reason}")]
    ClientCa {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Where the server's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Generated at start for [`SELF_SIGNED_NAMES`].
    SelfSigned,
    /// A PEM certificate chain (leaf first) and its PEM private key.
    Files {
        /// The certificate chain.
        cert: PathBuf,
        /// The private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
}

/// How `serve --tls` is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// The server certificate.
    pub identity: Identity,
    /// When set, clients must present a certificate signed by a CA in this PEM file.
    pub client_ca: Option<PathBuf>,
}

/// A ready server-side TLS setup.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<ServerConfig>,
    cert_pem: String,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("alpn", &self.config.alpn_protocols)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Generates or loads the identity, loads the client CA and builds the rustls config.
    pub fn new(options: &TlsOptions) -> Result<ServerTls, TlsError> {
        let (chain, key, cert_pem) = match &options.identity {
            Identity::SelfSigned => {
                let (cert_pem, key_pem) = self_signed(&SELF_SIGNED_NAMES)?;
                let chain =
                    vec![
                        CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| {
                            TlsError::Pem {
                                path: PathBuf::from("<generated>"),
                                reason: e.to_string(),
                            }
                        })?,
                    ];
                let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| {
                    TlsError::Pem {
                        path: PathBuf::from("<generated>"),
                        reason: e.to_string(),
                    }
                })?;
                (chain, key, cert_pem)
            }
            Identity::Files { cert, key } => {
                let chain = load_certs(cert)?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Pem {
                    path: key.clone(),
                    reason: format!("no usable private key ({e})"),
                })?;
                let cert_pem = std::fs::read_to_string(cert).map_err(|e| TlsError::Pem {
                    path: cert.clone(),
                    reason: e.to_string(),
                })?;
                (chain, key, cert_pem)
            }
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|source| TlsError::Rustls {
                context: "protocol versions",
                source,
            })?;
        let builder = match &options.client_ca {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for cert in load_certs(path)? {
                    roots.add(cert).map_err(|e| TlsError::ClientCa {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|e| TlsError::ClientCa {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config =
            builder
                .with_single_cert(chain, key)
                .map_err(|source| TlsError::Rustls {
                    context: "the certificate and key do not make a server identity",
                    source,
                })?;
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        config.session_storage = rustls::server::ServerSessionMemoryCache::new(SESSION_CACHE);
        config.ticketer =
            rustls::crypto::ring::Ticketer::new().map_err(|source| TlsError::Rustls {
                context: "session tickets",
                source,
            })?;
        Ok(ServerTls {
            config: Arc::new(config),
            cert_pem,
        })
    }

    /// The served certificate chain as PEM: what a client passes as its CA to trust the
    /// generated certificate (`--tls-cert-out`).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The rustls configuration.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.config.clone()
    }
}

/// A self-signed certificate valid for `names` (IP addresses become IP SANs): `(cert PEM, key
/// PEM)`.
pub fn self_signed(names: &[&str]) -> Result<(String, String), TlsError> {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = rcgen::CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "nexus-bench reference target");
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_error = |reason: String| TlsError::Pem {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_error("no CERTIFICATE in the file".into()));
    }
    Ok(certs)
}

/// A listener that yields connections whose TLS handshake is complete. Handshakes run in their
/// own tasks (bounded by [`HANDSHAKE_TIMEOUT`]), so a slow or hostile client delays nobody;
/// failed handshakes are dropped. Dropping the listener stops accepting and abandons the
/// handshakes still in progress.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    acceptor: JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `listener` with `tls`.
    pub fn new(listener: TcpListener, tls: &ServerTls) -> std::io::Result<TlsListener> {
        let local_addr = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(1024);
        let acceptor = tokio::spawn(accept_loop(listener, TlsAcceptor::from(tls.config()), tx));
        Ok(TlsListener {
            ready,
            local_addr,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept_loop(
    mut listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let mut handshakes = JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            // axum's accept retries and backs off on errors such as EMFILE.
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            Some(_) = handshakes.join_next() => continue,
            () = ready.closed() => return,
        };
        // TLS records are written whole; Nagle would only delay the handshake's last flight.
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        handshakes.spawn(async move {
            if let Ok(Ok(stream)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
            {
                let _ = ready.send((stream, peer)).await;
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when this receiver is gone or the task is aborted,
            // which happens only on drop; never reached while `self` is alive.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_identity_builds_with_alpn() {
        let tls = ServerTls::new(&TlsOptions {
            identity: Identity::SelfSigned,
            client_ca: None,
        })
        .unwrap();
        assert!(tls.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(
            tls.config().alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn missing_and_empty_files_are_clear_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not pem\n").unwrap();
        let missing = dir.join("missing.pem");
        let err = ServerTls::new(&TlsOptions {
            identity: Identity::Files {
                cert: missing.clone(),
                key: missing.clone(),
            },
            client_ca: None,
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("missing.pem"), "{err}");
        let err = ServerTls::new(&TlsOptions {
            identity: Identity::Files {
                cert: empty.clone(),
                key: empty.clone(),
            },
            client_ca: None,
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("no CERTIFICATE"), "{err}");
        let err = ServerTls::new(&TlsOptions {
            identity: Identity::SelfSigned,
            client_ca: Some(empty),
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("empty.pem"), "{err}");
    }
}
