//! The kinds of failure a request can have. Failures are data: counted per request name,
//! never raised.

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ErrorKind {
    /// The target refused the TCP connection.
    ConnectRefused,
    /// The TCP connection did not open within `connect_timeout`.
    ConnectTimeout,
    /// Any other failure to connect.
    ConnectError,
    /// The TLS handshake failed (unknown issuer, expired, name mismatch, no common protocol,
    /// an alert from the server); the error samples keep the reason.
    TlsHandshake,
    /// No complete response within the request's `timeout`.
    RequestTimeout,
    /// The connection was reset or closed mid-request.
    ConnectionReset,
    /// The response was not valid HTTP.
    Protocol,
    /// The response body exceeded `max_body`.
    BodyTooLarge,
    /// The status code was not one the request expects.
    UnexpectedStatus,
    /// A body or JSON expectation failed.
    ExpectationFailed,
    /// A value to extract was not in the response.
    ExtractionFailed,
    /// A held WebSocket closed before the end of the run.
    Disconnected,
    /// The generator itself ran out of a resource before anything was sent: descriptors
    /// (`EMFILE`, `ENFILE`), ephemeral ports (`EADDRNOTAVAIL`) or socket memory (`ENOBUFS`,
    /// `ENOMEM`). Never a request the target saw; it makes the run unjudgeable.
    GeneratorError,
    /// The request could not be built from its templates (e.g. a CR or LF rendered into a
    /// header): it was never sent, so it has no latency.
    TemplateError,
    /// Anything else (reported with its message in the error samples).
    Other,
}

impl ErrorKind {
    /// Number of kinds.
    pub const COUNT: usize = 15;

    /// Every kind, in order.
    pub const ALL: [ErrorKind; Self::COUNT] = [
        ErrorKind::ConnectRefused,
        ErrorKind::ConnectTimeout,
        ErrorKind::ConnectError,
        ErrorKind::TlsHandshake,
        ErrorKind::RequestTimeout,
        ErrorKind::ConnectionReset,
        ErrorKind::Protocol,
        ErrorKind::BodyTooLarge,
        ErrorKind::UnexpectedStatus,
        ErrorKind::ExpectationFailed,
        ErrorKind::ExtractionFailed,
        ErrorKind::Disconnected,
        ErrorKind::GeneratorError,
        ErrorKind::TemplateError,
        ErrorKind::Other,
    ];

    /// The name used in results and reports.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connect_refused",
            ErrorKind::ConnectTimeout => "connect_timeout",
            ErrorKind::ConnectError => "connect_error",
            ErrorKind::TlsHandshake => "tls_handshake",
            ErrorKind::RequestTimeout => "request_timeout",
            ErrorKind::ConnectionReset => "connection_reset",
            ErrorKind::Protocol => "protocol",
            ErrorKind::BodyTooLarge => "body_too_large",
            ErrorKind::UnexpectedStatus => "unexpected_status",
            ErrorKind::ExpectationFailed => "expectation_failed",
            ErrorKind::ExtractionFailed => "extraction_failed",
            ErrorKind::Disconnected => "disconnected",
            ErrorKind::GeneratorError => "generator_error",
            ErrorKind::TemplateError => "template_error",
            ErrorKind::Other => "other",
        }
    }

    /// Whether a request failing this way never reached the target, so it has no latency
    /// sample.
    pub fn is_unsent(self) -> bool {
        matches!(self, ErrorKind::GeneratorError | ErrorKind::TemplateError)
    }

    /// Whether the kind is a failed expectation (status, body, JSON, extraction) rather than
    /// a transport failure.
    pub fn is_expectation(self) -> bool {
        matches!(
            self,
            ErrorKind::UnexpectedStatus
                | ErrorKind::ExpectationFailed
                | ErrorKind::ExtractionFailed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_discriminant_order() {
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
        }
        let mut names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
        names.dedup();
        assert_eq!(names.len(), ErrorKind::COUNT);
    }
}
