//! Service-level objectives in the plan: what is measured, how it compares, and the limit in
//! the metric's canonical unit.

/// A service-level objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// The key as written (`assign.latency.p99`).
    pub key: String,
    /// The request name it applies to, or `None` for all requests together.
    pub request: Option<String>,
    /// What is measured.
    pub metric: Metric,
    /// How the observed value must compare to the limit.
    pub op: Op,
    /// The limit in the metric's canonical unit (see [`Metric::unit`]).
    pub limit: f64,
}

/// Measurable quantities an SLO can name.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// Latency (from intended start in the open model, from send in the closed model).
    Latency(Stat),
    /// Service time: from the actual send to the end of the response.
    ServiceTime(Stat),
    /// TCP connect time of the connections requests opened (`connect.p99`).
    Connect(Stat),
    /// TLS handshake time of the TLS connections requests opened (`tls_handshake.p99`).
    TlsHandshake(Stat),
    /// Failed requests / completed requests (ratio).
    ErrorRate,
    /// Completed requests per second over the measured duration.
    Throughput,
    /// Requests passing their expectations / completed requests (ratio).
    ExpectPassRate,
    /// `target.startup`: time from launch until the target was ready.
    TargetStartup,
    /// `target.rss.max`: the launched target's highest resident memory (process tree).
    TargetRssMax,
    /// `target.cpu.mean`: the launched target's mean CPU use, as a ratio of one core.
    TargetCpuMean,
    /// `probe.<name>`: the probe's last reading (after the run).
    Probe(String),
    /// `target.rss.slope`: least-squares slope of the launched target's resident memory over
    /// the steady state (after the warm-up), in bytes per minute.
    TargetRssSlope,
    /// `target.rss.growth`: the launched target's resident memory at the end of the steady
    /// state minus at its start, in bytes.
    TargetRssGrowth,
    /// `probe.<name>.slope`: least-squares slope of the probe's readings over the steady
    /// state, per minute.
    ProbeSlope(String),
}

/// A statistic of a latency distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// A percentile in (0, 100].
    Percentile(f64),
    /// The arithmetic mean.
    Mean,
    /// The minimum.
    Min,
    /// The maximum.
    Max,
}

/// Canonical units of metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds.
    Millis,
    /// A ratio in `[0, 1]`, shown as a percentage.
    Ratio,
    /// Events per second.
    PerSec,
    /// Bytes.
    Bytes,
    /// A plain number (probes; a `%` limit is a ratio).
    Number,
    /// Bytes per minute (memory trends).
    BytesPerMin,
    /// A plain number per minute (probe trends).
    PerMin,
}

impl Metric {
    /// The unit of the metric's values and limits.
    pub fn unit(&self) -> Unit {
        match self {
            Metric::Latency(_)
            | Metric::ServiceTime(_)
            | Metric::Connect(_)
            | Metric::TlsHandshake(_) => Unit::Millis,
            Metric::ErrorRate | Metric::ExpectPassRate => Unit::Ratio,
            Metric::Throughput => Unit::PerSec,
            Metric::TargetStartup => Unit::Millis,
            Metric::TargetRssMax => Unit::Bytes,
            Metric::TargetCpuMean => Unit::Ratio,
            Metric::Probe(_) => Unit::Number,
            Metric::TargetRssSlope => Unit::BytesPerMin,
            Metric::TargetRssGrowth => Unit::Bytes,
            Metric::ProbeSlope(_) => Unit::PerMin,
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// Whether `observed op limit` holds.
    pub fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops() {
        assert!(Op::Lt.holds(1.0, 2.0));
        assert!(!Op::Lt.holds(2.0, 2.0));
        assert!(Op::Le.holds(2.0, 2.0));
        assert!(Op::Gt.holds(3.0, 2.0));
        assert!(!Op::Ge.holds(1.0, 2.0));
    }
}
