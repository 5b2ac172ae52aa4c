//! Connection phases per request name: TCP connect time and TLS handshake time (HDR, µs)
//! of the connections a request opened, and how many connections spoke each protocol.

use crate::result::{Hist, new_histogram};

/// The phases recorded for one request name (in a window, or totalled).
#[derive(Debug, Clone, Default)]
pub struct Phases {
    /// TCP connect time (µs) of connections this request opened.
    pub connect: Option<Hist>,
    /// TLS handshake time (µs) of TLS connections this request opened.
    pub tls_handshake: Option<Hist>,
    /// Connections opened that spoke HTTP/1.1 (or WebSocket).
    pub http1_connections: u64,
    /// Connections opened that spoke HTTP/2.
    pub http2_connections: u64,
}

impl Phases {
    /// Records one opened connection.
    pub fn record(&mut self, connect_us: u64, tls_us: Option<u64>, h2: bool) {
        self.connect
            .get_or_insert_with(new_histogram)
            .saturating_record(connect_us);
        if let Some(t) = tls_us {
            self.tls_handshake
                .get_or_insert_with(new_histogram)
                .saturating_record(t);
        }
        if h2 {
            self.http2_connections += 1;
        } else {
            self.http1_connections += 1;
        }
    }

    /// Adds another set of phases (histograms add losslessly).
    pub fn add(&mut self, o: &Phases) {
        for (mine, theirs) in [
            (&mut self.connect, &o.connect),
            (&mut self.tls_handshake, &o.tls_handshake),
        ] {
            if let Some(h) = theirs {
                mine.get_or_insert_with(new_histogram)
                    .add(h)
                    .expect("same bounds");
            }
        }
        self.http1_connections += o.http1_connections;
        self.http2_connections += o.http2_connections;
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.connect.is_none() && self.http1_connections + self.http2_connections == 0
    }
}
