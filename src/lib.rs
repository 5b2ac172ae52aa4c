//! nexus-bench: a load-testing and profiling benchmark suite for HTTP services.
//!
//! The data flow is the layout:
//!
//! ```text
//! scenario file ─► scenario (serde, raw) ─► plan::Plan (validated, typed, immutable)
//!        engine: schedule (open / closed / ramp) × executor (HTTP) × recorder
//!                 per-worker HDR histograms and per-second windows, no locks per request
//!        recorder::Recording ─► result::RunResult (result.json: versioned, mergeable)
//!        analysis (SLO verdicts, baseline comparison) ─► output (terminal, HTML, CSV, …)
//! ```
//!
//! Side rooms that depend on nothing else in the crate: [`target`] (the reference
//! supervisor / mesh / cache server behind `nexus-bench serve`) and [`profiler`].

pub mod plan;
pub mod result;
pub mod units;
