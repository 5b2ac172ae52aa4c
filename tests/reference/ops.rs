//! Operational routes and lifecycle: `/healthz`, `/metrics` with route labels, the pprof CPU
//! profile, graceful shutdown and the `nexus-bench serve` binary.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pprof::protos::Message;

use super::support::{Client, STEP, Server, config};

#[tokio::test]
async fn healthz_and_metrics_with_route_labels() {
    let server = Server::start(config()).await;
    let health = server.get("/healthz").await;
    assert_eq!((health.status, health.text().as_str()), (200, "ok"));
    server.get("/api/v1/cache/get/some-key").await;
    server.get("/api/services/svc-001").await;
    let metrics = server.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(
        text.contains(r#"route="/api/v1/cache/get/{key}""#),
        "{text}"
    );
    assert!(text.contains(r#"route="/api/services/{name}""#), "{text}");
    assert!(text.contains("http_request_duration_seconds"), "{text}");
    // A second router in the same process shares the recorder.
    let other = Server::start(config()).await;
    assert_eq!(other.get("/metrics").await.status, 200);
    other.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pprof_profile_is_a_gzipped_protobuf_with_samples() {
    let _one = crate::shared::PROFILER.lock().await;
    let server = Server::start(config()).await;
    // Keep a CPU busy so the 99 Hz sampler has something to see.
    let busy = Arc::new(AtomicBool::new(true));
    let spinner = {
        let busy = busy.clone();
        std::thread::spawn(move || {
            let mut x = 0u64;
            while busy.load(Ordering::Relaxed) {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                std::hint::black_box(x);
            }
        })
    };
    let addr = server.addr;
    let first = tokio::spawn(async move {
        Client::connect(addr)
            .await
            .send("GET", "/debug/pprof/profile?seconds=1", None)
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = server.get("/debug/pprof/profile?seconds=1").await;
    assert_eq!(second.status, 409);
    let reply = first.await.unwrap();
    busy.store(false, Ordering::Relaxed);
    spinner.join().unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/octet-stream");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&reply.body[..])
        .read_to_end(&mut raw)
        .expect("gzip");
    let profile = pprof::protos::Profile::decode(&raw[..]).expect("protobuf Profile");
    assert!(!profile.sample.is_empty(), "no samples");
    assert!(!profile.sample_type.is_empty());
    assert_eq!(
        server.get("/debug/pprof/profile?seconds=soon").await.status,
        400
    );
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_closes_websockets_and_the_port() {
    let server = Server::start(config()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url("/ws"))
        .await
        .unwrap();
    assert!(ws.next().await.is_some());
    let addr = server.addr;
    let started = Instant::now();
    server.stop().await;
    assert!(started.elapsed() < STEP);
    // The stream ends (close frame or EOF) rather than hanging.
    let ended = tokio::time::timeout(STEP, async {
        while let Some(Ok(msg)) = ws.next().await {
            if msg.is_close() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok());
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[test]
fn serve_binary_prints_the_url_first_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nexus-bench"))
        .args(["serve", "--api", "cache", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nexus-bench serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(STEP).expect("first line in time");
    let url = line.trim_end();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line {url:?}"))
        .parse()
        .unwrap();
    assert!(port > 0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reply = runtime.block_on(async {
        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        Client::connect(addr)
            .await
            .send("GET", "/healthz", None)
            .await
    });
    assert_eq!(reply.status, 200);
    // SAFETY: signalling our own child process by its pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + STEP;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}
