//! Opens the HTML report in a real headless Chromium, driven over the Chrome DevTools
//! Protocol: no console errors, no network request besides the file itself, the tables show
//! the expected values, hostile strings create no element. Saves a full-page screenshot to
//! `target/test-artifacts/report.png`. Needs `/usr/bin/chromium` (Debian's package).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use nexus_bench::output::{self, OutputOptions, ReportInput, format};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::fixture;

const CHROMIUM: &str = "/usr/bin/chromium";
const STEP: Duration = Duration::from_secs(20);

/// Kills Chromium when dropped, on success and on panic alike.
pub(super) struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_chromium(profile: &Path) -> (Browser, String) {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the browser test needs Debian's Chromium \
         (apt-get install -y chromium)"
    );
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let stderr = child.stderr.take().unwrap();
    let browser = Browser(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Keeps draining stderr after the URL so Chromium never blocks on a full pipe.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("ws://") {
                let _ = tx.send(line[at..].trim().to_string());
            }
        }
    });
    let url = rx
        .recv_timeout(STEP)
        .expect("chromium printed \"DevTools listening on ws://…\" within 20s");
    (browser, url)
}

/// A minimal CDP client on one page session.
pub(super) struct Cdp {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    session: Option<String>,
    events: Vec<Value>,
}

impl Cdp {
    pub(super) async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .unwrap();
        let reply = tokio::time::timeout(STEP, async {
            loop {
                let frame = self.ws.next().await.expect("CDP connection open").unwrap();
                let Ok(text) = frame.to_text() else { continue };
                let v: Value = serde_json::from_str(text).unwrap();
                if v["id"] == json!(id) {
                    return v;
                }
                if v.get("method").is_some() {
                    self.events.push(v);
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no reply to {method} within 20s"));
        assert!(reply.get("error").is_none(), "{method} failed: {reply}");
        reply["result"].clone()
    }

    async fn wait_event(&mut self, method: &str) {
        if self.events.iter().any(|e| e["method"] == method) {
            return;
        }
        tokio::time::timeout(STEP, async {
            loop {
                let frame = self.ws.next().await.expect("CDP connection open").unwrap();
                let Ok(text) = frame.to_text() else { continue };
                let v: Value = serde_json::from_str(text).unwrap();
                let done = v["method"] == method;
                self.events.push(v);
                if done {
                    return;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {method} within 20s"));
    }

    /// Evaluates `expr` in another session (an out-of-process frame attached to the page).
    pub(super) async fn eval_in(&mut self, session: &str, expr: &str) -> Value {
        let page = self.session.replace(session.to_string());
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expr, "returnByValue": true}),
            )
            .await;
        self.session = page;
        r["result"]["value"].clone()
    }

    pub(super) async fn eval(&mut self, expr: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expr, "returnByValue": true}),
            )
            .await;
        r["result"]["value"].clone()
    }

    /// Navigates to `file` and returns the events seen while loading it.
    pub(super) async fn open(&mut self, file: &Path) -> (String, Vec<Value>) {
        self.events.clear();
        let url = format!("file://{}", file.display());
        self.call("Page.navigate", json!({"url": url})).await;
        self.wait_event("Page.loadEventFired").await;
        // Let late console messages arrive.
        self.call("Runtime.evaluate", json!({"expression": "1"}))
            .await;
        (url, std::mem::take(&mut self.events))
    }
}

/// Starts Chromium with its profile in `profile`, opens a blank page and attaches to it with
/// the domains the tests read enabled and out-of-process frames auto-attached, at a
/// 1280 × 900 viewport. Chromium is killed when the returned guard drops.
pub(super) async fn connect(profile: &Path) -> (Browser, Cdp) {
    let (browser, ws_url) = start_chromium(profile);

    let (ws, _) = tokio::time::timeout(STEP, tokio_tungstenite::connect_async(ws_url.as_str()))
        .await
        .expect("DevTools connects within 20s")
        .unwrap();
    let mut cdp = Cdp {
        ws,
        next_id: 0,
        session: None,
        events: Vec::new(),
    };
    let target = cdp
        .call("Target.createTarget", json!({"url": "about:blank"}))
        .await;
    let attached = cdp
        .call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        )
        .await;
    cdp.session = Some(attached["sessionId"].as_str().unwrap().to_string());
    for domain in ["Runtime", "Log", "Network", "Page"] {
        cdp.call(&format!("{domain}.enable"), json!({})).await;
    }
    // Out-of-process frames (the sandboxed flamegraph) become sessions of their own.
    cdp.call(
        "Target.setAutoAttach",
        json!({"autoAttach": true, "waitForDebuggerOnStart": false, "flatten": true}),
    )
    .await;
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
    )
    .await;

    (browser, cdp)
}

fn render(result: &nexus_bench::result::RunResult, dir: &Path) -> PathBuf {
    render_with(result, dir, &[])
}

fn render_with(
    result: &nexus_bench::result::RunResult,
    dir: &Path,
    sections: &[output::Section],
) -> PathBuf {
    let input = ReportInput { result, sections };
    let opts = OutputOptions {
        html: true,
        extra: false,
    };
    for (path, written) in output::write_all(&input, dir, &opts) {
        written.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    dir.join("report.html")
}

pub(super) fn assert_clean_load(url: &str, events: &[Value]) {
    for e in events {
        let m = e["method"].as_str().unwrap_or("");
        let p = &e["params"];
        assert!(m != "Runtime.exceptionThrown", "exception: {p}");
        assert!(
            !(m == "Log.entryAdded" && p["entry"]["level"] == "error"),
            "console error: {p}"
        );
        assert!(
            !(m == "Runtime.consoleAPICalled" && p["type"] == "error"),
            "console.error: {p}"
        );
        if m == "Network.requestWillBeSent" {
            assert_eq!(
                p["request"]["url"],
                json!(url),
                "unexpected network request: {p}"
            );
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn report_renders_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = fixture::sample();
    let report = render(&sample, &tmp.path().join("sample"));
    let hostile_report = render(&fixture::hostile(), &tmp.path().join("hostile"));
    // A result with every observed section and a real, interactive flamegraph beside it.
    let observed_dir = tmp.path().join("observed");
    std::fs::create_dir_all(&observed_dir).unwrap();
    let pprof = std::fs::read(fixture::fixture_path("../profiles/sample.pb.gz")).unwrap();
    let profile = nexus_bench::profiler::decode_pprof(&pprof).unwrap();
    let svg = nexus_bench::profiler::flamegraph_svg(&profile, "target CPU profile").unwrap();
    std::fs::write(observed_dir.join("target-flamegraph.svg"), svg).unwrap();
    let observed = fixture::observed(fixture::sample(), "evictions");
    // A profile-diff section as `run --baseline` adds it: the fixture against itself with
    // its first stack doubled.
    let mut after = profile.clone();
    for v in &mut after.sample[0].value {
        *v *= 2;
    }
    let diff_rows = nexus_bench::profiler::cpu_diff(&profile, 100.0, &after, 100.0, 10).unwrap();
    let diff_svg = nexus_bench::profiler::diff_flamegraph_svg(
        &profile,
        100.0,
        &after,
        100.0,
        "target CPU per request: baseline → this run",
    )
    .unwrap();
    let diff = output::Section {
        id: "profile-diff".into(),
        title: "CPU profile diff".into(),
        html: output::profile_diff::render_html(&diff_rows, Some(&diff_svg), "target-diff.svg"),
        markdown: output::profile_diff::render_markdown(&diff_rows),
        junit: Vec::new(),
    };
    let observed_report = render_with(&observed, &observed_dir, &[diff]);
    let (_browser, mut cdp) = connect(&tmp.path().join("profile")).await;

    let (url, events) = cdp.open(&report).await;
    assert!(
        events
            .iter()
            .any(|e| e["method"] == "Network.requestWillBeSent")
    );
    assert_clean_load(&url, &events);

    let verdict = cdp
        .eval("document.querySelector('#verdict').textContent")
        .await;
    assert!(verdict.as_str().unwrap().starts_with("FAIL"), "{verdict}");
    let slo_text = cdp
        .eval("document.querySelector('#slo-table tbody').textContent")
        .await;
    for s in &sample.slos {
        let text = slo_text.as_str().unwrap();
        assert!(text.contains(&s.key), "{text}");
        assert!(text.contains(&format::slo_observed(s)), "{text}");
        assert!(text.contains(&format::slo_limit(s)), "{text}");
    }
    for (i, e) in sample.endpoints.iter().enumerate() {
        let row = format!("#latency-table tbody tr:nth-child({})", i + 1);
        let name = cdp
            .eval(&format!("document.querySelector('{row} th').textContent"))
            .await;
        assert_eq!(name, json!(e.name));
        let p99 = cdp
            .eval(&format!(
                "document.querySelector('{row} td[data-k=p99]').textContent"
            ))
            .await;
        assert_eq!(p99, json!(format::latency(e.latency_ms.p99)));
        let req = cdp
            .eval(&format!(
                "document.querySelector('#request-table tbody tr:nth-child({}) td').textContent",
                i + 1
            ))
            .await;
        assert_eq!(req, json!(format::count(e.requests)));
    }
    assert_eq!(
        cdp.eval("document.querySelectorAll('figure svg').length")
            .await,
        json!(6)
    );

    let height = cdp
        .eval("document.documentElement.scrollHeight")
        .await
        .as_f64()
        .unwrap();
    let shot = cdp
        .call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1}}),
        )
        .await;
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::write(artifacts.join("report.png"), &png).unwrap();
    assert!(png.starts_with(b"\x89PNG"));

    // Observed sections, and the flamegraph's own script runs in its sandboxed frame: a
    // blocked script would be a console error (a CSP violation).
    let (url, events) = cdp.open(&observed_report).await;
    assert_clean_load(&url, &events);
    for id in [
        "target-process",
        "generator",
        "probes",
        "flamegraphs",
        "generator-banner",
    ] {
        let found = cdp
            .eval(&format!("!!document.getElementById('{id}')"))
            .await;
        assert_eq!(found, json!(true), "#{id} missing");
    }
    let frame = cdp
        .eval("document.querySelector('iframe.flamegraph').getAttribute('sandbox')")
        .await;
    assert_eq!(frame, json!("allow-scripts"));
    let probe = cdp
        .eval("document.querySelector('#probe-table tbody').textContent")
        .await;
    assert!(probe.as_str().unwrap().contains("0.8125"), "{probe}");
    let scripts = cdp.eval("document.querySelectorAll('script').length").await;
    assert_eq!(scripts, json!(0), "the page itself has no script");
    super::browser_flame::flamegraph_is_readable(&mut cdp, &events).await;
    super::browser_flame::diff_flamegraph_renders(&mut cdp, &events).await;

    // The hostile report: markup in the result must stay text.
    let (url, events) = cdp.open(&hostile_report).await;
    assert_clean_load(&url, &events);
    let injected = cdp
        .eval("document.querySelectorAll('script, img, iframe, style:not(head style), b, [onerror], [onload], [onmouseover]').length")
        .await;
    assert_eq!(injected, json!(0));
    let title = cdp.eval("document.querySelector('h1').textContent").await;
    assert_eq!(title, json!("<script>alert('scenario')</script>"));
    let _ = cdp.ws.close(None).await;
}

/// A CDP client attached to a new blank page of the browser at `ws_url`, with page events on.
async fn attach(ws_url: &str) -> Cdp {
    let (ws, _) = tokio::time::timeout(STEP, tokio_tungstenite::connect_async(ws_url))
        .await
        .expect("DevTools connects within 20s")
        .unwrap();
    let mut cdp = Cdp {
        ws,
        next_id: 0,
        session: None,
        events: Vec::new(),
    };
    let target = cdp
        .call("Target.createTarget", json!({"url": "about:blank"}))
        .await;
    let attached = cdp
        .call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        )
        .await;
    cdp.session = Some(attached["sessionId"].as_str().unwrap().to_string());
    for domain in ["Runtime", "Log", "Network", "Page"] {
        cdp.call(&format!("{domain}.enable"), json!({})).await;
    }
    cdp
}

/// The report of a one-hour, 20-name run (coarse series after 10 minutes) loads cleanly and
/// about as fast as a one-minute run's, side by side in one browser (medians of three loads
/// each, alternated); the bound of 3 s holds with room.
#[tokio::test(flavor = "current_thread")]
async fn one_hour_report_loads_like_a_one_minute_one() {
    let tmp = tempfile::tempdir().unwrap();
    let short = render(&fixture::sample(), &tmp.path().join("short"));
    let long = render(
        &super::long_report::one_hour_twenty_names(),
        &tmp.path().join("long"),
    );
    let (_browser, ws_url) = start_chromium(&tmp.path().join("profile"));
    let mut cdp = attach(&ws_url).await;
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..3 {
        for (i, page) in [&short, &long].into_iter().enumerate() {
            let (url, events) = cdp.open(page).await;
            assert_clean_load(&url, &events);
            let ms = cdp
                .eval("performance.getEntriesByType('navigation')[0].duration")
                .await
                .as_f64()
                .expect("a navigation timing");
            assert!(ms > 0.0, "load not finished: {ms}");
            times[i].push(ms);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (one_minute, one_hour) = (median(&mut times[0]), median(&mut times[1]));
    eprintln!("report load: one minute {one_minute:.0} ms, one hour × 20 names {one_hour:.0} ms");
    let svgs = cdp.eval("document.querySelectorAll('svg').length").await;
    assert!(svgs.as_u64() > Some(2), "charts drawn: {svgs}");
    assert!(
        one_hour <= 4.0 * one_minute.max(100.0),
        "one hour {one_hour:.0} ms against one minute {one_minute:.0} ms"
    );
    assert!(one_hour < 3000.0, "{one_hour:.0} ms");
}
