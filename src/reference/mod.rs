//! The reference target server behind `nexus-bench serve`: a side room that depends on nothing
//! else in the crate.
//!
//! It serves three small but real APIs that scenarios can load-test without anything else
//! running: a process [`supervisor`] (simulated services with a start/stop state machine and a
//! WebSocket event stream), an agent [`mesh`] (discovery, least-loaded task assignment,
//! messaging and delta state sync) and a bounded [`cache`] (moka, TTL, tags). Around them sit
//! the operational routes (`/healthz`, `/metrics`, `/debug/pprof/profile`,
//! `/debug/pprof/heap`) and one fault layer
//! ([`faults`]) that injects latency, errors, stalls and slowdowns into the API routes only.
//! The same application is served over plain HTTP ([`serve`]) or HTTPS ([`serve_tls`], with
//! the identity and mTLS settings of [`tls`]).

mod burn;
mod cache;
mod error;
mod faults;
mod heap;
mod leak;
mod mesh;
mod ops;
mod profile;
mod supervisor;
pub mod tls;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::sync::watch;

pub use burn::{BurnCpu, BurnCpuError, nexus_fault_burn_cpu};
pub use error::ApiError;
pub use heap::{HeapProfilingError, activate_heap_profiling, heap_profiling_possible};
pub use leak::{Leak, LeakError, nexus_fault_leak};
pub use tls::{Identity, ServerTls, TlsError, TlsOptions};

/// Which APIs the server exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Apis {
    /// `/api/services`, `/api/health`, `/ws`.
    pub supervisor: bool,
    /// `/api/agents`, `/api/tasks`, `/api/messages`, `/api/state`, `/api/mesh/ws`.
    pub mesh: bool,
    /// `/api/v1/cache/*`.
    pub cache: bool,
}

impl Apis {
    /// Every API.
    pub const ALL: Apis = Apis {
        supervisor: true,
        mesh: true,
        cache: true,
    };
}

/// Faults injected into the API routes (never into `/healthz`, `/metrics` or pprof).
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Added latency before the handler, drawn uniformly from the range; fixed = `(d, d)`.
    pub latency: Option<(Duration, Duration)>,
    /// Fraction (0..=1) of requests answered `500` with a JSON error instead of being handled.
    pub error_rate: f64,
    /// `(every, for)`: every `every` since start, all requests wait until a window of `for`
    /// has passed.
    pub stall: Option<(Duration, Duration)>,
    /// Multiplies the handler's measured time (`1.0` = no slowdown).
    pub slowdown: f64,
    /// Requests to one route burn CPU in a named function first (`--burn-cpu`).
    pub burn_cpu: Option<BurnCpu>,
    /// Requests (to one route prefix, or all) leak memory that is never freed (`--leak`).
    pub leak: Option<Leak>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency: None,
            error_rate: 0.0,
            stall: None,
            slowdown: 1.0,
            burn_cpu: None,
            leak: None,
        }
    }
}

impl Faults {
    /// Whether any fault is configured (the fault layer is skipped entirely otherwise).
    pub fn any(&self) -> bool {
        self.latency.is_some()
            || self.error_rate > 0.0
            || self.stall.is_some()
            || self.slowdown > 1.0
            || self.burn_cpu.is_some()
            || self.leak.is_some()
    }
}

/// Everything the server needs to know.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Which APIs to serve.
    pub apis: Apis,
    /// Number of simulated services (`svc-000`, `svc-001`, …).
    pub services: usize,
    /// How long a simulated service takes to start or to stop.
    pub service_start_time: Duration,
    /// Cache capacity in entries.
    pub cache_entries: u64,
    /// Cache capacity in bytes of keys and values.
    pub cache_bytes: u64,
    /// Injected faults.
    pub faults: Faults,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            apis: Apis::ALL,
            services: 50,
            service_start_time: Duration::from_millis(200),
            cache_entries: 100_000,
            cache_bytes: 64_000_000,
            faults: Faults::default(),
        }
    }
}

/// Connections the listener queues before they are accepted. The standard library's (and
/// mio's) 128 overflows when a thousand WebSocket clients connect at once: the kernel then
/// drops their handshakes and each dropped client (or HTTP request caught in the burst) waits
/// for a one-second retransmission. The kernel caps this at `net.core.somaxconn`.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds a listener on the first address `addr` resolves to that accepts, with a
/// [`LISTEN_BACKLOG`]-deep accept queue.
pub async fn bind(
    addr: impl tokio::net::ToSocketAddrs,
) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket
            .bind(addr)
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    }))
}

/// Builds the whole application. The router can be built many times in one process (the
/// Prometheus recorder is installed once and shared).
pub fn router(config: ServeConfig) -> Router {
    build(config, watch::channel(false).1)
}

/// Serves `config` on `listener` until `shutdown` resolves, then drains gracefully: open
/// WebSocket streams are closed and in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(listener, config, shutdown).await
}

/// [`serve`] over HTTPS: every connection is a completed TLS handshake with `tls` (ALPN `h2`
/// or `http/1.1`; mTLS when `tls` requires client certificates), then the same application.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    config: ServeConfig,
    tls: &tls::ServerTls,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(tls::TlsListener::new(listener, tls)?, config, shutdown).await
}

async fn serve_on<L>(
    listener: L,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let (closing_tx, closing_rx) = watch::channel(false);
    let app = build(config, closing_rx);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Long-lived WebSocket tasks watch this and close their sockets, so the drain ends.
            let _ = closing_tx.send(true);
        })
        .await
}

/// Resolves once the server starts shutting down; never, if it cannot (as for [`router`]).
pub(crate) async fn closed(closing: &mut watch::Receiver<bool>) {
    if closing.wait_for(|&c| c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn build(config: ServeConfig, closing: watch::Receiver<bool>) -> Router {
    let mut api = Router::new();
    if config.apis.supervisor {
        api = api.merge(supervisor::routes(
            config.services,
            config.service_start_time,
            closing.clone(),
        ));
    }
    if config.apis.mesh {
        api = api.merge(mesh::routes(closing.clone()));
    }
    if config.apis.cache {
        api = api.merge(cache::routes(config.cache_entries, config.cache_bytes));
    }
    if config.faults.any() {
        api = faults::layer(api, config.faults.clone());
    }
    let handle = ops::prometheus();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(move || ops::render_metrics(handle.clone())))
        .route("/debug/pprof/profile", get(profile::handler))
        .route("/debug/pprof/heap", get(heap::handler))
        .merge(api)
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(axum::middleware::from_fn(ops::track))
}
