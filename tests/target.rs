//! Integration tests of the reference target server (`nexus_bench::target`): real HTTP and
//! WebSocket traffic over 127.0.0.1, one module per area.

#[path = "target/support.rs"]
mod support;

#[path = "target/cache.rs"]
mod cache;
#[path = "target/faults.rs"]
mod faults;
#[path = "target/mesh.rs"]
mod mesh;
#[path = "target/ops.rs"]
mod ops;
#[path = "target/supervisor.rs"]
mod supervisor;
#[path = "target/ws.rs"]
mod ws;
