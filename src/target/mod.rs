//! target (in progress).
