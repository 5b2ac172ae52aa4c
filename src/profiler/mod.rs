//! Profiles: self-profiling with the `pprof` crate, fetching a target's pprof profiles (CPU
//! and heap) over HTTP, decoding pprof data, and turning it into folded stacks, an interactive
//! flamegraph SVG and a table of the top functions; comparing two CPU profiles ([`cpu_diff`])
//! and two heap snapshots ([`heap_growth`]).
//!
//! A side room: it depends on nothing else in the crate. `app` captures ([`SelfProfiler`]) or
//! fetches ([`fetch_profile`]) a profile, saves the raw `.pb.gz` next to the result, and
//! renders it with [`flamegraph_svg`] and [`top_functions`] after [`decode_pprof`].

mod capture;
mod decode;
mod diff;
mod fetch;
mod flame;
mod heap;
mod names;
mod top;

pub use capture::{BLOCKLIST, SelfProfiler};
pub use decode::decode_pprof;
pub use diff::{DiffRow, cpu_diff, diff_flamegraph_svg};
pub use fetch::{fetch_heap_profile, fetch_profile};
pub use flame::{flamegraph_svg, folded_stacks};
pub use heap::{HeapSite, heap_flamegraph_svg, heap_growth, heap_growth_svg, heap_inuse_bytes};
pub use names::simplify as short_name;
pub use top::{TopFunction, top_functions};

/// A decoded pprof profile (the `perftools.profiles.Profile` protobuf message).
pub use pprof::protos::Profile;

/// Why a profile could not be captured, fetched, decoded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The bytes are not a (possibly gzipped) pprof protobuf.
    #[error("not a pprof profile: {0}")]
    Decode(String),
    /// The profile holds no samples, so there is nothing to draw.
    #[error("the profile holds no samples")]
    Empty,
    /// inferno could not render the flamegraph.
    #[error("cannot render the flamegraph: {0}")]
    Render(std::io::Error),
    /// The URL to fetch from is not a plain `http://` URL.
    #[error("cannot fetch a profile from `{url}`: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request for the profile failed before an answer came.
    #[error("fetching {url} failed: {reason}")]
    Fetch {
        /// The profile URL.
        url: String,
        /// What went wrong (connect, protocol, timeout).
        reason: String,
    },
    /// The target answered, but not with 2xx.
    #[error("fetching {url} got HTTP {status}: {body}")]
    Status {
        /// The profile URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The in-process CPU profiler failed.
    #[error("self-profiling failed: {0}")]
    Profiler(#[from] pprof::Error),
}
