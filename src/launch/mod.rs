//! launch (in progress).
