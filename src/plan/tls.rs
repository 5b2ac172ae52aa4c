//! `[target.tls]` as validated: extra trust roots, verification off, client certificate,
//! SNI override, minimum version, ALPN and resumption — and the one function that turns
//! them into a rustls `ClientConfig` (called once per run; also once at plan time, without
//! the platform roots, so a key that does not fit its certificate is a scenario error).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Lowest TLS version offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3.
    #[default]
    V12,
    /// TLS 1.3 only.
    V13,
}

/// A client certificate chain and its key (mTLS).
#[derive(Debug)]
pub struct ClientAuth {
    /// Where the chain came from.
    pub cert_file: PathBuf,
    /// Where the key came from.
    pub key_file: PathBuf,
    /// Leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
}

/// TLS client settings (`https://` and `wss://`).
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// CA files added to the roots (display).
    pub ca_files: Vec<PathBuf>,
    /// Their certificates.
    pub roots: Vec<CertificateDer<'static>>,
    /// Skip server certificate verification (`insecure = true` or `run --insecure`).
    pub insecure: bool,
    /// Client certificate for mTLS.
    pub client_auth: Option<Arc<ClientAuth>>,
    /// SNI and verification name instead of the URL's host.
    pub server_name: Option<String>,
    /// Lowest version offered.
    pub min_version: TlsVersion,
    /// ALPN protocols offered; `None`: from `http2` (`h2` then `http/1.1`, or `http/1.1`).
    pub alpn: Option<Vec<String>>,
    /// Session resumption (tickets / session IDs). Default true.
    pub resumption: bool,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            ca_files: Vec::new(),
            roots: Vec::new(),
            insecure: false,
            client_auth: None,
            server_name: None,
            min_version: TlsVersion::V12,
            alpn: None,
            resumption: true,
        }
    }
}

/// Where trust comes from, beside the settings' own CA files.
pub enum Roots<'a> {
    /// The platform store (rustls-native-certs), the webpki roots when it is empty, and
    /// these extra certificates (e.g. the embedded target's generated CA).
    Platform(&'a [CertificateDer<'static>]),
    /// Only the settings' CA files (plan-time check: no file system scan).
    OnlyConfigured,
}

impl TlsSettings {
    /// The ALPN list offered on HTTP connections.
    pub fn alpn_for(&self, offer_h2: bool) -> Vec<Vec<u8>> {
        match &self.alpn {
            Some(list) => list.iter().map(|p| p.as_bytes().to_vec()).collect(),
            None if offer_h2 => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            None => vec![b"http/1.1".to_vec()],
        }
    }

    /// Builds the client configuration (ALPN left empty: the caller sets it).
    pub fn client_config(&self, roots: Roots<'_>) -> Result<ClientConfig, TlsConfigError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&'static rustls::SupportedProtocolVersion] = match self.min_version {
            TlsVersion::V12 => rustls::ALL_VERSIONS,
            TlsVersion::V13 => &[&rustls::version::TLS13],
        };
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(TlsConfigError::Versions)?;
        let builder = if self.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
        } else {
            let mut store = RootCertStore::empty();
            if let Roots::Platform(extra) = roots {
                let native = rustls_native_certs::load_native_certs();
                store.add_parsable_certificates(native.certs);
                if store.is_empty() {
                    store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                }
                store.add_parsable_certificates(extra.iter().cloned());
            }
            for (cert, file) in self.roots.iter().zip(self.ca_files.iter().cycle()) {
                store
                    .add(cert.clone())
                    .map_err(|source| TlsConfigError::Ca {
                        file: file.clone(),
                        source,
                    })?;
            }
            builder.with_root_certificates(store)
        };
        let mut config = match &self.client_auth {
            Some(auth) => builder
                .with_client_auth_cert(auth.chain.clone(), auth.key.clone_key())
                .map_err(|source| TlsConfigError::KeyMismatch {
                    key: auth.key_file.clone(),
                    cert: auth.cert_file.clone(),
                    source,
                })?,
            None => builder.with_no_client_auth(),
        };
        if !self.resumption {
            config.resumption = rustls::client::Resumption::disabled();
        }
        Ok(config)
    }
}

/// Why the TLS client configuration cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// rustls refused the protocol versions.
    #[error("TLS versions: {0}")]
    Versions(rustls::Error),
    /// A `ca` certificate cannot be used as a trust anchor.
    #[error("{}: not a usable CA certificate: {source}", file.display())]
    Ca {
        /// The file it came from.
        file: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
    /// The client key does not belong to the client certificate.
    #[error("{} does not fit {}: {source}", key.display(), cert.display())]
    KeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
}

/// `insecure`: accepts any certificate, still checking the handshake's signatures.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
