//! nexus-bench: a load-testing and profiling benchmark suite for HTTP services.
//!
//! The data flow is the layout:
//!
//! ```text
//! scenario file ─► scenario (serde, raw) ─► plan::Plan (validated, typed, immutable)
//!        engine: schedule (open / closed / ramp) × executor (HTTP, WebSocket) × recorder
//!                 per-worker HDR histograms and per-second windows, no locks per request
//!        recorder ─► result::RunResult (result.json: versioned, mergeable, saved first)
//!        analysis (SLO verdicts, baseline comparison, generator health) ─► output
//! ```
//!
//! The modules, in the order of that flow:
//!
//! - [`cli`]: the command line (clap types only); [`app`]: one function per subcommand, the
//!   only place that knows every stage.
//! - [`scenario`]: the scenario file format, checked into a [`plan::Plan`] (and written by
//!   `init`: a starter, or one from an OpenAPI document); [`plan`]: the validated plan,
//!   including the arrival math ([`plan::Profile`]).
//! - [`engine`]: schedules and executors that put the load on the target.
//! - [`recorder`]: histograms, per-second windows and the aggregation loop.
//! - [`result`]: `result.json` (build, merge, load/save, baselines on disk).
//! - [`analysis`]: pure judgement: SLO verdicts, baseline comparison, generator health.
//! - [`output`]: terminal, HTML, CSV, JUnit, Markdown and HdrHistogram-log renderers.
//! - [`deploy`]: what the engines a run scales out on (Kubernetes) are given: a scenario's
//!   file bundle and the rendered manifests.
//! - [`export`]: live per-second export while a run runs (ndjson, Prometheus remote-write).
//!
//! Shared helpers with no dependencies inside the crate: [`units`], [`timer`] (precise
//! waits) and [`fetch`] (one GET or POST). Side rooms that use nothing else in the crate but those
//! (and the plan types they are configured by): [`reference`](mod@reference) (the reference supervisor /
//! mesh / cache server behind `nexus-bench serve`, which profiles itself with the
//! profiler), [`launch`] (starting and watching a target process), [`probe`] (numbers read
//! from the target beside the load) and [`profiler`] (pprof capture and flamegraphs).
//! [`rlimit`] raises the open-file limit and checks a plan against it before any traffic.

pub mod analysis;
pub mod app;
pub mod cli;
pub mod deploy;
pub mod engine;
pub mod export;
pub mod fetch;
pub mod launch;
pub mod output;
pub mod plan;
pub mod probe;
pub mod profiler;
pub mod recorder;
pub mod reference;
pub mod result;
pub mod rlimit;
pub mod scenario;
pub mod timer;
pub mod units;
