//! The result file (`result.json`): the contract every later stage reads — reports,
//! SLO checks, baseline comparison and merging of distributed runs.
//!
//! The format is versioned by [`SCHEMA_VERSION`] and described by the committed JSON Schema
//! `schema/result.schema.json` (generated from these types: `nexus-bench schema result`).
//! Field names carry their unit (`_ms`, `_us`, `_per_sec`). Histograms are stored losslessly
//! (HdrHistogram V2, deflate-compressed, base64), so results merge and compare exactly.

mod baseline;
mod build;
mod coarse;
mod connections;
mod frames;
mod histogram;
mod instances;
mod io;
mod merge;
mod thin;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::recorder::ErrorKind;

pub use baseline::{BASELINES_DIR, BASELINES_ENV, baseline_path, load_baseline, save_baseline};
pub use build::{
    RunMeta, build, covered_ms, derived_run_id, head, rfc3339_ms, target_label, timeseries,
};
pub use connections::ConnectionStats;
pub use histogram::{EncodedHistogram, HistogramError};
// The histogram type of result files is the recorder's; re-exported because this module's
// API (`EncodedHistogram::decode`) speaks of it.
pub use crate::recorder::{Hist, MAX_US, new_histogram};
pub use frames::{FrameError, RESULT_FRAME_MARKER, emit_frames, parse_frames};
pub use instances::{InstanceSet, SetError, check_set};
pub use io::{Journal, ResultIoError, journal_path, load, save_atomic, to_json};
pub use merge::{MergeError, MergeInfo, MergedInput, merge};
pub use thin::{thin_machine, thin_readings};

/// Version of the result format. Bump on any change that a reader of an older file could
/// misread; readers refuse versions they do not know.
///
/// History: 1 — the run itself; 2 — adds `target_process`, `generator`, `probes` and
/// `profiles` (version 1 files still load, with those empty); 3 — adds per-request
/// `connections` (connect and TLS handshake phases, protocols), the error kinds
/// `tls_handshake`, `generator_error` and `template_error`, the verdicts `not_gated` and
/// `unjudgeable`, `generator.generator_errors` and `generator.machine` (machine-wide CPU:
/// other work, steal), per-second `length_ms`, the verdict `inconclusive` and, on SLOs, `interval` and
/// `inconclusive` (trend SLOs such as `target.rss.slope`) (versions 1 and 2 still load);
/// 4 — adds `run_id` and `instances` (which share of a distributed run this is, or which
/// instances a merged result holds), `merge` (a merged result's per-machine sections —
/// target process, generator health, probes, profiles — per input, and the instances a
/// partial merge lacks), a time series whose resolution coarsens with the run's length
/// (entries of 10 s after 10 minutes, with per-second counts in `seconds`,
/// `requests_by_second` and `errors_by_second`), the checkpoint journal (`result.journal`)
/// and `generator.rss_trend`, and the target's heap profile: a `profiles` entry of kind `heap`
/// with `heap` (the start snapshot, in-use bytes at both ends, the growth flamegraph and the
/// top growing allocation sites) (versions 1 to 3 still load).
pub const SCHEMA_VERSION: u32 = 4;

/// The warning every output of a run without TLS certificate verification carries.
pub const INSECURE_WARNING: &str = "TLS certificate verification was OFF (--insecure or target.tls.insecure): the target's identity was not checked";

/// One run (or the merge of several runs of the same scenario).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// Format version: [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The program that wrote the file.
    pub tool: Tool,
    /// The scenario run.
    pub scenario: ScenarioInfo,
    /// Where the run was made (one entry per machine for a merged result).
    pub hosts: Vec<HostInfo>,
    /// Start of the run (wall clock, RFC 3339, UTC).
    pub started_at: String,
    /// Start of the run as Unix milliseconds.
    pub start_unix_ms: i64,
    /// The load that was asked for.
    pub load: LoadInfo,
    /// How the run ended.
    pub status: RunStatus,
    /// Measured time after the warm-up, in milliseconds: the denominator of throughputs.
    pub measured_ms: f64,
    /// Totals over the measured period (warm-up excluded).
    pub totals: Totals,
    /// All requests together, measured period only.
    pub overall: EndpointStats,
    /// Per request name (flow steps included), measured period only, in scenario order.
    pub endpoints: Vec<EndpointStats>,
    /// One entry per wall-clock second, warm-up included (and flagged).
    pub timeseries: Vec<Second>,
    /// SLO verdicts.
    pub slos: Vec<SloResult>,
    /// `pass` when every SLO held, `fail` otherwise.
    pub verdict: Verdict,
    /// A few distinct error messages per kind, for diagnosis.
    pub error_samples: Vec<ErrorSample>,
    /// Warnings about the run itself (e.g. the generator fell behind its schedule).
    pub warnings: Vec<String>,
    /// The launched target's process (embedded or `[target] command`): start-up, memory, CPU.
    #[serde(default)]
    pub target_process: Option<TargetProcess>,
    /// The generator's own health: its CPU use and, in the open model, how late requests
    /// started against their schedule.
    #[serde(default)]
    pub generator: Option<GeneratorHealth>,
    /// Server-side probes read before, during and after the run.
    #[serde(default)]
    pub probes: Vec<ProbeSeries>,
    /// CPU profiles captured (of the target, of the generator), or why they failed.
    #[serde(default)]
    pub profiles: Vec<ProfileInfo>,
    /// Identifier shared by every instance of one run (`--run-id`, or derived from the
    /// scenario's hash and the start). Absent in files older than version 4.
    #[serde(default)]
    pub run_id: Option<String>,
    /// How the load was split: for one instance's result, that instance; for a merged
    /// result, every instance merged, by instance number. Empty in files older than
    /// version 4.
    #[serde(default)]
    pub instances: Vec<InstanceInfo>,
    /// For a merged result: each input's per-machine sections and the instances missing
    /// from a partial merge (`merge --allow-partial`). Absent for a single run and in files
    /// older than version 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeInfo>,
}

/// One instance of a run whose load was split across several generators (`run --instance`).
/// A run on one machine is instance 0 of 1.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InstanceInfo {
    /// This instance's number, `0 ≤ instance < instances`.
    pub instance: u32,
    /// How many instances share the load.
    pub instances: u32,
    /// The agreed start (RFC 3339, UTC) when one was given with `--start-at`.
    pub start_at: Option<String>,
    /// The host the instance ran on.
    pub hostname: String,
}

/// Resource use of a target process tree that nexus-bench launched.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetProcess {
    /// The command that was run (program and arguments).
    pub command: Vec<String>,
    /// From spawn until the readiness check passed, in milliseconds.
    pub startup_ms: f64,
    /// Highest resident memory of the process tree, in bytes.
    pub rss_max_bytes: u64,
    /// Mean CPU use of the process tree, in percent of one core (200 = two cores).
    pub cpu_mean_percent: f64,
    /// Size of the executable, in bytes.
    pub exe_size_bytes: Option<u64>,
    /// How the process ended (`exit status: 0`, `signal: 15`), if it did.
    pub exit: Option<String>,
    /// Readings about ten times a second.
    pub samples: Vec<ResourceReading>,
}

/// One reading of a process tree's resources.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResourceReading {
    /// Milliseconds since the start of the run (negative before it).
    pub t_ms: f64,
    /// Resident memory, in bytes.
    pub rss_bytes: u64,
    /// CPU use since the previous reading, in percent of one core.
    pub cpu_percent: f64,
}

/// How the generator itself fared.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GeneratorHealth {
    /// Mean CPU use of the nexus-bench process during the run, in percent of one core.
    pub cpu_mean_percent: f64,
    /// Highest one-second CPU use, in percent of one core.
    pub cpu_max_percent: f64,
    /// CPU cores available to it.
    pub cpus: usize,
    /// Open model: how late requests were sent against their intended start, in ms.
    pub schedule_lag_ms: Option<Summary>,
    /// Whether the generator was the bottleneck (it fell behind its schedule, or its CPU
    /// was pegged): the result then measured the generator, not the target.
    pub saturated: bool,
    /// Readings of the generator's resources.
    pub samples: Vec<ResourceReading>,
    /// Connections the generator could not open for lack of its own resources (open files,
    /// ephemeral ports, socket memory), warm-up included. Any makes the run unjudgeable.
    #[serde(default)]
    pub generator_errors: u64,
    /// The machine's CPU beside the run: other work and steal.
    #[serde(default)]
    pub machine: Option<MachineLoad>,
    /// The generator's own resident-memory trend over the steady state (version 4): a tool
    /// for soak runs must not grow with the run's length. Absent when the steady state was
    /// too short for a slope.
    #[serde(default)]
    pub rss_trend: Option<RssTrend>,
}

/// A resident-memory trend: least-squares slope over the steady state with its 95 %
/// confidence interval.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RssTrend {
    /// Slope in bytes per minute.
    pub slope_bytes_per_min: f64,
    /// 95 % confidence interval of the slope, `[low, high]`, in bytes per minute.
    pub interval: [f64; 2],
    /// Last reading minus first reading, in bytes.
    pub growth_bytes: f64,
    /// Readings used.
    pub points: usize,
}

/// Machine-wide CPU use during the run (`/proc/stat`), and the part of it that was neither
/// nexus-bench nor a target it launched: work that competed with the run for the CPUs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MachineLoad {
    /// Mean busy CPU of the whole machine, in percent of one core (200 = two cores).
    pub busy_mean_percent: f64,
    /// Mean CPU of other work (machine busy minus the generator and a launched target), in
    /// percent of one core.
    pub other_mean_percent: f64,
    /// Mean steal (time the hypervisor gave this machine's CPUs to others), in percent of
    /// all CPU time.
    pub steal_mean_percent: f64,
    /// Whether other work or steal was high enough to distort latencies (see the report).
    pub busy: bool,
    /// Readings about ten times a second.
    pub samples: Vec<MachineReading>,
}

/// One reading of machine-wide CPU.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MachineReading {
    /// Milliseconds since the start of the run.
    pub t_ms: f64,
    /// Machine busy CPU since the previous reading, in percent of one core.
    pub busy_percent: f64,
    /// Other work since the previous reading, in percent of one core.
    pub other_percent: f64,
    /// Steal since the previous reading, in percent of all CPU time.
    pub steal_percent: f64,
}

/// One probe's readings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProbeSeries {
    /// Probe name (SLO key `probe.<name>`).
    pub name: String,
    /// What was read, e.g. `GET /api/v1/cache/stats → /hit_ratio`.
    pub source: String,
    /// Reading before the run.
    pub before: Option<f64>,
    /// Reading after the run (used by SLOs).
    pub after: Option<f64>,
    /// Readings during the run.
    pub samples: Vec<ProbeReading>,
    /// The last error, if a reading failed.
    pub error: Option<String>,
}

/// One probe reading.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProbeReading {
    /// Milliseconds since the start of the run.
    pub t_ms: f64,
    /// The value.
    pub value: f64,
}

/// A captured CPU profile and where its files are (relative to the run folder).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProfileInfo {
    /// `target` or `generator`.
    pub kind: String,
    /// The raw pprof profile (`.pb.gz`, readable by `go tool pprof`), if captured.
    pub pprof_file: Option<String>,
    /// The flamegraph SVG, if rendered.
    pub flamegraph_file: Option<String>,
    /// Profiled window: start (ms since the start of the run) and length in ms.
    pub start_ms: f64,
    /// Length of the profiled window, in ms.
    pub duration_ms: f64,
    /// Functions with the most samples.
    pub top: Vec<TopFunctionInfo>,
    /// Why profiling failed (a warning, never a failed run).
    pub error: Option<String>,
    /// For the `heap` kind: the two snapshots and what grew between them. Then `pprof_file`
    /// is the end snapshot, `flamegraph_file` its in-use flamegraph, `start_ms` the time of
    /// the start snapshot and `duration_ms` the time between the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap: Option<HeapInfo>,
}

/// The target's heap between the start and the end of the steady state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HeapInfo {
    /// The heap profile at the start of the steady state (`.pb.gz`), if fetched.
    pub start_pprof_file: Option<String>,
    /// In-use bytes the start snapshot accounts for (jemalloc's and Go's are sampled
    /// estimates).
    pub inuse_start_bytes: Option<i64>,
    /// In-use bytes the end snapshot accounts for.
    pub inuse_end_bytes: Option<i64>,
    /// The growth flamegraph (end minus start: in-use bytes gained per stack), if anything
    /// grew.
    pub growth_flamegraph_file: Option<String>,
    /// The allocation sites whose in-use bytes grew most, largest growth first.
    pub growth: Vec<HeapSiteInfo>,
}

/// One allocation site's in-use memory at the start and at the end.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HeapSiteInfo {
    /// The site: the first frame from the allocation that is not the allocator or the
    /// standard library's containers (short name).
    pub name: String,
    /// In-use bytes allocated here at the start.
    pub start_bytes: i64,
    /// In-use bytes allocated here at the end.
    pub end_bytes: i64,
    /// `end_bytes - start_bytes`.
    pub growth_bytes: i64,
    /// In-use objects gained, when the profiles count objects (Go's do, jemalloc's do not).
    pub growth_objects: Option<i64>,
}

/// A function's share of a profile.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopFunctionInfo {
    /// Function name.
    pub name: String,
    /// Samples in the function itself.
    pub self_samples: u64,
    /// Samples in the function or anything it called.
    pub total_samples: u64,
    /// `self_samples` as a percentage of all samples.
    pub self_percent: f64,
    /// `total_samples` as a percentage of all samples.
    pub total_percent: f64,
}

/// The writer of a result.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// Always `nexus-bench`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// What was run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScenarioInfo {
    /// Scenario name.
    pub name: String,
    /// Scenario description.
    pub description: String,
    /// Scenario file path as given.
    pub file: String,
    /// SHA-256 of the scenario file.
    pub sha256: String,
    /// The target the load went to (a URL, or `embedded:<api>`), without secrets.
    pub target: String,
}

/// The machine a run was made on.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HostInfo {
    /// Host name.
    pub hostname: String,
    /// Operating system and architecture.
    pub os: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// Generator worker threads used.
    pub threads: usize,
}

/// The load settings of the run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoadInfo {
    /// `open` or `closed`.
    pub model: String,
    /// Level at the start: requests per second (open) or users (closed).
    pub start: f64,
    /// Stages of the profile, warm-up included.
    pub stages: Vec<StageInfo>,
    /// Warm-up length in milliseconds.
    pub warmup_ms: f64,
    /// Total profile length in milliseconds (warm-up included).
    pub duration_ms: f64,
    /// Open model: cap on requests in flight.
    pub max_in_flight: Option<u64>,
    /// Closed model: pause between iterations, in milliseconds.
    pub think_time_ms: Option<f64>,
    /// HTTP version used (`http1` or `http2`).
    pub protocol: String,
}

/// One stage of the load profile.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StageInfo {
    /// Stage length in milliseconds.
    pub duration_ms: f64,
    /// Level reached at the end.
    pub target: f64,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still running: this is a checkpoint.
    Running,
    /// Ran to the end.
    Completed,
    /// Stopped early by Ctrl-C or a signal; the numbers cover the part that ran.
    Interrupted,
}

/// Request totals.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    /// Requests that completed (successfully or not).
    pub requests: u64,
    /// Of those, how many failed (any error kind).
    pub errors: u64,
    /// Open model: arrivals not sent because `max_in_flight` was reached.
    pub dropped: u64,
    /// Requests still in flight when the drain period ended, abandoned.
    pub cancelled: u64,
    /// `requests / measured seconds`.
    pub throughput_per_sec: f64,
    /// `errors / requests` (0 when there were none).
    pub error_rate: f64,
}

/// Statistics of one request name (or of all requests, in [`RunResult::overall`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EndpointStats {
    /// Request name (`*` for the overall entry).
    pub name: String,
    /// The flow it is a step of, if any.
    pub flow: Option<String>,
    /// Completed requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Requests per second over the measured period.
    pub throughput_per_sec: f64,
    /// Responses by HTTP status code.
    pub status: BTreeMap<String, u64>,
    /// Failures by error kind (see [`crate::recorder::ErrorKind`] names).
    pub error_kinds: BTreeMap<String, u64>,
    /// Latency: from intended start (open model) or from send (closed model).
    pub latency_ms: Summary,
    /// Service time: from the actual send to the end of the response.
    pub service_time_ms: Summary,
    /// The full distributions.
    pub histograms: Histograms,
    /// Connections this request opened: protocols, connect and TLS handshake times
    /// (absent when it opened none, and in files before version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<ConnectionStats>,
}

/// Serialized distributions, in microseconds.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Histograms {
    /// Latency histogram (µs), HdrHistogram V2 deflate, base64.
    pub latency_us: EncodedHistogram,
    /// Service-time histogram (µs), HdrHistogram V2 deflate, base64.
    pub service_time_us: EncodedHistogram,
}

/// Summary statistics of a distribution, in milliseconds (µs resolution).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Number of samples.
    pub count: u64,
    /// Minimum.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub stdev: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// Maximum.
    pub max: f64,
}

/// One wall-clock second of the run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Second {
    /// Unix time of the start of the second.
    pub unix_s: i64,
    /// Seconds since the start of the run (may be negative after a merge).
    pub offset_s: i64,
    /// Whether this second is part of the warm-up.
    pub warmup: bool,
    /// How much of the second the run covered, in milliseconds: 1000 except for the partial
    /// first and last seconds. Rates are `requests / length` (version 1 and 2 files: 1000).
    #[serde(default = "full_second_ms")]
    pub length_ms: f64,
    /// Requests completed in this second.
    pub requests: u64,
    /// Of those, failed.
    pub errors: u64,
    /// Arrivals dropped (open model).
    pub dropped: u64,
    /// Most requests in flight at once during the second.
    pub in_flight_max: u64,
    /// Active virtual users (closed) or scheduled rate (open) at the end of the second.
    pub load_level: f64,
    /// Latency percentiles of this second, all requests.
    pub latency_ms: WindowSummary,
    /// Per request name (only names with traffic in this second).
    pub endpoints: Vec<SecondEndpoint>,
    /// A coarse entry (one covering several seconds, `length_ms` above 1000): the counts of
    /// each second in it that saw traffic, in order. Empty for a one-second entry. Since
    /// version 4: a long run keeps one entry per second for its first 10 minutes, then one
    /// per 10 wall-clock seconds (percentiles and histograms over the 10 s, counts still per
    /// second here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seconds: Vec<PerSecond>,
}

/// The counts of one second inside a coarse [`Second`] entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PerSecond {
    /// Unix time of the start of the second.
    pub unix_s: i64,
    /// Whether this second is part of the warm-up.
    pub warmup: bool,
    /// How much of the second the run covered, in milliseconds.
    pub length_ms: f64,
    /// Requests completed.
    pub requests: u64,
    /// Of those, failed.
    pub errors: u64,
    /// Arrivals dropped (open model).
    pub dropped: u64,
    /// Most requests in flight at once.
    pub in_flight_max: u64,
}

impl PerSecond {
    /// Requests completed per second of real time in this (possibly partial) second.
    pub fn requests_per_sec(&self) -> f64 {
        if self.length_ms > 0.0 {
            self.requests as f64 * 1000.0 / self.length_ms
        } else {
            0.0
        }
    }
}

fn full_second_ms() -> f64 {
    1000.0
}

impl Second {
    /// Requests completed per second of real time in this (possibly partial) second.
    pub fn requests_per_sec(&self) -> f64 {
        if self.length_ms > 0.0 {
            self.requests as f64 * 1000.0 / self.length_ms
        } else {
            0.0
        }
    }
}

/// Percentiles of one second, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WindowSummary {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// One request name within one second.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecondEndpoint {
    /// Request name.
    pub name: String,
    /// Requests completed.
    pub requests: u64,
    /// Of those, failed.
    pub errors: u64,
    /// Latency percentiles.
    pub latency_ms: WindowSummary,
    /// The second's latency histogram (µs), HdrHistogram V2 deflate, base64.
    pub latency_us: EncodedHistogram,
    /// In a coarse entry: requests completed in each second of the entry's `seconds`, in
    /// the same order (version 4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests_by_second: Vec<u64>,
    /// In a coarse entry: failed requests in each second of the entry's `seconds`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors_by_second: Vec<u64>,
}

/// The verdict of one SLO.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SloResult {
    /// The key as written in the scenario (`assign.latency.p99`).
    pub key: String,
    /// The metric without the request prefix (`latency.p99`).
    pub metric: String,
    /// The request name, or null for all requests.
    pub request: Option<String>,
    /// `<`, `<=`, `>` or `>=`.
    pub op: String,
    /// The limit in `unit`.
    pub limit: f64,
    /// The observed value in `unit` (null when nothing was measured).
    pub observed: Option<f64>,
    /// `ms`, `ratio` or `per_sec`.
    pub unit: String,
    /// Whether it held. An SLO with nothing observed does not hold.
    pub pass: bool,
    /// Trend SLOs (`target.rss.slope`, `probe.<name>.slope`): the 95 % confidence interval
    /// of `observed`, `[low, high]`, in `unit`.
    #[serde(default)]
    pub interval: Option<[f64; 2]>,
    /// Why the SLO could not be judged (e.g. a steady state too short for a slope); `pass`
    /// is then false and the run's verdict is `inconclusive` unless another SLO failed.
    #[serde(default)]
    pub inconclusive: Option<String>,
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every SLO held.
    Pass,
    /// At least one SLO failed.
    Fail,
    /// The scenario has no SLOs: nothing was gated (version 1 and 2 files say `pass`).
    NotGated,
    /// The run cannot be judged: the generator hit its own limits (`generator_error`), or
    /// no SLO was set and no request succeeded.
    Unjudgeable,
    /// No SLO failed, but at least one could not be judged (see its `inconclusive`).
    Inconclusive,
}

/// An example error message.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ErrorSample {
    /// Request name.
    pub request: String,
    /// Error kind.
    pub kind: String,
    /// The message (from the target or the network stack: untrusted text).
    pub message: String,
    /// How many times this exact message was seen (up to the sampling limit).
    pub count: u64,
}

impl EndpointStats {
    /// Failed expectations (status, body, JSON, extraction) among the errors, as opposed to
    /// transport failures: the kinds the recorder marks as expectations.
    pub fn expectation_failures(&self) -> u64 {
        ErrorKind::ALL
            .iter()
            .filter(|k| k.is_expectation())
            .filter_map(|k| self.error_kinds.get(k.name()))
            .sum()
    }
}

impl RunResult {
    /// The endpoint named `name`.
    pub fn endpoint(&self, name: &str) -> Option<&EndpointStats> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// JSON Schema of the result format.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(RunResult)).expect("schema serializes")
    }
}
