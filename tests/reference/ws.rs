//! WebSockets: supervisor events, the snapshot stream under 1,000 concurrent clients, and the
//! mesh socket's echo and message routing.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{STEP, Server, config};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(STEP, ws.next())
            .await
            .expect("a message in time")
            .expect("stream open")
            .expect("valid frame");
        if let Message::Text(text) = msg {
            return serde_json::from_str(&text).expect("JSON event");
        }
    }
}

#[tokio::test]
async fn supervisor_stream_reports_state_changes() {
    let server = Server::start(config()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url("/ws"))
        .await
        .unwrap();
    let first = next_json(&mut ws).await;
    assert_eq!(first["type"], "snapshot");
    assert_eq!(first["services"]["running"], 5);
    server.post_empty("/api/services/svc-003/stop").await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = next_json(&mut ws).await;
        if event["type"] == "state" {
            assert_eq!(event["service"], "svc-003");
            seen.push(event["to"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen, ["stopping", "stopped"]);
    ws.close(None).await.ok();
    server.stop().await;
}

pub(crate) fn raise_fd_limit(wanted: u64) {
    // SAFETY: plain getrlimit/setrlimit on this process with a valid struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_clients_all_get_snapshots() {
    const CLIENTS: usize = 1000;
    raise_fd_limit(8192);
    let server = Server::start(config()).await;
    let url = server.ws_url("/ws");
    // Connect in waves so the listen backlog never overflows.
    let mut sockets = Vec::with_capacity(CLIENTS);
    for wave in 0..CLIENTS / 100 {
        let mut connecting = JoinSet::new();
        for _ in 0..100 {
            let url = url.clone();
            connecting.spawn(async move {
                tokio::time::timeout(STEP, tokio_tungstenite::connect_async(url)).await
            });
        }
        while let Some(done) = connecting.join_next().await {
            let (ws, _) = done
                .unwrap()
                .expect("connect in time")
                .unwrap_or_else(|e| panic!("wave {wave}: {e}"));
            sockets.push(ws);
        }
    }
    assert_eq!(sockets.len(), CLIENTS);
    // Every client reads for 2.2 s: it must get snapshots (the first at once, then one per
    // second) and never see the stream end.
    let mut readers = JoinSet::new();
    for mut ws in sockets {
        readers.spawn(async move {
            let mut snapshots = 0;
            let until = tokio::time::Instant::now() + Duration::from_millis(2200);
            loop {
                match tokio::time::timeout_at(until, ws.next()).await {
                    Err(_) => break,
                    Ok(Some(Ok(Message::Text(text)))) => {
                        let v: Value = serde_json::from_str(&text).unwrap();
                        if v["type"] == "snapshot" {
                            snapshots += 1;
                        }
                    }
                    Ok(Some(Ok(_))) => {}
                    Ok(other) => return Err(format!("stream ended: {other:?}")),
                }
            }
            ws.close(None).await.ok();
            Ok(snapshots)
        });
    }
    let mut counts = Vec::new();
    while let Some(done) = readers.join_next().await {
        counts.push(done.unwrap().expect("no disconnect"));
    }
    assert_eq!(counts.len(), CLIENTS);
    assert!(
        counts.iter().all(|&n| n >= 2),
        "min snapshots {:?}",
        counts.iter().min()
    );
    server.stop().await;
}

#[tokio::test]
async fn mesh_socket_echoes_and_routes_messages() {
    let server = Server::start(config()).await;
    let agent = server
        .post(
            "/api/agents",
            json!({"name": "a", "capabilities": ["x"], "capacity": 1}),
        )
        .await
        .json()["agent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut mine, _) =
        tokio_tungstenite::connect_async(server.ws_url(&format!("/api/mesh/ws?agent={agent}")))
            .await
            .unwrap();
    let (mut topical, _) =
        tokio_tungstenite::connect_async(server.ws_url("/api/mesh/ws?topic=news"))
            .await
            .unwrap();

    mine.send(Message::text("ping-1")).await.unwrap();
    let echo = tokio::time::timeout(STEP, mine.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(echo, Message::text("ping-1"));
    mine.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let echo = tokio::time::timeout(STEP, mine.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(echo, Message::binary(vec![1u8, 2, 3]));

    let to_agent = server
        .post("/api/messages", json!({"to": agent, "body": {"hello": 1}}))
        .await;
    assert_eq!(to_agent.status, 202);
    assert_eq!(to_agent.json()["delivered"], 1);
    let got = next_json(&mut mine).await;
    assert_eq!(got["body"], json!({"hello": 1}));

    let to_topic = server
        .post("/api/messages", json!({"topic": "news", "body": "hi"}))
        .await;
    assert_eq!(to_topic.json()["delivered"], 1);
    assert_eq!(next_json(&mut topical).await["body"], "hi");

    let unknown = server
        .post("/api/messages", json!({"to": "agent-999", "body": 1}))
        .await;
    assert_eq!(unknown.status, 404);
    mine.close(None).await.ok();
    topical.close(None).await.ok();
    server.stop().await;
}
