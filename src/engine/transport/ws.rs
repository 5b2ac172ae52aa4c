//! The WebSocket executor: round trips on a user's kept-open WebSocket, and held
//! connections that count what they receive.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message};

use super::Worker;
use super::http::{Failure, tcp_connect};
use super::user::User;
use crate::plan::{Action, RequestId};
use crate::recorder::{ErrorKind, Sample};

/// An open client WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// Opens a WebSocket to `ws://{authority}{path}` over a new connection to `addr`.
pub async fn connect(
    addr: SocketAddr,
    authority: &str,
    path: &str,
    timeout: Duration,
) -> Result<Ws, Failure> {
    let stream = tcp_connect(addr, timeout).await?;
    let url = format!("ws://{authority}{path}");
    match tokio::time::timeout(timeout, tokio_tungstenite::client_async(url, stream)).await {
        Err(_) => Err(Failure::new(
            ErrorKind::ConnectTimeout,
            "WebSocket handshake timed out",
        )),
        Ok(Err(e)) => Err(classify(e)),
        Ok(Ok((ws, _))) => Ok(ws),
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

fn classify(e: tungstenite::Error) -> Failure {
    use tungstenite::Error as E;
    match e {
        E::Http(resp) => Failure {
            kind: ErrorKind::UnexpectedStatus,
            message: format!("WebSocket upgrade refused with status {}", resp.status()),
            status: Some(resp.status().as_u16()),
        },
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

/// Holds one WebSocket for request `id` until the end of the run, reconnecting after a
/// disconnect. Each message received is a sample whose latency is the gap since the
/// previous message (or since the connection opened).
pub(crate) async fn hold(w: &Worker, id: RequestId, user_id: u64) {
    let shared = &w.ctx.shared;
    let Action::WsHold(spec) = &shared.plan.requests[id].action else {
        return;
    };
    let mut user = User::new(user_id, shared);
    let path = user.render_path(shared, &spec.path);
    let timeout = shared.plan.target.connect_timeout;
    while w.open() {
        let opened = Instant::now();
        let mut ws =
            match connect(shared.target.addr, &shared.target.authority, &path, timeout).await {
                Ok(ws) => ws,
                Err(f) => {
                    record(w, id, opened, Some(f));
                    w.sleep_until(Instant::now() + Duration::from_millis(100))
                        .await;
                    continue;
                }
            };
        let mut last = opened;
        // Created before the loop, so a close notified while a message is being handled is
        // not missed.
        let closing = w.ctx.closing.notified();
        tokio::pin!(closing);
        if !w.open() {
            let _ = ws.close(None).await;
            return;
        }
        loop {
            let next = tokio::select! {
                biased;
                () = &mut closing => None,
                next = ws.next() => Some(next),
            };
            let Some(next) = next.filter(|_| w.open()) else {
                let _ = ws.close(None).await;
                return;
            };
            match next {
                Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                    record(w, id, last, None);
                    last = Instant::now();
                }
                Some(Ok(Message::Close(_))) | None => {
                    record(
                        w,
                        id,
                        last,
                        Some(Failure::new(
                            ErrorKind::Disconnected,
                            "the server closed the WebSocket",
                        )),
                    );
                    break;
                }
                Some(Err(e)) => {
                    let f = classify(e);
                    record(
                        w,
                        id,
                        last,
                        Some(Failure {
                            kind: ErrorKind::Disconnected,
                            ..f
                        }),
                    );
                    break;
                }
                Some(Ok(_)) => {}
            }
        }
    }
}

fn record(w: &Worker, id: RequestId, since: Instant, failure: Option<Failure>) {
    let end = Instant::now();
    let mut rec = w.ctx.recorder.borrow_mut();
    rec.record(Sample {
        request: id,
        latency: end - since,
        service: end - since,
        status: None,
        error: failure.as_ref().map(|f| f.kind),
        end,
    });
    if let Some(f) = failure {
        rec.sample_error(id, f.kind, || f.message);
    }
}
