//! Test support: plans built in code, an in-process pipeline (engine → aggregate → result),
//! and small raw-TCP servers on 127.0.0.1:0 with scripted behaviour.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nexus_bench::engine::{self, ResolvedTarget, Shared};
use nexus_bench::plan::*;
use nexus_bench::recorder::{Aggregate, Clock};
use nexus_bench::result::{self, RunMeta, RunResult, RunStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A plain GET request named `name` for `path`.
pub fn get(name: &str, path: &str) -> RequestSpec {
    RequestSpec {
        name: name.into(),
        flow: None,
        action: Action::Http(HttpRequest {
            method: http::Method::GET,
            url: Template::literal(path),
            headers: vec![],
            body: Body::Empty,
        }),
        timeout: Duration::from_secs(5),
        expect: Expect::default(),
        extract: vec![],
    }
}

/// A plan with one mix entry per request.
pub fn plan(
    base_url: &str,
    model: LoadModel,
    profile: Profile,
    requests: Vec<RequestSpec>,
) -> Plan {
    let mix = (0..requests.len())
        .map(|i| MixItem {
            weight: 1,
            run: MixRun::Request(i),
        })
        .collect();
    Plan {
        name: "test".into(),
        description: String::new(),
        source: Source {
            file: "test.toml".into(),
            sha256: "0".repeat(64),
        },
        target: Target {
            base: TargetBase::Url(base_url.into()),
            headers: vec![],
            http2: false,
            connect_timeout: Duration::from_secs(1),
            tls: Default::default(),
        },
        load: Load {
            model,
            profile,
            warmup: Duration::ZERO,
            drain: Duration::from_secs(2),
        },
        requests,
        mix,
        variables: vec![],
        data: vec![],
        streams: vec![],
        slos: vec![],
        warn_not_gated: true,
        max_body_bytes: 1 << 20,
        launch: None,
        probes: vec![],
        target_profile: None,
        heap_profile: None,
        gate: Default::default(),
        split: Default::default(),
        identity: Default::default(),
    }
}

/// Runs `plan` in-process, as `nexus-bench run` does, and returns the result.
pub fn run(plan: Plan, threads: usize) -> RunResult {
    let plan = Arc::new(plan);
    let TargetBase::Url(url) = &plan.target.base else {
        panic!("url target")
    };
    let target = ResolvedTarget::resolve(url, &plan, &[]).unwrap();
    let clock = Clock::start(plan.load.warmup);
    let (tx, rx) = std::sync::mpsc::channel();
    let shared = Arc::new(Shared::new(plan.clone(), target));
    let stop = Arc::new(AtomicBool::new(false));
    let engine = std::thread::spawn(move || engine::run(shared, threads, clock, stop, tx));
    let mut agg = Aggregate::new(plan.requests.len());
    for w in rx {
        agg.add(w);
    }
    let outcome = engine.join().unwrap().unwrap();
    let meta = RunMeta {
        clock,
        measured: outcome
            .schedule_end
            .saturating_duration_since(clock.warmup_end),
        status: RunStatus::Completed,
        threads,
        cancelled: outcome.cancelled,
        warnings: vec![],
        ended: None,
    };
    let mut r = result::build(&plan, &agg, &meta);
    nexus_bench::analysis::slo::apply(&mut r, &plan.slos);
    r
}

/// What a scripted server does for a request path.
pub type Script = Arc<dyn Fn(&str, Duration) -> Reply + Send + Sync>;

/// A scripted reply.
pub enum Reply {
    /// A 200 (or other status) with a body; keep-alive.
    Respond(u16, String),
    /// Wait, then respond.
    Delay(Duration, u16, String),
    /// Close the socket with a TCP reset.
    Reset,
    /// Write bytes that are not HTTP and close.
    Garbage,
    /// Announce and send a body of this many bytes.
    Huge(usize),
}

/// A raw HTTP/1.1 server on 127.0.0.1:0. Returns its base URL and its request counter. The
/// server task ends with the test's runtime.
pub async fn serve(script: Script) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let counter = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (script, counter) = (script.clone(), counter.clone());
            tokio::spawn(async move {
                let _ = connection(sock, script, counter, started).await;
            });
        }
    });
    (url, count)
}

async fn connection(
    mut sock: TcpStream,
    script: Script,
    counter: Arc<AtomicU64>,
    started: Instant,
) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(4096);
    loop {
        // Read one request head (the tests send no request bodies).
        let head_end = loop {
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end);
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        counter.fetch_add(1, Ordering::SeqCst);
        match script(&path, started.elapsed()) {
            Reply::Respond(status, body) => respond(&mut sock, status, &body).await?,
            Reply::Delay(d, status, body) => {
                tokio::time::sleep(d).await;
                respond(&mut sock, status, &body).await?
            }
            Reply::Reset => {
                // A zero linger makes the close a TCP reset; it never blocks (nothing to flush).
                #[allow(deprecated)]
                sock.set_linger(Some(Duration::ZERO))?;
                return Ok(());
            }
            Reply::Garbage => {
                sock.write_all(b"garbage that is not http\r\n\r\n").await?;
                return Ok(());
            }
            Reply::Huge(n) => {
                sock.write_all(
                    format!("HTTP/1.1 200 OK\r\ncontent-length: {n}\r\n\r\n").as_bytes(),
                )
                .await?;
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = n;
                while left > 0 {
                    let k = left.min(chunk.len());
                    if sock.write_all(&chunk[..k]).await.is_err() {
                        return Ok(());
                    }
                    left -= k;
                }
            }
        }
    }
}

async fn respond(sock: &mut TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\ncontent-type: application/json\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).await?;
    sock.write_all(body.as_bytes()).await
}
