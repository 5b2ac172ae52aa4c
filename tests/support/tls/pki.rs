//! A throw-away PKI made with rcgen and written as PEM files to a temporary folder: a CA, server
//! certificates signed by it (valid, expired, for the wrong name), client certificates for mTLS
//! (one from the CA, one from an unrelated CA) and a self-signed server certificate.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};

/// The names the valid server certificates are issued for.
pub const SERVER_NAMES: [&str; 3] = ["127.0.0.1", "::1", "localhost"];

/// The only name of [`Pki::wrong_name`]: not 127.0.0.1, not localhost.
pub const WRONG_NAME: &str = "wrong.nexus-bench.invalid";

/// A certificate and its private key, as PEM files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PKCS#8 PEM).
    pub key: PathBuf,
}

/// Every certificate a TLS test needs, written below one temporary folder that is removed on
/// drop.
pub struct Pki {
    dir: tempfile::TempDir,
    /// The CA's certificate: what clients trust (`ca.pem`) and what nginx uses to verify mTLS
    /// clients.
    pub ca: CertFiles,
    /// A server certificate for [`SERVER_NAMES`], signed by the CA, valid now.
    pub server: CertFiles,
    /// A server certificate for [`SERVER_NAMES`], signed by the CA, that expired in 2021.
    pub expired: CertFiles,
    /// A server certificate for [`WRONG_NAME`] only, signed by the CA, valid now.
    pub wrong_name: CertFiles,
    /// A self-signed server certificate for [`SERVER_NAMES`] that no CA here signed: a client
    /// trusting only `ca` rejects it (unknown issuer).
    pub self_signed: CertFiles,
    /// A client certificate (clientAuth) signed by the CA.
    pub client: CertFiles,
    /// A client certificate signed by another CA: an mTLS server trusting `ca` rejects it.
    pub stranger_client: CertFiles,
}

impl Pki {
    /// Generates everything (a few milliseconds: ECDSA P-256 keys).
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("temporary folder for the PKI");
        let write = |name: &str, cert: &str, key: &KeyPair| -> CertFiles {
            let files = CertFiles {
                cert: dir.path().join(format!("{name}.pem")),
                key: dir.path().join(format!("{name}-key.pem")),
            };
            std::fs::write(&files.cert, cert).expect("write a certificate");
            std::fs::write(&files.key, key.serialize_pem()).expect("write a key");
            files
        };

        let (ca_issuer, ca_pem, ca_key) = authority("nexus-bench test CA");
        let ca = write("ca", &ca_pem, &ca_key);
        let (other_issuer, _, _) = authority("an unrelated CA");

        let server_params = || leaf(&SERVER_NAMES, ExtendedKeyUsagePurpose::ServerAuth);
        let issue = |name: &str, params: CertificateParams, issuer: &Issuer<'_, KeyPair>| {
            let key = KeyPair::generate().expect("key");
            let cert = params.signed_by(&key, issuer).expect("sign");
            write(name, &cert.pem(), &key)
        };

        let server = issue("server", server_params(), &ca_issuer);
        let mut expired_params = server_params();
        expired_params.not_before = date_time_ymd(2020, 1, 1);
        expired_params.not_after = date_time_ymd(2021, 1, 1);
        let expired = issue("expired", expired_params, &ca_issuer);
        let wrong_name = issue(
            "wrong-name",
            leaf(&[WRONG_NAME], ExtendedKeyUsagePurpose::ServerAuth),
            &ca_issuer,
        );
        let client_params = || {
            let mut params = leaf(&[], ExtendedKeyUsagePurpose::ClientAuth);
            params
                .distinguished_name
                .push(DnType::CommonName, "nexus-bench test client");
            params
        };
        let client = issue("client", client_params(), &ca_issuer);
        let stranger_client = issue("stranger-client", client_params(), &other_issuer);
        let self_signed = {
            let key = KeyPair::generate().expect("key");
            let cert = server_params().self_signed(&key).expect("self-sign");
            write("self-signed", &cert.pem(), &key)
        };
        Pki {
            dir,
            ca,
            server,
            expired,
            wrong_name,
            self_signed,
            client,
            stranger_client,
        }
    }

    /// The folder holding every file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// A CA: its issuer handle, its certificate PEM and its key.
fn authority(name: &str) -> (Issuer<'static, KeyPair>, String, KeyPair) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("CA key");
    let cert = params.self_signed(&key).expect("CA self-signs");
    let key_pem = KeyPair::from_pem(&key.serialize_pem()).expect("CA key copy");
    (Issuer::new(params, key), cert.pem(), key_pem)
}

/// End-entity parameters for `names` (IP addresses become IP SANs) and one purpose.
fn leaf(names: &[&str], purpose: ExtendedKeyUsagePurpose) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).expect("leaf params");
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![purpose];
    params.use_authority_key_identifier_extension = true;
    params
}
