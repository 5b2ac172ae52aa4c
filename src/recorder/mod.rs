//! recorder (in progress).
