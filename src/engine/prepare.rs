//! Work done once per run, before any request: the target resolved to a socket address,
//! and every request prepared (static paths, header maps and, for HTTP/1.1, the request
//! bytes themselves when nothing in them changes per request).

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use rustls::pki_types::CertificateDer;

use super::transport::h1::Want;
use super::transport::{Endpoint, TlsClients};
use crate::plan::{Action, Body, ExtractFrom, Plan, RequestSpec, Template};

/// The target, resolved once before the run.
#[derive(Debug, Clone)]
pub struct ResolvedTarget {
    /// Socket address of the base URL.
    pub addr: SocketAddr,
    /// `host:port` for the `Host` header and HTTP/2 `:authority`.
    pub authority: String,
    /// The host alone (TLS server name).
    pub host: String,
    /// Path prefix of the base URL (no trailing slash; empty for the root).
    pub base_path: String,
    /// The run's TLS clients (built once): for an `https://` target, and for absolute
    /// `https://` URLs of requests.
    pub tls_clients: TlsClients,
    /// Whether the target itself is `https://`.
    pub https: bool,
}

impl ResolvedTarget {
    /// Resolves an `http[s]://host:port/prefix` base URL and builds the run's TLS client
    /// configuration from `plan` (trusting `extra_ca` beside the configured roots).
    pub fn resolve(
        base_url: &str,
        plan: &Plan,
        extra_ca: &[CertificateDer<'static>],
    ) -> Result<Self, ResolveError> {
        let url = || base_url.to_string();
        let uri: http::Uri = base_url
            .parse()
            .map_err(|source| ResolveError::NotUrl { url: url(), source })?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(ResolveError::Scheme { url: url() }),
        };
        let host = uri
            .host()
            .ok_or_else(|| ResolveError::NoHost { url: url() })?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host_for_lookup = host.trim_start_matches('[').trim_end_matches(']');
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host_for_lookup, port))
            .map_err(|source| ResolveError::Lookup {
                host: host.to_string(),
                source,
            })?
            .next()
            .ok_or_else(|| ResolveError::NoAddress {
                host: host.to_string(),
            })?;
        let tls_clients = TlsClients::new(&plan.target.tls, plan.target.http2, extra_ca)?;
        Ok(ResolvedTarget {
            addr,
            authority: format!("{host}:{port}"),
            host: host_for_lookup.to_string(),
            base_path: uri.path().trim_end_matches('/').to_string(),
            tls_clients,
            https,
        })
    }

    /// The target as a connection endpoint.
    pub fn endpoint(&self, timeout: std::time::Duration) -> Endpoint<'_> {
        Endpoint {
            addr: self.addr,
            tls: self
                .https
                .then_some((&self.tls_clients, self.host.as_str())),
            timeout,
        }
    }
}

/// Why the target's base URL cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Not a URL at all.
    #[error("`{url}` is not a URL: {source}")]
    NotUrl {
        /// The base URL.
        url: String,
        /// Why it does not parse.
        source: http::uri::InvalidUri,
    },
    /// A scheme other than http or https.
    #[error("`{url}`: only http:// and https:// targets")]
    Scheme {
        /// The base URL.
        url: String,
    },
    /// No host in the URL.
    #[error("`{url}` has no host")]
    NoHost {
        /// The base URL.
        url: String,
    },
    /// The host name lookup failed.
    #[error("cannot resolve `{host}`: {source}")]
    Lookup {
        /// The host.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// The host name resolved to nothing.
    #[error("`{host}` resolves to no address")]
    NoAddress {
        /// The host.
        host: String,
    },
    /// The TLS client configuration cannot be built.
    #[error(transparent)]
    Tls(#[from] super::transport::tls::TlsClientError),
}

/// A request prepared once per run: everything that does not change per request.
pub(crate) struct Prepared {
    pub(crate) method: Method,
    /// The full path (base path included) when the URL template is static.
    pub(crate) static_path: Option<String>,
    /// Absolute URL template (`url = "http://…"`), rendered per request.
    pub(crate) absolute: bool,
    pub(crate) static_headers: HeaderMap,
    pub(crate) dynamic_headers: Vec<(HeaderName, Template)>,
    /// HTTP/1.1: the whole request, when nothing in it changes per request.
    pub(crate) h1_static: Option<Vec<u8>>,
    /// HTTP/1.1: the static header lines (`Host` excepted), serialised.
    pub(crate) h1_headers: Vec<u8>,
    /// HTTP/1.1: the static `Host` line, if any.
    pub(crate) h1_host: Vec<u8>,
    pub(crate) keep_body: bool,
    pub(crate) keep_headers: bool,
    pub(crate) needs_json: bool,
}

/// Read-only state shared by every user of a worker (and across workers via `Arc`).
pub struct Shared {
    /// The plan.
    pub plan: Arc<Plan>,
    /// The resolved target.
    pub target: ResolvedTarget,
    /// Run-wide `{{ counter }}`.
    pub counter: AtomicU64,
    /// Next row of each data set.
    pub data_rows: Vec<AtomicU64>,
    pub(crate) prepared: Vec<Prepared>,
}

impl Shared {
    /// Prepares every request of `plan` for `target`.
    pub fn new(plan: Arc<Plan>, target: ResolvedTarget) -> Self {
        let prepared = plan
            .requests
            .iter()
            .map(|r| prepare(r, &plan, &target))
            .collect();
        Shared {
            counter: AtomicU64::new(0),
            data_rows: plan.data.iter().map(|_| AtomicU64::new(0)).collect(),
            plan,
            target,
            prepared,
        }
    }
}

fn prepare(spec: &RequestSpec, plan: &Plan, target: &ResolvedTarget) -> Prepared {
    let Action::Http(h) = &spec.action else {
        return Prepared {
            method: Method::GET,
            static_path: None,
            absolute: false,
            static_headers: HeaderMap::new(),
            dynamic_headers: Vec::new(),
            h1_static: None,
            h1_headers: Vec::new(),
            h1_host: Vec::new(),
            keep_body: false,
            keep_headers: false,
            needs_json: false,
        };
    };
    let url = h.url.to_string();
    let absolute = url.starts_with("http://") || url.starts_with("https://");
    let static_path = h
        .url
        .render_static()
        .filter(|_| !absolute)
        .map(|s| join_path(&target.base_path, &s));
    let mut static_headers = HeaderMap::new();
    let mut dynamic_headers = Vec::new();
    // HTTP/2 for sure only with prior knowledge on plain TCP; over TLS, ALPN may choose
    // HTTP/1.1, which needs the HTTP/1.1 request.
    let h2_only = plan.target.http2 && !target.https;
    if !h2_only {
        static_headers.insert(
            HOST,
            HeaderValue::from_str(&target.authority).expect("valid authority"),
        );
    }
    let content_type = match &h.body {
        Body::Empty => None,
        Body::Template { content_type, .. } | Body::Bytes { content_type, .. } => {
            content_type.clone()
        }
    };
    if let Some(ct) = content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
        static_headers.insert(CONTENT_TYPE, ct);
    }
    // Request headers come after (and override) the target's defaults.
    for (name, value) in plan.target.headers.iter().chain(&h.headers) {
        if let Some(text) = value.render_static() {
            if let Ok(v) = HeaderValue::from_str(&text) {
                static_headers.insert(name.clone(), v);
                dynamic_headers.retain(|(n, _): &(HeaderName, Template)| n != name);
            }
        } else {
            static_headers.remove(name);
            dynamic_headers.push((name.clone(), value.clone()));
        }
    }
    let needs_json = !spec.expect.json.is_empty()
        || spec
            .extract
            .iter()
            .any(|e| matches!(e.from, ExtractFrom::Json(_)));
    let keep_body = spec.expect.needs_body()
        || spec
            .extract
            .iter()
            .any(|e| !matches!(e.from, ExtractFrom::Header(_)));
    let keep_headers = spec
        .extract
        .iter()
        .any(|e| matches!(e.from, ExtractFrom::Header(_)));
    let mut h1_headers = Vec::new();
    let mut h1_host = Vec::new();
    for (name, value) in &static_headers {
        let out = if name == HOST {
            &mut h1_host
        } else {
            &mut h1_headers
        };
        push_header(out, name.as_str(), value.as_bytes());
    }
    let h1_static = match (&static_path, &h.body) {
        (Some(path), Body::Empty | Body::Bytes { .. })
            if dynamic_headers.is_empty() && !h2_only =>
        {
            let body = match &h.body {
                Body::Bytes { bytes, .. } => bytes.clone(),
                _ => Bytes::new(),
            };
            let mut out = Vec::new();
            push_h1_request(&mut out, &h.method, path, &[&h1_host, &h1_headers], &body);
            Some(out)
        }
        _ => None,
    };
    Prepared {
        method: h.method.clone(),
        static_path,
        absolute,
        static_headers,
        dynamic_headers,
        h1_static,
        h1_headers,
        h1_host,
        keep_body,
        keep_headers,
        needs_json,
    }
}

/// Appends `name: value\r\n`.
pub(crate) fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Appends a whole HTTP/1.1 request: request line, pre-serialised header blocks, the
/// `content-length` when there is a body (or the method normally has one), and the body.
pub(crate) fn push_h1_request(
    out: &mut Vec<u8>,
    method: &Method,
    path: &str,
    blocks: &[&[u8]],
    body: &[u8],
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for b in blocks {
        out.extend_from_slice(b);
    }
    if !body.is_empty() || matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        // Writing into a Vec cannot fail.
        let _ = write!(out, "content-length: {}\r\n", body.len());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// Whether `path` is a valid HTTP/1.1 origin-form request target (no spaces or controls).
pub(crate) fn valid_target(path: &str) -> bool {
    path.starts_with('/') && path.bytes().all(|b| b > b' ' && b != 0x7f)
}

pub(crate) fn join_path(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

/// What the HTTP/1.1 client must keep of a response to `prep`.
pub(crate) fn h1_want(prep: &Prepared, plan: &Plan) -> Want {
    Want {
        head_request: prep.method == Method::HEAD,
        body: prep.keep_body,
        headers: prep.keep_headers,
        max_body: plan.max_body_bytes,
    }
}
