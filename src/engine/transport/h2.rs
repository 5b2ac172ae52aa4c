//! The HTTP/2 client (hyper), over any [`Stream`]: h2c with prior knowledge on plain TCP,
//! or `h2` chosen by ALPN on TLS. Each connection's driver runs in its own local task.

use bytes::{Bytes, BytesMut};
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::failure::{Failure, Response};
use super::stream::Stream;
use crate::recorder::ErrorKind;

/// An HTTP/2 connection's request handle.
pub type H2Conn = http2::SendRequest<Full<Bytes>>;

/// Runs the HTTP/2 preface and settings exchange over `stream`.
pub async fn handshake(stream: Stream) -> Result<H2Conn, Failure> {
    let (sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .map_err(|e| classify(&e, "HTTP/2 handshake"))?;
    tokio::task::spawn_local(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends `req` and reads the whole response, keeping the body only if `keep_body`. A body
/// larger than `max_body` fails with `body_too_large`.
pub async fn send(
    s: &mut H2Conn,
    req: Request<Full<Bytes>>,
    keep_body: bool,
    max_body: usize,
) -> Result<Response, Failure> {
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

/// Maps a hyper error to an error kind.
fn classify(e: &hyper::Error, context: &str) -> Failure {
    let io = io_source(e);
    if let Some(reason) = io.and_then(super::tls::tls_reason) {
        return Failure::new(ErrorKind::TlsHandshake, format!("{context}: TLS: {reason}"));
    }
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
        match io.map(std::io::Error::kind) {
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
