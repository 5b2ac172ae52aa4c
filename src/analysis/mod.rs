//! Judgement: pure, I/O-free functions over results — SLO verdicts, baseline comparison
//! (rendered by [`crate::output::comparison`]) and the generator's own health.

pub mod compare;
pub mod health;
pub mod slo;
pub mod stats;
