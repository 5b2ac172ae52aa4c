//! Mesh API: registration, discovery by capability, least-loaded assignment, completion,
//! delta state sync and bad bodies.

use serde_json::{Value, json};

use super::support::{Server, config};

async fn register(server: &Server, name: &str, caps: &[&str], capacity: u32) -> String {
    let reply = server
        .post(
            "/api/agents",
            json!({"name": name, "capabilities": caps, "capacity": capacity}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["name"], name);
    body["agent_id"].as_str().unwrap().to_owned()
}

fn ids(body: &Value, list: &str, field: &str) -> Vec<String> {
    let mut ids: Vec<String> = body[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[field].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn discovery_by_capability() {
    let server = Server::start(config()).await;
    let a = register(&server, "a", &["gpu", "ssd"], 2).await;
    let b = register(&server, "b", &["ssd"], 2).await;
    let _c = register(&server, "c", &["cpu"], 2).await;
    let ssd = server.get("/api/agents?capability=ssd").await.json();
    assert_eq!(ids(&ssd, "agents", "agent_id"), {
        let mut v = vec![a.clone(), b];
        v.sort();
        v
    });
    let gpu = server.get("/api/agents?capability=gpu").await.json();
    assert_eq!(ids(&gpu, "agents", "agent_id"), vec![a.clone()]);
    assert_eq!(
        server.get("/api/agents?capability=tpu").await.json()["count"],
        0
    );
    assert_eq!(server.get("/api/agents").await.json()["count"], 3);
    assert_eq!(server.get(&format!("/api/agents/{a}")).await.status, 200);
    assert_eq!(server.get("/api/agents/agent-404").await.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn tasks_go_to_the_least_loaded_agent() {
    let server = Server::start(config()).await;
    let small = register(&server, "small", &["render"], 1).await;
    let big = register(&server, "big", &["render"], 3).await;
    let mut placed = Vec::new();
    for i in 0..4 {
        let reply = server
            .post(
                "/api/tasks",
                json!({"capability": "render", "payload": {"frame": i}}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        placed.push(reply.json());
    }
    let on = |id: &str| placed.iter().filter(|t| t["agent_id"] == id).count();
    assert_eq!(on(&small), 1);
    assert_eq!(on(&big), 3);

    // Everyone is full: 409. Unknown capability: 422.
    let full = server
        .post("/api/tasks", json!({"capability": "render"}))
        .await;
    assert_eq!(full.status, 409);
    assert!(full.json()["error"].as_str().unwrap().contains("capacity"));
    let none = server
        .post("/api/tasks", json!({"capability": "teleport"}))
        .await;
    assert_eq!(none.status, 422);

    let task_id = placed[0]["task_id"].as_str().unwrap();
    let task = server.get(&format!("/api/tasks/{task_id}")).await;
    assert_eq!(task.status, 200);
    assert_eq!(task.json()["payload"], json!({"frame": 0}));
    assert_eq!(task.json()["status"], "assigned");

    let done = server
        .post_empty(&format!("/api/tasks/{task_id}/complete"))
        .await;
    assert_eq!(done.status, 200);
    assert_eq!(done.json()["task"]["status"], "completed");
    // The freed slot takes the next task.
    let next = server
        .post("/api/tasks", json!({"capability": "render"}))
        .await;
    assert_eq!(next.status, 201);
    assert_eq!(next.json()["agent_id"], placed[0]["agent_id"]);

    assert_eq!(server.get("/api/tasks/task-999").await.status, 404);
    assert_eq!(
        server
            .post_empty("/api/tasks/task-999/complete")
            .await
            .status,
        404
    );
    server.stop().await;
}

#[tokio::test]
async fn delta_sync_returns_only_later_changes() {
    let server = Server::start(config()).await;
    let first = register(&server, "first", &["x"], 1).await;
    let v1 = server.get("/api/state").await.json();
    assert_eq!(ids(&v1, "agents", "agent_id"), vec![first.clone()]);
    let since = v1["version"].as_u64().unwrap();

    let second = register(&server, "second", &["y"], 1).await;
    let task = server
        .post("/api/tasks", json!({"capability": "y"}))
        .await
        .json();
    let delta = server
        .get(&format!("/api/state?since={since}"))
        .await
        .json();
    assert_eq!(delta["full"], false);
    assert_eq!(ids(&delta, "agents", "agent_id"), vec![second]);
    assert_eq!(
        ids(&delta, "tasks", "task_id"),
        vec![task["task_id"].as_str().unwrap().to_owned()]
    );
    let now = delta["version"].as_u64().unwrap();
    assert!(now > since);

    let empty = server.get(&format!("/api/state?since={now}")).await.json();
    assert_eq!(empty["agents"].as_array().unwrap().len(), 0);
    assert_eq!(empty["tasks"].as_array().unwrap().len(), 0);
    assert_eq!(empty["version"], now);
    assert_eq!(server.get("/api/state?since=yesterday").await.status, 400);
    server.stop().await;
}

#[tokio::test]
async fn bad_bodies_answer_json_errors() {
    let server = Server::start(config()).await;
    let missing = server.post("/api/agents", json!({"name": "x"})).await;
    assert_eq!(missing.status, 422);
    assert!(missing.json()["error"].is_string());
    let mut client = server.client().await;
    let no_body = client.send("POST", "/api/tasks", None).await;
    assert!(
        no_body.status == 400 || no_body.status == 415,
        "{}",
        no_body.status
    );
    assert!(no_body.json()["error"].is_string());
    let zero = server
        .post(
            "/api/agents",
            json!({"name": "x", "capabilities": [], "capacity": 0}),
        )
        .await;
    assert_eq!(zero.status, 422);
    assert_eq!(
        server.get("/api/nowhere").await.json()["error"],
        "no such route"
    );
    server.stop().await;
}
