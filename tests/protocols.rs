//! Protocol options through the real CLI against servers started in the test.

use std::process::Command;

use nexus_bench::result;

/// HTTP/2 with prior knowledge: every request arrives as HTTP/2 (the server echoes the
/// version it saw, and the scenario expects it in the body).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn http2_scenarios_speak_http2() {
    let app = axum::Router::new().route(
        "/version",
        axum::routing::get(
            |req: axum::extract::Request| async move { format!("{:?}", req.version()) },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let out = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_nexus-bench");
    let output = tokio::task::spawn_blocking({
        let out = out.path().to_path_buf();
        move || {
            Command::new(bin)
                .args([
                    "run",
                    "fixtures/scenarios/e2e/http2.toml",
                    "--quiet",
                    "--no-html",
                    "--target",
                    &url,
                    "--out",
                ])
                .arg(out)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run = std::fs::read_dir(out.path().join("http2"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let r = result::load(&run).unwrap();
    assert_eq!(r.load.protocol, "http2");
    let e = r.endpoint("version").unwrap();
    assert!(e.requests > 50, "{}", e.requests);
    assert_eq!(e.errors, 0, "{:?}", r.error_samples);
}
