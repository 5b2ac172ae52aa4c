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
