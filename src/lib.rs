//! nexus-bench: a load-testing and profiling benchmark suite for HTTP services.
//!
//! The data flow is the layout:
//!
//! ```text
//! scenario file ─► scenario (serde, raw) ─► plan::Plan (validated, typed, immutable)
//!        engine: schedule (open / closed / ramp) × executor (HTTP) × recorder
//!                 per-worker HDR histograms and per-second windows, no locks per request
//!        recorder ─► result::RunResult (result.json: versioned, mergeable, saved first)
//!        analysis (SLO verdicts, baseline comparison) ─► output (terminal, HTML, CSV, …)
//! ```
//!
//! Shared helpers with no dependencies inside the crate: [`units`], [`timer`] (precise
//! waits) and [`fetch`] (one GET). Side rooms that depend on nothing else in the crate but those: [`reference`] (the reference
//! supervisor / mesh / cache server behind `nexus-bench serve`), [`launch`] (starting and
//! watching a target process) and [`profiler`] (pprof capture and flamegraphs).
//! [`rlimit`] raises the open-file limit and checks a plan against it before any traffic.

pub mod analysis;
pub mod app;
pub mod cli;
pub mod engine;
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
