//! `GET /api/mesh/ws`: echoes every text or binary frame back (clients time round trips with
//! it) and forwards messages posted to the agent (`?agent=ID`) or topic (`?topic=T`) the
//! connection registered for.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::MeshApi;

/// Queue depth per connection; a client that far behind drops messages rather than memory.
const QUEUE: usize = 256;

struct Connection {
    agent: Option<String>,
    topic: Option<String>,
    tx: mpsc::Sender<Utf8Bytes>,
}

/// Connected mesh clients. Written only on connect and disconnect.
#[derive(Default)]
pub(super) struct Registry {
    next: AtomicU64,
    connections: RwLock<HashMap<u64, Connection>>,
}

impl Registry {
    /// Queues `text` for every matching connection: by agent, by topic, or (neither given)
    /// every connection. Returns how many connections it was queued for.
    pub(super) fn deliver(&self, to: Option<&str>, topic: Option<&str>, text: Utf8Bytes) -> usize {
        let connections = self.connections.read().expect("registry lock");
        connections
            .values()
            .filter(|c| match (to, topic) {
                (None, None) => true,
                _ => {
                    (to.is_some() && c.agent.as_deref() == to)
                        || (topic.is_some() && c.topic.as_deref() == topic)
                }
            })
            .filter(|c| c.tx.try_send(text.clone()).is_ok())
            .count()
    }

    fn add(&self, connection: Connection) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.connections
            .write()
            .expect("registry lock")
            .insert(id, connection);
        id
    }

    fn remove(&self, id: u64) {
        self.connections.write().expect("registry lock").remove(&id);
    }
}

#[derive(Deserialize)]
pub(super) struct Params {
    agent: Option<String>,
    topic: Option<String>,
}

pub(super) async fn upgrade(
    State(api): State<Arc<MeshApi>>,
    Query(params): Query<Params>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| run(api, params, socket))
}

async fn run(api: Arc<MeshApi>, params: Params, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::channel(QUEUE);
    let id = api.registry.add(Connection {
        agent: params.agent,
        topic: params.topic,
        tx,
    });
    let mut closing = api.closing.clone();
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if socket.send(Message::Text(text)).await.is_err() { break; }
                }
                Some(Ok(Message::Binary(bytes))) => {
                    if socket.send(Message::Binary(bytes)).await.is_err() { break; }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            Some(text) = rx.recv() => {
                if socket.send(Message::Text(text)).await.is_err() { break; }
            }
            _ = crate::reference::closed(&mut closing) => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
        }
    }
    api.registry.remove(id);
}
