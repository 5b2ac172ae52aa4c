//! The validated plan: what the engine runs, built once from a scenario file by
//! [`crate::scenario`] and immutable afterwards.
//!
//! Everything here is already checked and compiled (templates, regexes, status ranges, SLO
//! limits in canonical units), so nothing downstream re-validates and nothing on the hot path
//! parses text.

pub mod escape;
mod profile;
mod slo;
mod split;
pub mod template;
pub mod tls;

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, Method};
use regex::Regex;

pub use profile::{Profile, Stage};
pub use slo::{Metric, Op, Slo, Stat, Unit};
pub use split::{Arrivals, Split, SplitError, arrivals_before};
pub use template::{Template, VarId};

/// Index of a request (a standalone request or one step of a flow) in [`Plan::requests`].
/// Every request has its own metrics key, its `name`.
pub type RequestId = usize;

/// A validated, runnable scenario.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Scenario name: the result folder's name and the key baselines are matched on.
    pub name: String,
    /// Free text shown in reports.
    pub description: String,
    /// Where the plan came from.
    pub source: Source,
    /// Where the load goes.
    pub target: Target,
    /// How much load, and how it changes over time.
    pub load: Load,
    /// Every distinct request, standalone or flow step, in file order.
    pub requests: Vec<RequestSpec>,
    /// The weighted mix a user (closed model) or an arrival (open model) draws from.
    pub mix: Vec<MixItem>,
    /// Names of the variables that `extract` fills, indexed by [`VarId`].
    pub variables: Vec<String>,
    /// CSV data sets that templates read rows from.
    pub data: Vec<DataSet>,
    /// Held WebSocket connections, opened for the whole run beside the load model.
    pub streams: Vec<Stream>,
    /// The objectives the run is judged by.
    pub slos: Vec<Slo>,
    /// Warn that nothing is gated when there are no SLOs (`[slo] default = false` clears it).
    pub warn_not_gated: bool,
    /// Responses larger than this are cut off and counted as `body_too_large`.
    pub max_body_bytes: usize,
    /// How to start the target, when nexus-bench launches it (`[target] command`).
    pub launch: Option<LaunchConfig>,
    /// Values read from the target before, during and after the run.
    pub probes: Vec<Probe>,
    /// Fetch the target's CPU profile during the run.
    pub target_profile: Option<TargetProfile>,
    /// Fetch the target's heap profile at the start and at the end of the steady state.
    pub heap_profile: Option<HeapProfile>,
    /// The scenario's regression-gate parameters (`[baseline]`); unset ones use defaults.
    pub gate: GateSettings,
    /// Which share of the load this process runs (`run --instance`; not from the file).
    pub split: Split,
    /// How this run is identified and started (`run --run-id`, `--start-at`; not from the
    /// file).
    pub identity: RunIdentity,
}

/// What identifies one run across the instances that share its load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunIdentity {
    /// `--run-id`; when unset, the result derives one from the scenario's hash and the start.
    pub run_id: Option<String>,
    /// `--start-at`, in Unix milliseconds: the agreed start of every instance's clock.
    pub start_at_unix_ms: Option<i64>,
}

/// Regression-gate parameters from the scenario file; command-line flags override them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GateSettings {
    /// Gated metric keys (`p50`, `p90`, `p99`, `throughput`, `error_rate`), if set.
    pub metrics: Option<Vec<String>>,
    /// Largest tolerated regression, as a ratio.
    pub max_regression: Option<f64>,
    /// Noise band, as a ratio.
    pub noise: Option<f64>,
    /// Significance level.
    pub significance: Option<f64>,
}

/// A target process nexus-bench starts, watches (time to ready, RSS, CPU) and stops.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchConfig {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Working directory (relative paths are relative to the scenario's folder).
    pub cwd: Option<PathBuf>,
    /// URL (or path joined to the base URL) polled until it answers 2xx.
    pub ready: String,
    /// How long the target may take to become ready.
    pub startup_timeout: Duration,
}

/// A server-side value read by HTTP GET.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Name: the SLO key is `probe.<name>`.
    pub name: String,
    /// A path (joined to the base URL) or an absolute `http://` URL.
    pub url: String,
    /// How to read the number from the response.
    pub read: ProbeRead,
    /// Interval between readings during the run.
    pub interval: Duration,
}

/// How a probe reads its number.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeRead {
    /// A JSON pointer to a number in the body (`/hit_ratio`).
    Json(String),
    /// A sample of a Prometheus text-format metric, matched by name and labels.
    Prometheus {
        /// Metric name.
        metric: String,
        /// Labels that must match exactly.
        labels: Vec<(String, String)>,
    },
}

/// Where Go's `net/http/pprof` and most pprof-rs integrations serve a CPU profile: the
/// default of [`TargetProfile::path`].
pub const DEFAULT_PROFILE_PATH: &str = "/debug/pprof/profile";

/// Fetching the target's CPU profile (Go `net/http/pprof` convention).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetProfile {
    /// Path of the profile endpoint, [`DEFAULT_PROFILE_PATH`] by default.
    pub path: String,
    /// Profile window in seconds (`?seconds=N`), taken in the steady state after the warm-up.
    pub seconds: u64,
}

/// Where Go's `net/http/pprof` (and `nexus-bench serve --heap-profiling`) serve the heap
/// profile: the default of [`HeapProfile::path`].
pub const DEFAULT_HEAP_PATH: &str = "/debug/pprof/heap";

/// Fetching the target's heap profile twice, at the start and at the end of the steady state
/// (Go `net/http/pprof` convention: a pprof protobuf with an `inuse_space` sample type).
#[derive(Debug, Clone, PartialEq)]
pub struct HeapProfile {
    /// Path of the heap profile endpoint, [`DEFAULT_HEAP_PATH`] by default.
    pub path: String,
}

/// The scenario file a plan was built from.
#[derive(Debug, Clone)]
pub struct Source {
    /// Path as given on the command line.
    pub file: PathBuf,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// The target service.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL or the embedded reference target.
    pub base: TargetBase,
    /// Headers sent with every request (request headers override them).
    pub headers: Vec<(HeaderName, Template)>,
    /// Speak HTTP/2 (prior knowledge, h2c) instead of HTTP/1.1.
    pub http2: bool,
    /// Time allowed to open a connection (TCP connect and TLS handshake together).
    pub connect_timeout: Duration,
    /// TLS client settings (`https://`, `wss://`), from `[target.tls]`.
    pub tls: tls::TlsSettings,
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetBase {
    /// A real service, e.g. `http://127.0.0.1:8080` (no trailing slash).
    Url(String),
    /// `embedded:<api>`: nexus-bench starts its reference server (`serve --api <api>`) as a
    /// child process and points the run at it. `api` is `supervisor`, `mesh`, `cache` or `all`.
    Embedded {
        /// Which reference API to serve.
        api: String,
        /// Extra arguments for `nexus-bench serve` (fault knobs such as `--slowdown 1.2`).
        args: Vec<String>,
    },
}

/// The load model and its profile over time.
#[derive(Debug, Clone)]
pub struct Load {
    /// Open (arrival rate) or closed (virtual users).
    pub model: LoadModel,
    /// Level over time: requests per second (open) or users (closed). Includes the warm-up.
    pub profile: Profile,
    /// The first part of `profile` that is measured but excluded from summaries and SLOs.
    pub warmup: Duration,
    /// After the profile ends, in-flight requests get this long to finish before they are
    /// cancelled (and counted as such).
    pub drain: Duration,
}

/// The two load models.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadModel {
    /// Arrivals at a scheduled rate, whatever the target's speed. Latency is measured from each
    /// request's intended start (coordinated-omission correct).
    Open {
        /// Arrivals that would exceed this many requests in flight are not sent and are
        /// counted as `dropped`.
        max_in_flight: usize,
    },
    /// A fixed (or ramped) number of virtual users, each with its own connection, each
    /// running iterations back to back.
    Closed {
        /// Pause between a user's iterations.
        think_time: Duration,
    },
}

/// One request: a standalone request or a step of a flow.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// Metrics key, unique in the plan.
    pub name: String,
    /// The flow this request is a step of, if any.
    pub flow: Option<String>,
    /// What to send.
    pub action: Action,
    /// Time allowed from send to the end of the response body.
    pub timeout: Duration,
    /// What a successful response looks like.
    pub expect: Expect,
    /// Values taken from the response into variables for later steps.
    pub extract: Vec<Extraction>,
}

/// What a request does on the wire.
#[derive(Debug, Clone)]
pub enum Action {
    /// An HTTP request.
    Http(HttpRequest),
    /// One WebSocket round trip: send a message on the user's WebSocket (opened on first use
    /// and kept across iterations, like a keep-alive connection) and wait for a reply.
    WsMessage(WsMessage),
    /// A held WebSocket (see [`Stream`]): every message received is recorded, with the gap
    /// since the previous one as its latency; a close before the end of the run is a
    /// `disconnected` error.
    WsHold(WsHold),
}

/// A WebSocket round trip.
#[derive(Debug, Clone)]
pub struct WsMessage {
    /// Path of the WebSocket endpoint (joined to the target's base URL).
    pub path: Template,
    /// The message sent.
    pub message: Template,
    /// Send as a binary message instead of text.
    pub binary: bool,
    /// The reply is the first message received that contains this (any message if `None`).
    pub reply_contains: Option<String>,
}

/// A held WebSocket.
#[derive(Debug, Clone)]
pub struct WsHold {
    /// Path of the WebSocket endpoint.
    pub path: Template,
}

/// Connections held open for the whole run, each counting what it receives.
#[derive(Debug, Clone)]
pub struct Stream {
    /// The request (with [`Action::WsHold`]) whose name the messages are recorded under.
    pub request: RequestId,
    /// How many connections to hold.
    pub connections: u32,
}

/// An HTTP request template.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// A path (joined to the target's base URL) or an absolute `http://` URL.
    pub url: Template,
    /// Extra headers, after the target's defaults.
    pub headers: Vec<(HeaderName, Template)>,
    /// The body.
    pub body: Body,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body.
    Empty,
    /// Text rendered per request, with its content type (`application/json` for JSON tables).
    Template {
        /// The body text.
        text: Template,
        /// `Content-Type` header value, unless the request sets one.
        content_type: Option<String>,
    },
    /// Fixed bytes, read from a file when the plan was built.
    Bytes {
        /// The body.
        bytes: Bytes,
        /// `Content-Type` header value, unless the request sets one.
        content_type: Option<String>,
    },
}

/// Expectations on a response. Any failure is counted as an error of kind
/// `unexpected_status` (status) or `expectation_failed` (body, JSON).
#[derive(Debug, Clone)]
pub struct Expect {
    /// Accepted status codes, as inclusive ranges. Default: `200..=399`.
    pub status: Vec<(u16, u16)>,
    /// Substrings the body must contain.
    pub body_contains: Vec<String>,
    /// JSON pointers and the values they must equal.
    pub json: Vec<(String, serde_json::Value)>,
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            status: vec![(200, 399)],
            body_contains: Vec::new(),
            json: Vec::new(),
        }
    }
}

impl Expect {
    /// Whether the body must be read and kept (not just drained) to check these.
    pub fn needs_body(&self) -> bool {
        !self.body_contains.is_empty() || !self.json.is_empty()
    }

    /// Whether `status` is accepted.
    pub fn status_ok(&self, status: u16) -> bool {
        self.status
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&status))
    }
}

/// A value extracted from a response into a variable.
#[derive(Debug, Clone)]
pub struct Extraction {
    /// The variable filled.
    pub var: VarId,
    /// Where the value comes from.
    pub from: ExtractFrom,
}

/// Sources of extracted values.
#[derive(Debug, Clone)]
pub enum ExtractFrom {
    /// A JSON pointer into the body (`/id`, `/items/0/name`). Strings are taken without quotes.
    Json(String),
    /// A response header.
    Header(HeaderName),
    /// The first capture group (or the whole match) of a regex over the body.
    Regex(Regex),
}

/// One weighted entry of the mix.
#[derive(Debug, Clone)]
pub struct MixItem {
    /// Relative weight (> 0).
    pub weight: u32,
    /// What one iteration runs.
    pub run: MixRun,
}

/// What an iteration runs.
#[derive(Debug, Clone)]
pub enum MixRun {
    /// One request.
    Request(RequestId),
    /// A named flow: steps in order; a failed step ends the iteration.
    Flow {
        /// Flow name.
        name: String,
        /// Steps, in order.
        steps: Vec<RequestId>,
    },
}

/// A CSV data file whose rows templates read (`{{ data.column }}`).
#[derive(Debug, Clone)]
pub struct DataSet {
    /// Path, for messages.
    pub file: PathBuf,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows (each as long as `columns`).
    pub rows: Vec<Vec<String>>,
}
