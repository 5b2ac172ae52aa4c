//! The WebSocket client (tokio-tungstenite) over a [`Stream`]: `ws://` on TCP, `wss://` on
//! TLS (ALPN `http/1.1`, as the upgrade is an HTTP/1.1 exchange). Round trips on a kept-open
//! socket; held sockets are driven by `engine::hold`.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message};

use super::failure::Failure;
use super::stream::Stream;
use super::{Endpoint, Opened, tls};
use crate::recorder::ErrorKind;

/// An open client WebSocket.
pub type Ws = WebSocketStream<Stream>;

/// Opens a WebSocket to `ws[s]://{authority}{path}` over a new connection to `endpoint`.
pub async fn connect(
    endpoint: &Endpoint<'_>,
    authority: &str,
    path: &str,
) -> Result<(Ws, Opened), Failure> {
    let (stream, opened) = endpoint.open(tls::Use::WebSocket).await?;
    let scheme = if endpoint.tls.is_some() { "wss" } else { "ws" };
    let url = format!("{scheme}://{authority}{path}");
    match tokio::time::timeout(
        endpoint.timeout,
        tokio_tungstenite::client_async(url, stream),
    )
    .await
    {
        Err(_) => Err(Failure::new(
            ErrorKind::ConnectTimeout,
            "WebSocket handshake timed out",
        )),
        Ok(Err(e)) => Err(classify(e)),
        Ok(Ok((ws, _))) => Ok((ws, opened)),
    }
}

/// Sends `message` and waits for the first message containing `reply_contains` (any, if
/// `None`); other messages (pushed events) are skipped.
pub async fn round_trip(
    ws: &mut Ws,
    message: Message,
    reply_contains: Option<&str>,
) -> Result<(), Failure> {
    ws.send(message).await.map_err(classify)?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                if reply_contains.is_none_or(|needle| t.as_str().contains(needle)) {
                    return Ok(());
                }
            }
            Some(Ok(Message::Binary(b))) => {
                let matches = reply_contains
                    .is_none_or(|needle| String::from_utf8_lossy(&b).contains(needle));
                if matches {
                    return Ok(());
                }
            }
            Some(Ok(Message::Close(_))) | None => {
                return Err(Failure::new(
                    ErrorKind::ConnectionReset,
                    "WebSocket closed before the reply",
                ));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(classify(e)),
        }
    }
}

/// Maps a WebSocket error to an error kind.
pub fn classify(e: tungstenite::Error) -> Failure {
    use tungstenite::Error as E;
    match e {
        E::Http(resp) => Failure {
            kind: ErrorKind::UnexpectedStatus,
            message: format!("WebSocket upgrade refused with status {}", resp.status()),
            status: Some(resp.status().as_u16()),
        },
        E::Io(io) if tls::tls_reason(&io).is_some() => Failure::new(
            ErrorKind::TlsHandshake,
            format!(
                "WebSocket: TLS: {}",
                tls::tls_reason(&io).unwrap_or_default()
            ),
        ),
        E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            Failure::new(ErrorKind::ConnectRefused, format!("WebSocket: {io}"))
        }
        E::Io(io) => Failure::new(ErrorKind::ConnectionReset, format!("WebSocket: {io}")),
        E::ConnectionClosed | E::AlreadyClosed => {
            Failure::new(ErrorKind::ConnectionReset, "WebSocket closed")
        }
        E::Protocol(p) => Failure::new(ErrorKind::Protocol, format!("WebSocket protocol: {p}")),
        E::Capacity(c) => Failure::new(ErrorKind::BodyTooLarge, format!("WebSocket message: {c}")),
        other => Failure::new(ErrorKind::Other, format!("WebSocket: {other}")),
    }
}
