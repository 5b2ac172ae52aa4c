//! The latency histogram type and its project-wide range and precision: the bottom of the
//! data flow, used by the recorder's windows and by everything that reads them later
//! (result files, merging, outputs).

use hdrhistogram::Histogram;

/// Latency histogram in microseconds.
pub type Hist = Histogram<u64>;

/// Highest recordable value: one hour in microseconds. Larger values are clamped.
pub const MAX_US: u64 = 3_600_000_000;

/// A new empty histogram: 1 µs to one hour, 3 significant digits.
pub fn new_histogram() -> Hist {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("valid bounds")
}

/// Makes the allocator give every histogram-sized block (≥ 128 KB: a histogram's counters are
/// ~180 KB) its own memory mapping, returned to the system when freed. glibc's default raises
/// that threshold after the first such free, after which per-second histograms come from
/// the heap: freed ones stay resident and every reuse is zeroed page by page. Mapped fresh,
/// the counters no sample touched never become resident. Call once, before recording.
pub fn map_histograms_fresh() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes the allocator's tuning; it is called before the worker
    // threads start and has no memory-safety preconditions.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
