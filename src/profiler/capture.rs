//! Self-profiling: sampling nexus-bench's own CPU use with the `pprof` crate.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use pprof::protos::Message;
use pprof::{ProfilerGuard, ProfilerGuardBuilder};

use super::{Profile, ProfileError};

/// Shared libraries in which a sample is dropped: only the unwinder itself (a signal that
/// lands inside `_Unwind_*` must not unwind re-entrantly).
///
/// pprof-rs drops every sample whose interrupted instruction lies in a blocklisted library.
/// With the customary `libc`, `pthread` and `vdso` listed too, every sample of time spent in
/// a system call (the signal is delivered on return to the libc wrapper) and in
/// `clock_gettime` was lost: an I/O-bound process kept well under half of its samples (a
/// 5.65 s profile at 47 % of a core held 42 of ~260). glibc's loader lock taken by the
/// unwinder is recursive and libgcc finds unwind tables without a lock on current glibc, so
/// sampling inside libc is safe.
pub const BLOCKLIST: [&str; 1] = ["libgcc"];

/// A running CPU profile of this process (SIGPROF sampling of every thread).
///
/// Only one can run per process at a time; a second [`SelfProfiler::start`] fails.
pub struct SelfProfiler {
    guard: ProfilerGuard<'static>,
}

impl std::fmt::Debug for SelfProfiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SelfProfiler")
    }
}

impl SelfProfiler {
    /// Starts sampling at `frequency_hz` samples per second (99 is customary).
    pub fn start(frequency_hz: i32) -> Result<Self, ProfileError> {
        let guard = ProfilerGuardBuilder::default()
            .frequency(frequency_hz)
            .blocklist(&BLOCKLIST)
            .build()?;
        Ok(SelfProfiler { guard })
    }

    /// Stops sampling and returns the profile, both gzipped pprof bytes (`.pb.gz`, readable
    /// by `go tool pprof` and [`decode_pprof`](super::decode_pprof)) and decoded.
    pub fn finish(self) -> Result<(Vec<u8>, Profile), ProfileError> {
        let report = self.guard.report().build()?;
        drop(self.guard);
        let profile = report.pprof()?;
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        let bytes = gz
            .write_all(&profile.encode_to_vec())
            .and_then(|()| gz.finish())
            .map_err(|e| ProfileError::Profiler(pprof::Error::IoError(e)))?;
        Ok((bytes, profile))
    }
}
