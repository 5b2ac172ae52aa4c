//! Integration tests of the reference target server (`nexus_bench::reference`): real HTTP and
//! WebSocket traffic over 127.0.0.1, one module per area.

#[path = "reference/support.rs"]
mod support;
#[path = "support/tls/mod.rs"]
mod tls_support;

#[path = "reference/cache.rs"]
mod cache;
#[path = "reference/faults.rs"]
mod faults;
#[path = "reference/mesh.rs"]
mod mesh;
#[path = "reference/ops.rs"]
mod ops;
#[path = "reference/supervisor.rs"]
mod supervisor;
#[path = "reference/tls.rs"]
mod tls;
#[path = "reference/ws.rs"]
mod ws;
