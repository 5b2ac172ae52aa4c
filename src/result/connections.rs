//! Connection phases in the result (schema version 3): per request name, how many
//! connections it opened with each protocol, and the distributions of their TCP connect
//! and TLS handshake times (k6's `http_req_connecting` / `http_req_tls_handshaking`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{EncodedHistogram, HistogramError, Summary};
use crate::recorder::Phases;

/// The connections a request name opened (warm-up included: most open at the start).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConnectionStats {
    /// Connections that spoke HTTP/1.1 (WebSocket included).
    pub http1: u64,
    /// Connections that spoke HTTP/2 (prior knowledge or ALPN `h2`).
    pub http2: u64,
    /// TCP connect time.
    pub connect_ms: Summary,
    /// TLS handshake time (TLS connections only).
    #[serde(default)]
    pub tls_handshake_ms: Option<Summary>,
    /// TCP connect time histogram (µs), HdrHistogram V2 deflate, base64.
    pub connect_us: EncodedHistogram,
    /// TLS handshake histogram (µs), HdrHistogram V2 deflate, base64.
    #[serde(default)]
    pub tls_handshake_us: Option<EncodedHistogram>,
}

impl ConnectionStats {
    /// The stats of recorded phases; `None` when no connection was opened.
    pub fn of(p: &Phases) -> Option<Self> {
        let connect = p.connect.as_ref()?;
        Some(ConnectionStats {
            http1: p.http1_connections,
            http2: p.http2_connections,
            connect_ms: Summary::of(connect),
            tls_handshake_ms: p.tls_handshake.as_ref().map(Summary::of),
            connect_us: EncodedHistogram::encode(connect),
            tls_handshake_us: p.tls_handshake.as_ref().map(EncodedHistogram::encode),
        })
    }

    /// Decodes back into phases (for merging).
    pub fn phases(&self) -> Result<Phases, HistogramError> {
        Ok(Phases {
            connect: Some(self.connect_us.decode()?),
            tls_handshake: self
                .tls_handshake_us
                .as_ref()
                .map(EncodedHistogram::decode)
                .transpose()?,
            http1_connections: self.http1,
            http2_connections: self.http2,
        })
    }

    /// Adds `b` to `a` (either may be absent), losslessly.
    pub fn merge(a: &Option<Self>, b: &Option<Self>) -> Result<Option<Self>, HistogramError> {
        let mut p = Phases::default();
        for s in [a, b].into_iter().flatten() {
            p.add(&s.phases()?);
        }
        Ok(Self::of(&p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_merge_losslessly_and_keep_plain_connections_apart() {
        let mut tls = Phases::default();
        tls.record(100, Some(2_000), true);
        tls.record(300, Some(4_000), false);
        let mut plain = Phases::default();
        plain.record(50, None, false);
        let a = ConnectionStats::of(&tls);
        let b = ConnectionStats::of(&plain);
        assert!(ConnectionStats::of(&Phases::default()).is_none());
        let m = ConnectionStats::merge(&a, &b).unwrap().unwrap();
        assert_eq!((m.http1, m.http2), (2, 1));
        assert_eq!(m.connect_ms.count, 3);
        let tls_ms = m.tls_handshake_ms.expect("TLS phases kept");
        assert_eq!(tls_ms.count, 2, "the plain connection has no handshake");
        assert!((tls_ms.max - 4.0).abs() < 0.01, "{}", tls_ms.max);
        assert_eq!(ConnectionStats::merge(&None, &b).unwrap(), b);
    }
}
