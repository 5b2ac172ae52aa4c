//! `embedded_args = ["--tls"]`: the embedded reference target serves HTTPS with a
//! certificate generated here for 127.0.0.1, ::1 and localhost, which the run trusts (the
//! load, readiness checks, probes and profile fetches) without any `ca` setting.

use std::path::PathBuf;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::engine::transport::TlsClients;
use crate::plan::Plan;

/// Files handed to the child; removed once it has read them (on drop).
pub struct IdentityFiles(PathBuf);

impl Drop for IdentityFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Generates the target's certificate, installs it as trusted for the run's GETs, and
/// returns it with the `serve` arguments that make the child use it.
pub fn identity(
    plan: &Plan,
) -> Result<(CertificateDer<'static>, Vec<String>, IdentityFiles), String> {
    let (cert_pem, key_pem) =
        crate::reference::tls::self_signed(&["127.0.0.1", "::1", "localhost"])
            .map_err(|e| format!("generating the embedded target's certificate: {e}"))?;
    let dir = std::env::temp_dir().join(format!("nexus-bench-tls-{}", uuid::Uuid::new_v4()));
    let files = IdentityFiles(dir.clone());
    let write = |name: &str, text: &str| -> Result<String, String> {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok(path.to_string_lossy().into_owned())
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let cert = write("cert.pem", &cert_pem)?;
    let key = write("key.pem", &key_pem)?;
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|e| format!("reading the generated certificate: {e}"))?;
    let clients = TlsClients::new(&plan.target.tls, false, std::slice::from_ref(&der))
        .map_err(|e| e.to_string())?;
    crate::fetch::set_tls(clients.http1_config());
    Ok((
        der,
        vec!["--tls-cert".into(), cert, "--tls-key".into(), key],
        files,
    ))
}
