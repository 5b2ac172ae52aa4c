//! Supervisor API: listing, state machine transitions, conflicts and the health aggregate.

use std::time::Duration;

use serde_json::json;

use super::support::{Server, config, eventually};

async fn state_of(server: &Server, name: &str) -> String {
    let reply = server.get(&format!("/api/services/{name}")).await;
    assert_eq!(reply.status, 200);
    reply.json()["state"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn lists_services_all_running_at_boot() {
    let server = Server::start(config()).await;
    let reply = server.get("/api/services").await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    let services = body["services"].as_array().unwrap();
    assert_eq!(services.len(), 5);
    assert_eq!(services[0]["name"], "svc-000");
    assert_eq!(services[4]["name"], "svc-004");
    assert!(services.iter().all(|s| s["state"] == "running"));

    let missing = server.get("/api/services/svc-999").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.json()["error"]
            .as_str()
            .unwrap()
            .contains("svc-999")
    );
    assert_eq!(server.get("/api/services/nope").await.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn stop_and_start_walk_the_state_machine() {
    let server = Server::start(config()).await;
    let stop = server.post_empty("/api/services/svc-001/stop").await;
    assert_eq!(stop.status, 202);
    assert_eq!(stop.json(), json!({"name": "svc-001", "state": "stopping"}));
    // Not allowed while stopping.
    let again = server.post_empty("/api/services/svc-001/start").await;
    assert_eq!(again.status, 409);
    assert!(again.json()["error"].is_string());

    eventually("svc-001 stopped", || async {
        state_of(&server, "svc-001").await == "stopped"
    })
    .await;
    assert_eq!(
        server.post_empty("/api/services/svc-001/stop").await.status,
        409
    );

    let start = server.post_empty("/api/services/svc-001/start").await;
    assert_eq!(start.status, 202);
    assert_eq!(start.json()["state"], "starting");
    assert_eq!(
        server
            .post_empty("/api/services/svc-001/start")
            .await
            .status,
        409
    );
    eventually("svc-001 running", || async {
        state_of(&server, "svc-001").await == "running"
    })
    .await;

    assert_eq!(
        server
            .post_empty("/api/services/svc-001/explode")
            .await
            .status,
        404
    );
    assert_eq!(
        server
            .post_empty("/api/services/svc-777/start")
            .await
            .status,
        404
    );
    server.stop().await;
}

#[tokio::test]
async fn restart_goes_through_stopping_and_starting() {
    let mut cfg = config();
    cfg.service_start_time = Duration::from_millis(100);
    let server = Server::start(cfg).await;
    let restart = server.post_empty("/api/services/svc-002/restart").await;
    assert_eq!(restart.status, 202);
    assert_eq!(restart.json()["state"], "stopping");
    eventually("svc-002 starting", || async {
        state_of(&server, "svc-002").await == "starting"
    })
    .await;
    eventually("svc-002 running", || async {
        state_of(&server, "svc-002").await == "running"
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn health_aggregates_every_service() {
    let mut cfg = config();
    cfg.services = 200;
    cfg.service_start_time = Duration::from_millis(300);
    let server = Server::start(cfg).await;
    let healthy = server.get("/api/health").await.json();
    assert_eq!(healthy["status"], "healthy");
    assert_eq!(healthy["checked"], 200);
    assert_eq!(healthy["services"]["running"], 200);
    assert!(healthy["took_ms"].as_f64().unwrap() >= 0.0);

    server.post_empty("/api/services/svc-010/stop").await;
    server.post_empty("/api/services/svc-020/stop").await;
    let degraded = server.get("/api/health").await.json();
    assert_eq!(degraded["status"], "degraded");
    assert_eq!(degraded["services"]["running"], 198);
    assert_eq!(degraded["services"]["stopping"], 2);
    eventually("both stopped", || async {
        server.get("/api/health").await.json()["services"]["stopped"] == 2
    })
    .await;
    server.stop().await;
}
