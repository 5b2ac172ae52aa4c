//! Judgement: pure, I/O-free functions over results — SLO verdicts, baseline comparison
//! (rendered by [`crate::output::comparison`]), the generator's own health and the machine's
//! load beside the run.

pub mod compare;
pub mod health;
pub mod judge;
pub mod machine;
pub mod merged;
pub mod slo;
pub mod stats;
pub mod trend;
