//! What an exchange yields: a [`Response`] or a classified [`Failure`]. Shared by every
//! protocol client under the seam and by the users that record them, so no client depends
//! on another one for its result types.

use bytes::Bytes;

use crate::recorder::ErrorKind;

/// A failed request: its kind and a message for the error samples.
#[derive(Debug)]
pub struct Failure {
    /// Classification.
    pub kind: ErrorKind,
    /// Human-readable detail (untrusted: may quote the target).
    pub message: String,
    /// The status, when a response head arrived.
    pub status: Option<u16>,
}

impl Failure {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            status: None,
        }
    }
}

/// A response that arrived in full (or was cut off at the size limit, which is a failure).
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// The body, when the caller asked to keep it.
    pub body: Option<Bytes>,
}
