//! Judgement: pure, I/O-free functions over results — SLO verdicts and baseline comparison.

pub mod slo;
