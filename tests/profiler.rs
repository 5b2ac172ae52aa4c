//! Profiles: the committed real fixture, self-profiling, and fetching over loopback HTTP.

#[path = "profiler/diff.rs"]
mod diff;
#[path = "profiler/go.rs"]
mod go;
#[path = "profiler/samples.rs"]
mod samples;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::get;
use nexus_bench::plan::DEFAULT_PROFILE_PATH;
use nexus_bench::profiler::{
    ProfileError, SelfProfiler, decode_pprof, fetch_profile, flamegraph_svg, folded_stacks,
    top_functions,
};

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/profiles/sample.pb.gz")
}

fn fixture() -> Vec<u8> {
    std::fs::read(fixture_path()).expect("fixtures/profiles/sample.pb.gz is committed")
}

/// Deliberately slow recursion, so the profile has deep, recursive, named stacks.
#[inline(never)]
fn fib_recursive(n: u64) -> u64 {
    if n < 2 {
        return black_box(n);
    }
    black_box(fib_recursive(n - 1)) + black_box(fib_recursive(n - 2))
}

/// Keeps the CPU busy for `time` and returns a value the optimiser cannot drop.
fn burn(time: Duration) -> u64 {
    let end = Instant::now() + time;
    let mut acc = 0;
    while Instant::now() < end {
        acc += fib_recursive(black_box(20));
    }
    acc
}

/// Regenerates the fixture: `cargo test --test tests -- --ignored generate_fixture`.
#[test]
#[ignore = "writes fixtures/profiles/sample.pb.gz; run by hand"]
fn generate_fixture() {
    let _one = crate::shared::PROFILER.blocking_lock();
    let profiler = SelfProfiler::start(199).unwrap();
    black_box(burn(Duration::from_secs(1)));
    let (bytes, profile) = profiler.finish().unwrap();
    assert!(!profile.sample.is_empty());
    std::fs::create_dir_all(fixture_path().parent().unwrap()).unwrap();
    std::fs::write(fixture_path(), bytes).unwrap();
}

#[test]
fn fixture_decodes_and_renders() {
    let profile = decode_pprof(&fixture()).unwrap();
    assert!(!profile.sample.is_empty());
    let folded = folded_stacks(&profile);
    assert!(
        folded.iter().any(|l| l.contains("fib_recursive;")),
        "{folded:?}"
    );
    assert!(
        folded
            .iter()
            .all(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().is_ok())
    );

    // Short names for the graph and tables; the profile itself keeps the full ones.
    assert!(
        profile
            .string_table
            .iter()
            .any(|s| s.contains("AssertUnwindSafe<")),
        "the fixture holds full generic names"
    );
    assert!(
        folded.iter().all(|l| !l.contains("AssertUnwindSafe<")),
        "{folded:?}"
    );
    assert!(
        folded
            .iter()
            .any(|l| l.contains("<AssertUnwindSafe as FnOnce>::call_once"))
    );

    let svg = flamegraph_svg(&profile, "sample profile").unwrap();
    assert!(svg.contains("<svg"));
    assert!(svg.contains("fib_recursive"));
    assert!(svg.contains("sample profile"));
    assert!(
        svg.contains("<script"),
        "interactive: inferno's own script is embedded"
    );
}

#[test]
fn fixture_top_functions_are_sensible() {
    let profile = decode_pprof(&fixture()).unwrap();
    let all = top_functions(&profile, usize::MAX);
    assert!(all.len() > 3);
    let self_sum: f64 = all.iter().map(|f| f.self_pct).sum();
    assert!(self_sum <= 100.0 + 1e-6, "self adds up to {self_sum}");
    assert!(self_sum > 99.0, "every sample has a leaf: {self_sum}");
    for f in &all {
        assert!(f.total_samples >= f.self_samples, "{f:?}");
        assert!(f.total_pct <= 100.0 + 1e-6, "{f:?}");
    }
    assert!(
        all.windows(2)
            .all(|w| w[0].self_samples >= w[1].self_samples)
    );
    // The run was all fib_recursive; recursion must not push its total past 100%.
    let fib = all
        .iter()
        .find(|f| f.name.contains("fib_recursive"))
        .unwrap();
    assert!(fib.total_pct > 50.0, "{fib:?}");
    assert_eq!(top_functions(&profile, 5).len(), 5);
}

#[test]
fn self_profiler_round_trip() {
    let _one = crate::shared::PROFILER.blocking_lock();
    let profiler = SelfProfiler::start(199).unwrap();
    black_box(burn(Duration::from_millis(500)));
    let (bytes, profile) = profiler.finish().unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzipped");
    let decoded = decode_pprof(&bytes).unwrap();
    assert_eq!(decoded, profile);
    assert!(!decoded.sample.is_empty());
    let samples: u64 = top_functions(&decoded, usize::MAX)
        .iter()
        .map(|f| f.self_samples)
        .sum();
    // 0.5 s at 199 Hz is ~100 samples of CPU time; the machine is shared, so ask for a few.
    assert!(samples >= 5, "{samples} samples");
    assert!(
        folded_stacks(&decoded)
            .iter()
            .any(|l| l.contains("fib_recursive"))
    );
}

/// Serves the fixture at the default path (only with `seconds=1`) and a failing route.
async fn serve_profiles() -> (String, tokio::sync::oneshot::Sender<()>) {
    #[derive(serde::Deserialize)]
    struct Params {
        seconds: u64,
    }
    let app = Router::new()
        .route(
            DEFAULT_PROFILE_PATH,
            get(|Query(p): Query<Params>| async move {
                if p.seconds == 1 {
                    Ok(fixture())
                } else {
                    Err((StatusCode::BAD_REQUEST, "want seconds=1"))
                }
            }),
        )
        .route(
            "/broken",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "profiler is busy") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (base, stop)
}

#[tokio::test]
async fn fetch_profile_over_http() {
    let (base, stop) = serve_profiles().await;
    let bytes = fetch_profile(&base, DEFAULT_PROFILE_PATH, 1).await.unwrap();
    assert_eq!(bytes, fixture());
    assert!(!decode_pprof(&bytes).unwrap().sample.is_empty());

    let err = fetch_profile(&format!("{base}/"), "/broken", 1)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProfileError::Status { status: 500, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("500") && text.contains("profiler is busy"),
        "{text}"
    );
    let _ = stop.send(());
}

#[tokio::test]
async fn fetch_profile_refuses_what_it_cannot_reach() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let err = fetch_profile(&base, DEFAULT_PROFILE_PATH, 1)
        .await
        .unwrap_err();
    assert!(matches!(err, ProfileError::Fetch { .. }), "{err:?}");
    // https:// is fetched (with the run's TLS settings): a closed port is a fetch error.
    let err = fetch_profile("https://127.0.0.1:1", "/p", 1)
        .await
        .unwrap_err();
    assert!(matches!(err, ProfileError::Fetch { .. }), "{err:?}");
    let err = fetch_profile("ftp://127.0.0.1:1", "/p", 1)
        .await
        .unwrap_err();
    assert!(matches!(err, ProfileError::BadUrl { .. }), "{err:?}");
}
