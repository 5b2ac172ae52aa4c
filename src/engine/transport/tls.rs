//! TLS over a connected TCP stream (tokio-rustls, ring provider): the run's client
//! configurations, built once and shared by every worker, the handshake, and the
//! classification of TLS failures into `tls_handshake` with a readable reason.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{AlertDescription, CertificateError, ClientConfig};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::failure::Failure;
use crate::plan::tls::{Roots, TlsSettings};
use crate::recorder::ErrorKind;

/// The run's TLS clients: one configuration for HTTP (ALPN from the settings), one for
/// WebSocket upgrades (`http/1.1` only). Cloning shares them.
#[derive(Clone)]
pub struct TlsClients {
    http: TlsConnector,
    ws: TlsConnector,
    http1: Arc<ClientConfig>,
    /// SNI override from the settings.
    server_name: Option<ServerName<'static>>,
}

impl std::fmt::Debug for TlsClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClients").finish_non_exhaustive()
    }
}

/// Why the run's TLS clients cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsClientError {
    /// The configuration itself (versions, CA files, client key).
    #[error(transparent)]
    Config(#[from] crate::plan::tls::TlsConfigError),
    /// `server_name` is neither a DNS name nor an IP address.
    #[error("server_name `{name}`: {source}")]
    ServerName {
        /// The configured name.
        name: String,
        /// Why it is not a name.
        source: rustls::pki_types::InvalidDnsNameError,
    },
}

/// Which client configuration a connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// HTTP: ALPN may pick `h2`.
    Http,
    /// A WebSocket upgrade: HTTP/1.1 only.
    WebSocket,
}

impl TlsClients {
    /// Builds the configurations: `offer_h2` adds `h2` to the default ALPN list, `extra`
    /// certificates are trusted beside the platform roots.
    pub fn new(
        settings: &TlsSettings,
        offer_h2: bool,
        extra: &[CertificateDer<'static>],
    ) -> Result<Self, TlsClientError> {
        let mut http = settings.client_config(Roots::Platform(extra))?;
        let mut ws = http.clone();
        http.alpn_protocols = settings.alpn_for(offer_h2);
        ws.alpn_protocols = vec![b"http/1.1".to_vec()];
        let server_name = match &settings.server_name {
            Some(n) => Some(ServerName::try_from(n.clone()).map_err(|source| {
                TlsClientError::ServerName {
                    name: n.clone(),
                    source,
                }
            })?),
            None => None,
        };
        let ws = Arc::new(ws);
        Ok(TlsClients {
            http: TlsConnector::from(Arc::new(http)),
            ws: TlsConnector::from(ws.clone()),
            http1: ws,
            server_name,
        })
    }

    /// The configuration offering only `http/1.1` (probes, profile fetches, readiness).
    pub fn http1_config(&self) -> Arc<ClientConfig> {
        self.http1.clone()
    }

    /// The name sent as SNI and verified: the override, or `host` (a DNS name or an IP).
    pub fn server_name(&self, host: &str) -> Result<ServerName<'static>, Failure> {
        if let Some(n) = &self.server_name {
            return Ok(n.clone());
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(host.to_string()).map_err(|e| {
            Failure::new(
                ErrorKind::TlsHandshake,
                format!("`{host}` is not a valid TLS server name: {e}"),
            )
        })
    }

    /// Runs the handshake over `tcp` (the caller bounds it in time).
    pub async fn handshake(
        &self,
        tcp: TcpStream,
        name: ServerName<'static>,
        usage: Use,
    ) -> Result<TlsStream<TcpStream>, Failure> {
        let connector = match usage {
            Use::Http => &self.http,
            Use::WebSocket => &self.ws,
        };
        connector.connect(name, tcp).await.map_err(|e| {
            let reason = tls_reason(&e).unwrap_or_else(|| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    "the server closed the connection during the handshake".into()
                }
                _ => e.to_string(),
            });
            Failure::new(ErrorKind::TlsHandshake, format!("TLS handshake: {reason}"))
        })
    }
}

/// Whether `tls` negotiated HTTP/2 by ALPN.
pub fn negotiated_h2(tls: &TlsStream<TcpStream>) -> bool {
    tls.get_ref().1.alpn_protocol() == Some(b"h2")
}

/// The TLS reason inside an I/O error from a TLS stream, if it is a TLS error: used by the
/// protocol clients too, since a TLS 1.3 server rejects a client certificate only after
/// the client thinks the handshake is done.
pub fn tls_reason(e: &std::io::Error) -> Option<String> {
    let tls = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some(describe(tls))
}

fn describe(e: &rustls::Error) -> String {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => "unknown issuer".into(),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "certificate expired".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "certificate not valid yet".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "name mismatch".into()
            }
            other => format!("invalid certificate: {other:?}"),
        },
        E::NoApplicationProtocol => "no common protocol (ALPN)".into(),
        E::PeerIncompatible(p) => format!("no common protocol: {p:?}"),
        E::AlertReceived(a) => match a {
            AlertDescription::CertificateRequired => {
                "alert: certificate required (the server wants a client certificate)".into()
            }
            AlertDescription::ProtocolVersion | AlertDescription::HandshakeFailure => {
                format!("no common protocol (alert: {a:?})")
            }
            other => format!("alert: {other:?}"),
        },
        E::InvalidMessage(m) => format!("invalid TLS message from the server: {m:?}"),
        other => other.to_string(),
    }
}
