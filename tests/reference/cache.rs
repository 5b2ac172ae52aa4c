//! Cache API: set/get/delete, hit and miss counting, eviction by entries and by bytes, TTL
//! expiry and tag invalidation.

use std::time::Duration;

use serde_json::json;

use super::support::{Server, config, eventually};

#[tokio::test]
async fn set_get_delete_and_stats() {
    let server = Server::start(config()).await;
    let value = json!({"user": 7, "roles": ["a", "b"], "ratio": 0.5});
    let created = server
        .post("/api/v1/cache/set", json!({"key": "u:7", "value": value}))
        .await;
    assert_eq!(created.status, 201);
    let replaced = server
        .post("/api/v1/cache/set", json!({"key": "u:7", "value": value}))
        .await;
    assert_eq!(replaced.status, 200);

    let hit = server.get("/api/v1/cache/get/u:7").await;
    assert_eq!(hit.status, 200);
    assert_eq!(hit.content_type, "application/json");
    assert_eq!(hit.json(), json!({"key": "u:7", "value": value}));
    let miss = server.get("/api/v1/cache/get/u:8").await;
    assert_eq!(miss.status, 404);
    assert!(miss.json()["error"].is_string());

    let stats = server.get("/api/v1/cache/stats").await.json();
    assert_eq!(stats["hits"], 1);
    assert_eq!(stats["misses"], 1);
    assert_eq!(stats["hit_ratio"], 0.5);
    assert!(stats["bytes"].as_u64().unwrap() > 0);

    assert_eq!(server.delete("/api/v1/cache/delete/u:7").await.status, 200);
    assert_eq!(server.delete("/api/v1/cache/delete/u:7").await.status, 404);
    assert_eq!(server.get("/api/v1/cache/get/u:7").await.status, 404);
    let stats = server.post_empty("/api/v1/cache/optimize").await.json();
    assert_eq!(stats["entries"], 0);
    assert_eq!(stats["bytes"], 0);
    server.stop().await;
}

#[tokio::test]
async fn evicts_beyond_the_entry_bound() {
    let mut cfg = config();
    cfg.cache_entries = 20;
    let server = Server::start(cfg).await;
    let mut client = server.client().await;
    for i in 0..200 {
        let body = json!({"key": format!("k{i}"), "value": i});
        let reply = client.send("POST", "/api/v1/cache/set", Some(body)).await;
        assert!(reply.status == 201 || reply.status == 200);
    }
    let stats = client
        .send("POST", "/api/v1/cache/optimize", None)
        .await
        .json();
    let entries = stats["entries"].as_u64().unwrap();
    assert!(entries <= 20 && entries > 0, "{stats}");
    assert!(stats["evictions"].as_u64().unwrap() >= 180, "{stats}");
    server.stop().await;
}

#[tokio::test]
async fn evicts_beyond_the_byte_bound() {
    let mut cfg = config();
    cfg.cache_bytes = 10_000;
    let server = Server::start(cfg).await;
    let mut client = server.client().await;
    let blob = "x".repeat(1000);
    for i in 0..50 {
        let body = json!({"key": format!("b{i}"), "value": blob});
        client.send("POST", "/api/v1/cache/set", Some(body)).await;
    }
    let stats = client
        .send("POST", "/api/v1/cache/optimize", None)
        .await
        .json();
    assert!(stats["bytes"].as_u64().unwrap() <= 10_000, "{stats}");
    assert!(stats["entries"].as_u64().unwrap() <= 10, "{stats}");
    assert!(stats["evictions"].as_u64().unwrap() >= 40, "{stats}");
    server.stop().await;
}

#[tokio::test]
async fn entries_expire_after_their_ttl() {
    let server = Server::start(config()).await;
    server
        .post(
            "/api/v1/cache/set",
            json!({"key": "short", "value": 1, "ttl_s": 0.15}),
        )
        .await;
    server
        .post("/api/v1/cache/set", json!({"key": "long", "value": 2}))
        .await;
    assert_eq!(server.get("/api/v1/cache/get/short").await.status, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    eventually("short to expire", || async {
        server.get("/api/v1/cache/get/short").await.status == 404
    })
    .await;
    assert_eq!(server.get("/api/v1/cache/get/long").await.status, 200);
    let bad = server
        .post(
            "/api/v1/cache/set",
            json!({"key": "k", "value": 1, "ttl_s": -1}),
        )
        .await;
    assert_eq!(bad.status, 422);
    server.stop().await;
}

#[tokio::test]
async fn invalidation_by_tag() {
    let server = Server::start(config()).await;
    for (key, tags) in [
        ("p1", json!(["product", "eu"])),
        ("p2", json!(["product"])),
        ("u1", json!(["user", "eu"])),
        ("u2", json!(["user"])),
    ] {
        server
            .post(
                "/api/v1/cache/set",
                json!({"key": key, "value": key, "tags": tags}),
            )
            .await;
    }
    // u2 is rewritten without tags: the old tag must not remove it.
    server
        .post("/api/v1/cache/set", json!({"key": "u2", "value": "new"}))
        .await;
    let user = server
        .post("/api/v1/cache/invalidate", json!({"tags": ["user"]}))
        .await;
    assert_eq!(user.status, 200);
    assert_eq!(user.json()["invalidated"], 1);
    assert_eq!(server.get("/api/v1/cache/get/u1").await.status, 404);
    assert_eq!(server.get("/api/v1/cache/get/u2").await.status, 200);

    let eu = server
        .post(
            "/api/v1/cache/invalidate",
            json!({"tags": ["eu", "product"]}),
        )
        .await;
    assert_eq!(eu.json()["invalidated"], 2);
    assert_eq!(server.get("/api/v1/cache/get/p1").await.status, 404);
    assert_eq!(server.get("/api/v1/cache/get/p2").await.status, 404);
    let none = server
        .post("/api/v1/cache/invalidate", json!({"tags": ["eu"]}))
        .await;
    assert_eq!(none.json()["invalidated"], 0);
    server.stop().await;
}
