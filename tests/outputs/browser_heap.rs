//! What a person sees of the heap profile in the report of a real run: the embedded
//! reference target leaks on one route (`serve --leak`), the scenario asks for its heap
//! profile (`[profile] heap = true`), and the report, opened in headless Chromium, shows the
//! heap section, the leaking function at the top of the growth table and, by name, in the
//! growth flamegraph drawn in its frame. The frame's capture is saved to
//! `target/test-artifacts/heap-growth.png`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::browser::{assert_clean_load, connect};
use super::browser_flame::{capture_painted, frame_session};

/// The leaking function of the reference target (`src/reference/leak.rs`).
const LEAK_FN: &str = "nexus_fault_leak";

/// Runs a short leaking run and returns its folder.
fn leaking_run(dir: &Path) -> PathBuf {
    let scenario = dir.join("leak.toml");
    std::fs::write(
        &scenario,
        r#"name = "heap-leak"
[target]
base_url = "embedded:supervisor"
embedded_args = ["--leak", "/api/health:16KB/request"]

[load]
model = "open"
rate = "100/s"
duration = "5s"
warmup = "1s"

[[requests]]
name = "health"
path = "/api/health"

[profile]
heap = true
"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nexus-bench"))
        .current_dir(dir)
        .args(["run", "leak.toml", "--out", "reports"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nexus-bench run took over 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("heap profile"),
        "no heap warning: {stderr}"
    );
    let report = stderr
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .unwrap_or_else(|| panic!("no report line: {stderr}"));
    dir.join(report.trim()).parent().unwrap().to_path_buf()
}

#[tokio::test(flavor = "current_thread")]
async fn the_heap_growth_names_the_leak_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tokio::task::spawn_blocking({
        let dir = tmp.path().to_path_buf();
        move || leaking_run(&dir)
    })
    .await
    .unwrap();
    for file in [
        "heap-start.pb.gz",
        "heap-end.pb.gz",
        "heap-growth.svg",
        "heap-flamegraph.svg",
    ] {
        assert!(run.join(file).is_file(), "{file} in {}", run.display());
    }

    let (_browser, mut cdp) = connect(&tmp.path().join("profile")).await;
    let (url, events) = cdp.open(&run.join("report.html")).await;
    assert_clean_load(&url, &events);

    // The section is on the page and has a size: a person scrolling finds it.
    let section = cdp
        .eval(
            "(() => { const s = document.getElementById('heap'); if (!s) return null; \
             s.scrollIntoView(); const r = s.getBoundingClientRect(); \
             return {title: s.querySelector('h2').textContent, h: r.height, w: r.width, \
                     frames: s.querySelectorAll('iframe.flamegraph').length}; })()",
        )
        .await;
    assert!(section.is_object(), "no #heap section");
    assert_eq!(section["title"], json!("Heap profile"));
    assert!(section["h"].as_f64().unwrap() > 300.0, "{section}");
    assert!(section["w"].as_f64().unwrap() > 800.0, "{section}");
    assert_eq!(section["frames"], json!(2), "growth and in-use flamegraphs");

    // The table's first row, as rendered text: the leaking function grew most.
    let top = cdp
        .eval(
            "[...document.querySelectorAll('#heap-growth-table tbody tr:first-child td')]\
             .map(td => td.innerText)",
        )
        .await;
    let cells: Vec<&str> = top
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert!(cells[0].contains(LEAK_FN), "top growing site: {cells:?}");
    assert!(cells[3].starts_with('+'), "it grew: {cells:?}");

    // The growth flamegraph draws and names it, readable (not truncated to "..").
    let session = frame_session(&mut cdp, &events, "heap growth").await;
    let mut named = json!(false);
    for _ in 0..50 {
        named = cdp
            .eval_in(
                &session,
                &format!(
                    "[...document.querySelectorAll('#frames text')]\
                     .some(t => t.textContent.includes('{LEAK_FN}'))"
                ),
            )
            .await;
        if named == json!(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        named,
        json!(true),
        "the growth graph shows {LEAK_FN} by name"
    );
    let png = capture_painted(&mut cdp, "#heap iframe.flamegraph", "heap-growth.png").await;
    assert!(png.starts_with(b"\x89PNG"));
    let _ = cdp.call("Browser.close", json!({})).await;
}
