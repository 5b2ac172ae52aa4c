//! analysis (in progress).

pub mod compare;
pub mod compare_render;
pub mod stats;
