//! The transport seam: connecting (TCP, then TLS when the endpoint asks for it) and the
//! protocol clients written against the one connected [`Stream`] type.
//!
//! ```text
//! Endpoint ──connect──► Stream (Tcp | Tls) ──► h1::H1Conn   HTTP/1.1, the lean hot path
//!                          │   (ALPN / config) ──► h2::H2Conn   HTTP/2 (hyper)
//!                          └────────────────────► ws::Ws       WebSocket (tokio-tungstenite)
//! ```
//!
//! Every failure comes back as a classified [`Failure`] (data, never a panic), and every
//! connection opened reports its [`Opened`] phases: TCP connect time, TLS handshake time and
//! the protocol it speaks.
//!
//! **Adding a protocol** (say gRPC): one new file here with a client over [`Stream`] (and a
//! [`Conn`] variant if it shares the HTTP request path, or its own `connect` like [`ws`]),
//! plus its scenario keys (`scenario/` → a `plan::Action` variant) and the arm in
//! `engine/user.rs` that runs that action. Plain HTTP stays statically dispatched: `Stream`
//! and `Conn` are enums, not trait objects.

mod failure;
pub mod h1;
pub mod h2;
mod stream;
pub mod tls;
pub mod ws;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub use failure::{Failure, Response};
pub use stream::{Stream, generator_side, tcp_connect};
pub use tls::TlsClients;

use h1::H1Conn;
use h2::H2Conn;

use crate::recorder::ErrorKind;

/// One client connection for HTTP requests.
pub enum Conn {
    /// HTTP/1.1: requests go out as prepared bytes.
    H1(H1Conn),
    /// HTTP/2 (prior knowledge, or `h2` by ALPN), driven by hyper in a spawned task.
    H2(H2Conn),
}

impl Conn {
    /// Whether the connection can take another request (false once the peer closed it).
    pub fn is_usable(&self) -> bool {
        match self {
            Conn::H1(c) => c.is_usable(),
            Conn::H2(s) => !s.is_closed(),
        }
    }
}

/// Where a connection goes and how it is secured.
#[derive(Clone, Copy)]
pub struct Endpoint<'a> {
    /// The socket address.
    pub addr: SocketAddr,
    /// TLS clients and the host name (SNI) when the scheme is `https`/`wss`.
    pub tls: Option<(&'a TlsClients, &'a str)>,
    /// Bound on TCP connect and TLS handshake together.
    pub timeout: Duration,
}

/// The phases of opening a connection (k6's `http_req_connecting` / `_tls_handshaking`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// TCP connect time.
    pub connect: Duration,
    /// TLS handshake time, for TLS connections.
    pub tls: Option<Duration>,
    /// Whether the connection speaks HTTP/2.
    pub h2: bool,
}

impl Endpoint<'_> {
    /// Opens a stream: TCP, then TLS if asked; `usage` picks the ALPN list. Returns the
    /// stream, its phases (`h2`: ALPN chose it), all within `timeout`.
    pub async fn open(&self, usage: tls::Use) -> Result<(Stream, Opened), Failure> {
        let start = Instant::now();
        let deadline = start + self.timeout;
        let tcp = tcp_connect(self.addr, self.timeout).await?;
        let connected = Instant::now();
        let mut opened = Opened {
            connect: connected - start,
            tls: None,
            h2: false,
        };
        let Some((clients, host)) = self.tls else {
            return Ok((Stream::Tcp(tcp), opened));
        };
        let name = clients.server_name(host)?;
        let tls =
            match tokio::time::timeout_at(deadline.into(), clients.handshake(tcp, name, usage))
                .await
            {
                Ok(r) => r?,
                Err(_) => {
                    return Err(Failure::new(
                        ErrorKind::ConnectTimeout,
                        format!(
                            "no TLS handshake from {} within {:?}",
                            self.addr, self.timeout
                        ),
                    ));
                }
            };
        opened.tls = Some(connected.elapsed());
        opened.h2 = tls::negotiated_h2(&tls);
        Ok((Stream::Tls(Box::new(tls)), opened))
    }

    /// Opens an HTTP connection: HTTP/2 when ALPN chose `h2`, or with prior knowledge when
    /// `h2_prior` and the connection is plain TCP; HTTP/1.1 otherwise.
    pub async fn connect(&self, h2_prior: bool) -> Result<(Conn, Opened), Failure> {
        let (stream, mut opened) = self.open(tls::Use::Http).await?;
        let h2 = match stream {
            Stream::Tcp(_) => h2_prior,
            Stream::Tls(_) => opened.h2,
        };
        opened.h2 = h2;
        if !h2 {
            return Ok((Conn::H1(H1Conn::new(stream)), opened));
        }
        Ok((Conn::H2(h2::handshake(stream).await?), opened))
    }
}
