//! `GET /ws`: one broadcast channel feeds every client; each client task only forwards, so a
//! thousand clients cost a thousand small tasks and one serialisation per event.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::{Supervisor, tally};

const SNAPSHOT_EVERY: Duration = Duration::from_secs(1);

pub(super) async fn upgrade(State(sup): State<Arc<Supervisor>>, ws: WebSocketUpgrade) -> Response {
    if !sup.ticker_started.swap(true, Ordering::AcqRel) {
        tokio::spawn(tick(Arc::downgrade(&sup)));
    }
    ws.on_upgrade(move |socket| forward(sup, socket))
}

fn snapshot(sup: &Supervisor) -> Utf8Bytes {
    let states = sup.states();
    json!({ "type": "snapshot", "services": tally(&states), "total": states.len() })
        .to_string()
        .into()
}

/// Publishes a snapshot every second while anyone listens; ends with the supervisor.
async fn tick(sup: Weak<Supervisor>) {
    let mut interval = tokio::time::interval(SNAPSHOT_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(sup) = sup.upgrade() else { return };
        if sup.events.receiver_count() > 0 {
            let _ = sup.events.send(snapshot(&sup));
        }
    }
}

async fn forward(sup: Arc<Supervisor>, mut socket: WebSocket) {
    let mut events = sup.events.subscribe();
    let mut closing = sup.closing.clone();
    // A new client sees the current state at once instead of waiting for the next tick.
    if socket.send(Message::Text(snapshot(&sup))).await.is_err() {
        return;
    }
    drop(sup);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(text) => {
                    if socket.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                // A slow client skips what it missed; the next snapshot catches it up.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = super::super::closed(&mut closing) => break,
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
