//! Engine integration tests: real HTTP over real sockets on 127.0.0.1, servers started
//! inside the test, every run bounded in time.

#[path = "engine/support.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use nexus_bench::plan::*;
use support::{Reply, get, plan, run, serve};

fn ok_script() -> support::Script {
    Arc::new(|_, _| Reply::Respond(200, "ok".into()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn closed_model_counts_equal_what_the_server_received() {
    let (url, count) = serve(ok_script()).await;
    let p = plan(
        &url,
        LoadModel::Closed {
            think_time: Duration::ZERO,
        },
        Profile::constant(4.0, Duration::from_millis(1500)),
        vec![get("a", "/a"), get("b", "/b")],
    );
    let r = tokio::task::spawn_blocking(move || run(p, 2))
        .await
        .unwrap();
    assert!(r.totals.requests > 100, "{:?}", r.totals);
    assert_eq!(r.totals.errors, 0);
    assert_eq!(r.totals.cancelled, 0);
    assert_eq!(r.totals.requests, count.load(Ordering::SeqCst));
    let a = r.endpoint("a").unwrap();
    let b = r.endpoint("b").unwrap();
    assert_eq!(a.requests + b.requests, r.totals.requests);
    assert_eq!(a.status.get("200").copied(), Some(a.requests));
    // Per-second windows add up to the totals.
    let series: u64 = r.timeseries.iter().map(|s| s.requests).sum();
    assert_eq!(series, r.totals.requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn open_model_keeps_its_rate_and_counts() {
    let (url, count) = serve(ok_script()).await;
    let p = plan(
        &url,
        LoadModel::Open { max_in_flight: 100 },
        Profile::constant(400.0, Duration::from_secs(2)),
        vec![get("a", "/a")],
    );
    let r = tokio::task::spawn_blocking(move || run(p, 1))
        .await
        .unwrap();
    assert_eq!(r.totals.requests, count.load(Ordering::SeqCst));
    assert_eq!(r.totals.dropped, 0);
    // 400/s for 2 s: exactly 800 arrivals are scheduled.
    assert_eq!(r.totals.requests, 800, "{:?}", r.totals);
    assert!(
        (r.totals.throughput_per_sec - 400.0).abs() < 8.0,
        "{}",
        r.totals.throughput_per_sec
    );
}

/// The server freezes for S = 200 ms at the start of every P = 1 s. At a steady arrival
/// rate, a fraction S/P of requests arrive during a stall and wait for its end, so
/// P(latency > x) = (S − x)/P for x < S: p90 = S − 0.1 P = 100 ms, p95 = 150 ms,
/// p99 = 190 ms. A generator that waits for responses before sending (coordinated omission)
/// would see roughly one slow request per stall instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn open_model_latency_is_coordinated_omission_correct() {
    let stall = Duration::from_millis(200);
    let period = Duration::from_secs(1);
    let script: support::Script = Arc::new(move |_, since_start| {
        let phase = Duration::from_nanos((since_start.as_nanos() % period.as_nanos()) as u64);
        if phase < stall {
            Reply::Delay(stall - phase, 200, "ok".into())
        } else {
            Reply::Respond(200, "ok".into())
        }
    });
    let (url, _) = serve(script).await;
    let p = plan(
        &url,
        LoadModel::Open {
            max_in_flight: 1000,
        },
        Profile::constant(250.0, Duration::from_secs(4)),
        vec![get("a", "/a")],
    );
    let r = tokio::task::spawn_blocking(move || run(p, 1))
        .await
        .unwrap();
    let l = &r.endpoint("a").unwrap().latency_ms;
    assert_eq!(r.totals.errors, 0);
    assert!((l.p90 - 100.0).abs() < 20.0, "p90 {}", l.p90);
    assert!((l.p95 - 150.0).abs() < 20.0, "p95 {}", l.p95);
    assert!((l.p99 - 190.0).abs() < 20.0, "p99 {}", l.p99);
    assert!(l.p50 < 20.0, "p50 {}", l.p50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn every_misbehaviour_is_classified_and_the_run_goes_on() {
    let script: support::Script = Arc::new(|path, _| match path {
        "/reset" => Reply::Reset,
        "/garbage" => Reply::Garbage,
        "/huge" => Reply::Huge(4 << 20),
        "/stall" => Reply::Delay(Duration::from_secs(3), 200, "late".into()),
        "/500" => Reply::Respond(500, "{\"error\":\"boom <b>\"}".into()),
        _ => Reply::Respond(200, "{\"state\":\"stopped\"}".into()),
    });
    let (url, _) = serve(script).await;
    let mut stall = get("stall", "/stall");
    stall.timeout = Duration::from_millis(200);
    let mut expect = get("expect", "/json");
    expect.expect.json = vec![("/state".into(), serde_json::json!("running"))];
    let mut extract = get("extract", "/json");
    extract.extract = vec![Extraction {
        var: 0,
        from: ExtractFrom::Json("/missing".into()),
    }];
    let mut p = plan(
        &url,
        LoadModel::Closed {
            think_time: Duration::ZERO,
        },
        Profile::constant(7.0, Duration::from_millis(1500)),
        vec![
            get("reset", "/reset"),
            get("garbage", "/garbage"),
            get("huge", "/huge"),
            stall,
            get("status", "/500"),
            expect,
            extract,
        ],
    );
    p.variables = vec!["x".into()];
    let r = tokio::task::spawn_blocking(move || run(p, 1))
        .await
        .unwrap();
    let expected = [
        ("reset", "connection_reset"),
        ("garbage", "protocol"),
        ("huge", "body_too_large"),
        ("stall", "request_timeout"),
        ("status", "unexpected_status"),
        ("expect", "expectation_failed"),
        ("extract", "extraction_failed"),
    ];
    for (name, kind) in expected {
        let e = r.endpoint(name).unwrap();
        assert!(e.requests > 0, "{name} ran");
        assert_eq!(e.errors, e.requests, "{name}: every request fails");
        assert_eq!(
            e.error_kinds.keys().collect::<Vec<_>>(),
            vec![kind],
            "{name}: {:?}",
            e.error_kinds
        );
    }
    assert_eq!(
        r.endpoint("status").unwrap().status.get("500"),
        Some(&r.endpoint("status").unwrap().requests)
    );
    assert!(
        r.error_samples
            .iter()
            .any(|s| s.kind == "unexpected_status")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn refused_connections_are_counted_not_raised() {
    // Bind and drop to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = plan(
        &format!("http://127.0.0.1:{port}"),
        LoadModel::Open { max_in_flight: 10 },
        Profile::constant(100.0, Duration::from_millis(500)),
        vec![get("a", "/")],
    );
    let r = tokio::task::spawn_blocking(move || run(p, 1))
        .await
        .unwrap();
    let e = r.endpoint("a").unwrap();
    assert_eq!(e.requests, 50);
    assert_eq!(e.error_kinds.get("connect_refused"), Some(&50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn flows_carry_extracted_values_to_later_steps() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let script: support::Script = Arc::new(move |path, _| {
        if path == "/register" {
            let n = next.fetch_add(1, Ordering::SeqCst);
            return Reply::Respond(201, format!("{{\"agent_id\":\"ag-{n}\"}}"));
        }
        log.lock().unwrap().push(path.to_string());
        match path.strip_prefix("/agents/ag-") {
            Some(_) => Reply::Respond(200, "{}".into()),
            None => Reply::Respond(404, "{}".into()),
        }
    });
    let (url, _) = serve(script).await;
    let mut register = get("register", "/register");
    register.flow = Some("onboard".into());
    register.extract = vec![Extraction {
        var: 0,
        from: ExtractFrom::Json("/agent_id".into()),
    }];
    let mut lookup = get("lookup", "");
    lookup.flow = Some("onboard".into());
    let scope_vars = vec![("agent_id".to_string(), 0)];
    let all = vec!["agent_id".to_string()];
    let scope = template::Scope {
        vars: &scope_vars,
        all_vars: &all,
        data: &[],
        env: &|_| None,
    };
    let Action::Http(h) = &mut lookup.action else {
        unreachable!()
    };
    h.url = Template::parse("/agents/{{ agent_id }}", &scope).unwrap();
    let mut p = plan(
        &url,
        LoadModel::Closed {
            think_time: Duration::ZERO,
        },
        Profile::constant(2.0, Duration::from_millis(800)),
        vec![register, lookup],
    );
    p.variables = vec!["agent_id".into()];
    p.mix = vec![MixItem {
        weight: 1,
        run: MixRun::Flow {
            name: "onboard".into(),
            steps: vec![0, 1],
        },
    }];
    let r = tokio::task::spawn_blocking(move || run(p, 1))
        .await
        .unwrap();
    assert_eq!(r.totals.errors, 0, "{:?}", r.error_samples);
    let lookups = r.endpoint("lookup").unwrap().requests;
    assert!(lookups > 10);
    // Every lookup used an id that an earlier register step returned.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len() as u64, lookups);
    assert!(
        seen.iter().all(|p| p.starts_with("/agents/ag-")),
        "{:?}",
        &seen[..3]
    );
}

/// An axum WebSocket server: `/echo` echoes, `/push` sends a message every 50 ms.
async fn ws_server() -> String {
    use axum::extract::ws::{Message, WebSocketUpgrade};
    use axum::routing::get as route;
    let app = axum::Router::new()
        .route(
            "/echo",
            route(|ws: WebSocketUpgrade| async {
                ws.on_upgrade(|mut socket| async move {
                    while let Some(Ok(msg)) = socket.recv().await {
                        if matches!(msg, Message::Text(_) | Message::Binary(_))
                            && socket.send(msg).await.is_err()
                        {
                            break;
                        }
                    }
                })
            }),
        )
        .route(
            "/push",
            route(|ws: WebSocketUpgrade| async {
                ws.on_upgrade(|mut socket| async move {
                    loop {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        if socket.send(Message::Text("status".into())).await.is_err() {
                            break;
                        }
                    }
                })
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn websocket_round_trips_and_held_streams_are_recorded() {
    let url = ws_server().await;
    let mut echo = get("echo", "");
    echo.action = Action::WsMessage(WsMessage {
        path: Template::literal("/echo"),
        message: Template::literal("ping"),
        binary: false,
        reply_contains: Some("ping".into()),
    });
    let mut status = get("status", "");
    status.action = Action::WsHold(WsHold {
        path: Template::literal("/push"),
    });
    let mut p = plan(
        &url,
        LoadModel::Closed {
            think_time: Duration::ZERO,
        },
        Profile::constant(2.0, Duration::from_millis(1500)),
        vec![echo, status],
    );
    p.mix = vec![MixItem {
        weight: 1,
        run: MixRun::Request(0),
    }];
    p.streams = vec![Stream {
        request: 1,
        connections: 20,
    }];
    let r = tokio::task::spawn_blocking(move || run(p, 1))
        .await
        .unwrap();
    let echo = r.endpoint("echo").unwrap();
    assert!(echo.requests > 100, "{}", echo.requests);
    assert_eq!(echo.errors, 0, "{:?}", r.error_samples);
    let status = r.endpoint("status").unwrap();
    // 20 connections × ~30 messages each in 1.5 s, none disconnected.
    assert!(
        status.requests > 400 && status.requests <= 20 * 31,
        "{}",
        status.requests
    );
    assert_eq!(status.errors, 0, "{:?}", r.error_samples);
    // The gap between pushed messages is the 50 ms period.
    assert!(
        (status.latency_ms.p50 - 50.0).abs() < 10.0,
        "{}",
        status.latency_ms.p50
    );
}
