//! The HTTP executor: connections (HTTP/1.1 keep-alive or HTTP/2 prior knowledge) over real
//! sockets, one request at a time per connection, with every failure classified into an
//! [`ErrorKind`] instead of raised. HTTP/1.1 goes through the lean [`super::h1`] client;
//! HTTP/2 through hyper.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::h1::H1Conn;
use crate::recorder::ErrorKind;

/// A failed request: its kind and a message for the error samples.
#[derive(Debug)]
pub struct Failure {
    /// Classification.
    pub kind: ErrorKind,
    /// Human-readable detail (untrusted: may quote the target).
    pub message: String,
    /// The status, when a response head arrived.
    pub status: Option<u16>,
}

impl Failure {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            status: None,
        }
    }
}

/// A response that arrived in full (or was cut off at the size limit, which is a failure).
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// The body, when the caller asked to keep it.
    pub body: Option<Bytes>,
}

/// One client connection.
pub enum Conn {
    /// HTTP/1.1: requests go out as prepared bytes.
    H1(H1Conn),
    /// HTTP/2 (prior knowledge), driven by hyper in a spawned task.
    H2(http2::SendRequest<Full<Bytes>>),
}

/// Opens a TCP connection (no delay) to `addr`, classifying failures.
pub async fn tcp_connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, Failure> {
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Err(_) => {
            return Err(Failure::new(
                ErrorKind::ConnectTimeout,
                format!("connect to {addr} timed out"),
            ));
        }
        Ok(Err(e)) => {
            let kind = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                ErrorKind::ConnectRefused
            } else if generator_side(&e) {
                ErrorKind::GeneratorError
            } else {
                ErrorKind::ConnectError
            };
            return Err(Failure::new(kind, format!("connect to {addr}: {e}")));
        }
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Whether a connect failure is the generator's own limit (descriptors, ephemeral ports,
/// socket memory) rather than anything the target did.
pub fn generator_side(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::EADDRNOTAVAIL | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Opens an HTTP connection to `addr`.
pub async fn connect(addr: SocketAddr, http2: bool, timeout: Duration) -> Result<Conn, Failure> {
    let stream = tcp_connect(addr, timeout).await?;
    if !http2 {
        return Ok(Conn::H1(H1Conn::new(stream)));
    }
    let (sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .map_err(|e| classify(&e, "HTTP/2 handshake"))?;
    tokio::task::spawn_local(async move {
        let _ = conn.await;
    });
    Ok(Conn::H2(sender))
}

impl Conn {
    /// Whether the connection can take another request (false once the peer closed it).
    pub fn is_usable(&self) -> bool {
        match self {
            Conn::H1(c) => c.is_usable(),
            Conn::H2(s) => !s.is_closed(),
        }
    }

    /// Sends `req` over HTTP/2 and reads the whole response, keeping the body only if
    /// `keep_body`. A body larger than `max_body` fails with `body_too_large`.
    pub async fn send_h2(
        &mut self,
        req: Request<Full<Bytes>>,
        keep_body: bool,
        max_body: usize,
    ) -> Result<Response, Failure> {
        let Conn::H2(s) = self else {
            return Err(Failure::new(ErrorKind::Other, "not an HTTP/2 connection"));
        };
        s.ready().await.map_err(|e| classify(&e, "connection"))?;
        let resp = s
            .send_request(req)
            .await
            .map_err(|e| classify(&e, "request"))?;
        let status = resp.status().as_u16();
        let (parts, mut body) = resp.into_parts();
        let mut kept = BytesMut::new();
        let mut size = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| Failure {
                status: Some(status),
                ..classify(&e, "response body")
            })?;
            if let Ok(data) = frame.into_data() {
                size += data.len();
                if size > max_body {
                    return Err(Failure {
                        kind: ErrorKind::BodyTooLarge,
                        message: format!("response body over {max_body} bytes"),
                        status: Some(status),
                    });
                }
                if keep_body {
                    kept.extend_from_slice(&data);
                }
            }
        }
        Ok(Response {
            status,
            headers: parts.headers,
            body: keep_body.then(|| kept.freeze()),
        })
    }
}

/// Maps a hyper error to an error kind.
fn classify(e: &hyper::Error, context: &str) -> Failure {
    let kind = if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        ErrorKind::Protocol
    } else if e.is_incomplete_message()
        || e.is_canceled()
        || e.is_closed()
        || e.is_body_write_aborted()
    {
        ErrorKind::ConnectionReset
    } else if e.is_timeout() {
        ErrorKind::RequestTimeout
    } else {
        match io_source(e).map(std::io::Error::kind) {
            Some(
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::UnexpectedEof,
            ) => ErrorKind::ConnectionReset,
            _ if is_h2_protocol(e) => ErrorKind::Protocol,
            _ => ErrorKind::Other,
        }
    };
    Failure::new(kind, format!("{context}: {}", chain(e)))
}

fn io_source(e: &hyper::Error) -> Option<&std::io::Error> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        src = s.source();
    }
    None
}

fn is_h2_protocol(e: &hyper::Error) -> bool {
    chain(e).contains("protocol") || chain(e).contains("frame")
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
