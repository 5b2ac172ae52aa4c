//! The `nexus-bench` binary.
fn main() {}
