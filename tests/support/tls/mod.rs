//! TLS test support shared by several test binaries (include it with
//! `#[path = "support/tls/mod.rs"] mod tls_support;`):
//!
//! - [`pki`]: a CA and certificates made with rcgen (valid, expired, wrong name, self-signed,
//!   mTLS clients), as PEM files in a temporary folder;
//! - [`client`]: an in-process rustls client that reports rustls's reasons, and one HTTP
//!   request over the ALPN-negotiated protocol;
//! - [`nginx`]: Debian's real nginx serving HTTPS (h2 and http/1.1, optional mTLS) on a free
//!   loopback port, started as the current user and stopped on drop;
//! - [`peers`]: hostile TLS servers on 127.0.0.1 (silent, garbage, expired, wrong name).
//!
//! Each binary uses only part of it.
#![allow(dead_code)]

pub mod client;
pub mod nginx;
pub mod peers;
pub mod pki;
