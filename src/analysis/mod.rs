//! Judgement: pure, I/O-free functions over results — SLO verdicts and baseline comparison
//! (rendered by [`crate::output::comparison`]).

pub mod compare;
pub mod health;
pub mod judge;
pub mod slo;
pub mod stats;
