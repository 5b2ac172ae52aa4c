//! Fault knobs: error rate, added latency and stalls on API routes, never on `/healthz`.

use std::time::{Duration, Instant};

use super::support::{Server, config};

#[tokio::test]
async fn error_rate_is_close_to_the_setting() {
    let mut cfg = config();
    cfg.faults.error_rate = 0.25;
    let server = Server::start(cfg).await;
    let mut client = server.client().await;
    let n = 2000;
    let mut errors = 0;
    for _ in 0..n {
        let reply = client.send("GET", "/api/v1/cache/stats", None).await;
        match reply.status {
            500 => {
                assert_eq!(reply.json()["error"], "injected fault");
                errors += 1;
            }
            200 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    // σ = sqrt(n·p·(1-p)) ≈ 19.4; ±5σ.
    let measured = f64::from(errors) / f64::from(n);
    assert!(
        (measured - 0.25).abs() < 0.05,
        "measured error rate {measured}"
    );
    for _ in 0..50 {
        assert_eq!(client.send("GET", "/healthz", None).await.status, 200);
    }
    server.stop().await;
}

#[tokio::test]
async fn latency_is_added_to_api_routes_only() {
    let mut cfg = config();
    let delay = Duration::from_millis(40);
    cfg.faults.latency = Some((delay, delay));
    let server = Server::start(cfg).await;
    let mut client = server.client().await;
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(client.send("GET", "/api/services", None).await.status, 200);
        assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    }
    let started = Instant::now();
    assert_eq!(client.send("GET", "/healthz", None).await.status, 200);
    assert!(started.elapsed() < delay, "{:?}", started.elapsed());
    server.stop().await;
}

#[tokio::test]
async fn ranged_latency_stays_in_range() {
    let mut cfg = config();
    let (low, high) = (Duration::from_millis(10), Duration::from_millis(30));
    cfg.faults.latency = Some((low, high));
    let server = Server::start(cfg).await;
    let mut client = server.client().await;
    let mut total = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        client.send("GET", "/api/health", None).await;
        let took = started.elapsed();
        assert!(took >= low, "{took:?}");
        total += took;
    }
    // The mean of a uniform 10..30 ms draw is 20 ms; allow scheduling noise above.
    let mean = total / 20;
    assert!(
        mean >= Duration::from_millis(14) && mean < Duration::from_millis(60),
        "{mean:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn stalls_hold_requests_until_the_window_ends() {
    let mut cfg = config();
    cfg.faults.stall = Some((Duration::from_millis(300), Duration::from_millis(150)));
    let server = Server::start(cfg).await;
    let mut client = server.client().await;
    // Sample for 1.2 s: some requests land in a stall window and wait up to 150 ms, others
    // pass at once.
    let mut slowest = Duration::ZERO;
    let mut fast = 0;
    let end = Instant::now() + Duration::from_millis(1200);
    while Instant::now() < end {
        let started = Instant::now();
        client.send("GET", "/api/health", None).await;
        let took = started.elapsed();
        slowest = slowest.max(took);
        if took < Duration::from_millis(20) {
            fast += 1;
        }
        tokio::time::sleep(Duration::from_millis(37)).await;
    }
    assert!(
        slowest >= Duration::from_millis(30),
        "no request stalled: {slowest:?}"
    );
    assert!(
        slowest <= Duration::from_millis(400),
        "stalled too long: {slowest:?}"
    );
    assert!(fast > 3, "only {fast} requests passed without a stall");
    server.stop().await;
}

#[tokio::test]
async fn slowdown_stretches_the_handler_time() {
    let mut cfg = config();
    // Enough services that one health check takes a measurable time.
    cfg.services = 20_000;
    cfg.faults.slowdown = 3.0;
    let server = Server::start(cfg).await;
    let mut client = server.client().await;
    for _ in 0..3 {
        let started = Instant::now();
        let reply = client.send("GET", "/api/health", None).await;
        let elapsed = started.elapsed();
        let took = Duration::from_secs_f64(reply.json()["took_ms"].as_f64().unwrap() / 1000.0);
        // The handler ran for at least `took`, then the layer slept 2 × the handler time.
        assert!(
            elapsed >= took * 3,
            "elapsed {elapsed:?} vs handler {took:?}"
        );
    }
    server.stop().await;
}
