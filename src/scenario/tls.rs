//! `[target.tls]` and `http2 = true | false | "auto"`: the raw tables and their validation
//! into [`TlsSettings`]. Certificate and key files are read and parsed here, relative to the
//! scenario's folder, so a missing or unreadable file is an error at its line and column,
//! and a key that does not fit its certificate is caught before the run.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

use super::check::Ctx;
use super::raw::Sp;
use crate::plan::tls::{ClientAuth, Roots, TlsSettings, TlsVersion};

/// `http2`: `true` (h2c with prior knowledge on `http://`; `h2` offered by ALPN on
/// `https://`), `false`, or `"auto"` (`h2` by ALPN on `https://`, HTTP/1.1 on `http://`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged, expecting = "true, false or \"auto\"")]
pub enum RawHttp2 {
    /// `true` / `false`.
    Bool(bool),
    /// `"auto"`.
    Word(String),
}

impl JsonSchema for RawHttp2 {
    fn schema_name() -> Cow<'static, str> {
        "Http2".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "true, false, or \"auto\" (h2 by ALPN over https, HTTP/1.1 over http)",
            "anyOf": [{ "type": "boolean" }, { "const": "auto" }],
        })
    }
}

/// `[target.tls]`: how `https://` and `wss://` connections are secured.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM file of CA certificates trusted beside the platform roots, relative to the
    /// scenario's folder.
    #[serde(default)]
    pub ca: Option<Sp<String>>,
    /// Skip server certificate verification (every output says so). Default false.
    #[serde(default)]
    pub insecure: bool,
    /// PEM client certificate chain for mTLS (needs `client_key`).
    #[serde(default)]
    pub client_cert: Option<Sp<String>>,
    /// PEM private key of `client_cert`.
    #[serde(default)]
    pub client_key: Option<Sp<String>>,
    /// Name sent as SNI and verified instead of the URL's host.
    #[serde(default)]
    pub server_name: Option<Sp<String>>,
    /// Lowest TLS version: "1.2" (default) or "1.3".
    #[serde(default)]
    pub min_version: Option<Sp<String>>,
    /// ALPN protocols offered, in order, e.g. ["h2", "http/1.1"]. Default from `http2`.
    #[serde(default)]
    pub alpn: Option<Sp<Vec<String>>>,
    /// Session resumption. Default true; false measures full handshakes.
    #[serde(default)]
    pub resumption: Option<bool>,
}

/// Validates `http2`: (prior knowledge / offer h2, "auto").
pub(crate) fn http2(ctx: &mut Ctx<'_>, raw: Option<&Sp<RawHttp2>>) -> (bool, bool) {
    match raw.map(|r| (r.get(), r.span())) {
        None => (false, false),
        Some((RawHttp2::Bool(b), _)) => (*b, false),
        Some((RawHttp2::Word(w), _)) if w == "auto" => (false, true),
        Some((RawHttp2::Word(w), span)) => {
            ctx.err(
                span,
                format!("`http2` = \"{w}\" is not true, false or \"auto\""),
                Some("write http2 = \"auto\" to use HTTP/2 where the server offers it".into()),
            );
            (false, false)
        }
    }
}

/// Validates `[target.tls]`; `auto_h2` (from `http2 = "auto"`) offers `h2` by default.
pub(crate) fn tls(ctx: &mut Ctx<'_>, raw: Option<&RawTls>, auto_h2: bool) -> TlsSettings {
    let mut s = TlsSettings::default();
    if auto_h2 {
        s.alpn = Some(vec!["h2".into(), "http/1.1".into()]);
    }
    let Some(raw) = raw else { return s };
    s.insecure = raw.insecure;
    s.resumption = raw.resumption.unwrap_or(true);
    if let Some(ca) = &raw.ca
        && let Some((path, certs)) = certs(ctx, "ca", ca)
    {
        s.roots = certs;
        s.ca_files = vec![path];
    }
    match (&raw.client_cert, &raw.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certs(ctx, "client_cert", cert);
            let k = private_key(ctx, key);
            if let (Some((cert_file, chain)), Some((key_file, key))) = (chain, k) {
                s.client_auth = Some(Arc::new(ClientAuth {
                    cert_file,
                    key_file,
                    chain,
                    key,
                }));
            }
        }
        (Some(one), None) | (None, Some(one)) => ctx.err(
            one.span(),
            "`client_cert` and `client_key` go together",
            Some("give both PEM files, the certificate chain and its private key".into()),
        ),
        (None, None) => {}
    }
    if let Some(name) = &raw.server_name {
        if rustls::pki_types::ServerName::try_from(name.get().as_str()).is_err() {
            ctx.err(
                name.span(),
                format!(
                    "`server_name` = `{}` is not a DNS name or IP address",
                    name.get()
                ),
                Some("write e.g. server_name = \"api.example.com\"".into()),
            );
        }
        s.server_name = Some(name.get().clone());
    }
    if let Some(v) = &raw.min_version {
        s.min_version = match v.get().as_str() {
            "1.2" => TlsVersion::V12,
            "1.3" => TlsVersion::V13,
            other => {
                ctx.err(
                    v.span(),
                    format!("`min_version` = \"{other}\" is not a TLS version nexus-bench offers"),
                    Some("write \"1.2\" or \"1.3\"".into()),
                );
                TlsVersion::V12
            }
        };
    }
    if let Some(alpn) = &raw.alpn {
        let list = alpn.get();
        if list.is_empty() || list.iter().any(|p| p.is_empty() || p.len() > 255) {
            ctx.err(
                alpn.span(),
                "`alpn` needs one or more protocol names of 1 to 255 bytes",
                Some("write e.g. alpn = [\"h2\", \"http/1.1\"]".into()),
            );
        }
        s.alpn = Some(list.clone());
    }
    if s.client_auth.is_some() || !s.roots.is_empty() {
        // A key that does not fit its certificate, or a CA rustls cannot use, fails here.
        if let Err(e) = s.client_config(Roots::OnlyConfigured) {
            let span = raw
                .client_key
                .as_ref()
                .or(raw.ca.as_ref())
                .map(Sp::span)
                .unwrap_or(0..0);
            ctx.err(span, e.to_string(), None);
        }
    }
    s
}

/// Reads a PEM file of certificates relative to the scenario.
fn certs(
    ctx: &mut Ctx<'_>,
    field: &str,
    file: &Sp<String>,
) -> Option<(PathBuf, Vec<CertificateDer<'static>>)> {
    let path = ctx.dir.join(file.get());
    let bytes = read(ctx, field, file, &path)?;
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&bytes).collect();
    match certs {
        Ok(c) if !c.is_empty() => Some((path, c)),
        Ok(_) => {
            ctx.err(
                file.span(),
                format!("`{field}`: {} holds no PEM certificate", path.display()),
                Some("expected -----BEGIN CERTIFICATE----- blocks".into()),
            );
            None
        }
        Err(e) => {
            ctx.err(
                file.span(),
                format!("`{field}`: {} is not valid PEM: {e}", path.display()),
                None,
            );
            None
        }
    }
}

/// Reads a PEM private key relative to the scenario.
fn private_key(ctx: &mut Ctx<'_>, file: &Sp<String>) -> Option<(PathBuf, PrivateKeyDer<'static>)> {
    let path = ctx.dir.join(file.get());
    let bytes = read(ctx, "client_key", file, &path)?;
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(k) => Some((path, k)),
        Err(e) => {
            ctx.err(
                file.span(),
                format!(
                    "`client_key`: {} holds no usable private key: {e}",
                    path.display()
                ),
                Some("expected a PKCS#8, PKCS#1 (RSA) or SEC1 (EC) PEM key".into()),
            );
            None
        }
    }
}

/// The `validate` lines for the TLS settings (only when anything is set or the target is
/// `https://`).
pub(crate) fn describe(s: &mut String, plan: &crate::plan::Plan) -> std::fmt::Result {
    use std::fmt::Write as _;
    let t = &plan.target.tls;
    let https = match &plan.target.base {
        crate::plan::TargetBase::Url(u) => u.starts_with("https://"),
        crate::plan::TargetBase::Embedded { args, .. } => args.iter().any(|a| a == "--tls"),
    };
    let configured = t.insecure
        || !t.ca_files.is_empty()
        || t.client_auth.is_some()
        || t.server_name.is_some()
        || t.alpn.is_some()
        || !t.resumption
        || t.min_version != TlsVersion::V12;
    if !https && !configured {
        return Ok(());
    }
    let alpn: Vec<String> = t
        .alpn_for(plan.target.http2)
        .into_iter()
        .map(|p| String::from_utf8_lossy(&p).into_owned())
        .collect();
    writeln!(
        s,
        "         TLS {}, ALPN {}, resumption {}, min version {}",
        if t.insecure {
            "WITHOUT certificate verification (insecure)"
        } else {
            "verified against the platform roots"
        },
        alpn.join(", "),
        if t.resumption { "on" } else { "off" },
        match t.min_version {
            TlsVersion::V12 => "1.2",
            TlsVersion::V13 => "1.3",
        }
    )?;
    for f in &t.ca_files {
        writeln!(s, "         TLS trusts also {}", f.display())?;
    }
    if let Some(a) = &t.client_auth {
        writeln!(
            s,
            "         TLS client certificate {} (key {})",
            a.cert_file.display(),
            a.key_file.display()
        )?;
    }
    if let Some(n) = &t.server_name {
        writeln!(s, "         TLS server name (SNI) {n}")?;
    }
    Ok(())
}

fn read(
    ctx: &mut Ctx<'_>,
    field: &str,
    file: &Sp<String>,
    path: &std::path::Path,
) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) => Some(b),
        Err(e) => {
            ctx.err(
                file.span(),
                format!("`{field}`: cannot read {}: {e}", path.display()),
                Some("paths are relative to the scenario's folder".into()),
            );
            None
        }
    }
}
