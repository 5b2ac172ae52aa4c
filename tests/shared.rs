//! Process-wide guards shared by the areas of the one test binary.

/// pprof-rs allows one profiler per process: tests that start one (directly or through the
/// reference server's `/debug/pprof/profile`) hold this (`blocking_lock()` in plain tests,
/// `lock().await` in async ones).
pub static PROFILER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
