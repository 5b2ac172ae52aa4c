//! Judgement: pure, I/O-free functions over results — SLO verdicts and baseline comparison
//! (with its renderers).

pub mod compare;
pub mod compare_render;
pub mod slo;
pub mod stats;
