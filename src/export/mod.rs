//! Live export of a run's per-second numbers while it runs (`run --export KIND=DEST`):
//! `ndjson=PATH|-` writes one JSON object per second (the result's timeseries entry) for `jq`
//! and log shippers; `prometheus-rw=URL` pushes the same numbers with Prometheus remote-write
//! for dashboards (a Grafana dashboard ships in `deploy/grafana/`).
//!
//! An exporter never fails or slows the run: the run hands it finished seconds, it writes or
//! queues them; a receiver that is down costs a warning in the result, nothing more. At the
//! end, the exporter is given the finished result, so the last values it sends are exactly
//! the result's totals.

mod ndjson;
mod prometheus;

use std::path::PathBuf;

use crate::result::{RunResult, Second};

/// One `--export` destination.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportSpec {
    /// One JSON object per second to a file, or stdout for `-`.
    Ndjson(Option<PathBuf>),
    /// Prometheus remote-write (protobuf + snappy) to this URL.
    PrometheusRw(String),
}

/// An `--export` argument that names no known exporter.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "--export `{0}`: write `ndjson=PATH` (`ndjson=-` for stdout) or `prometheus-rw=URL` (e.g. prometheus-rw=http://127.0.0.1:9090/api/v1/write)"
)]
pub struct ExportSpecError(String);

impl std::str::FromStr for ExportSpec {
    type Err = ExportSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ExportSpecError(s.to_string());
        let (kind, dest) = s.split_once('=').ok_or_else(bad)?;
        if dest.is_empty() {
            return Err(bad());
        }
        match kind {
            "ndjson" if dest == "-" => Ok(ExportSpec::Ndjson(None)),
            "ndjson" => Ok(ExportSpec::Ndjson(Some(dest.into()))),
            "prometheus-rw" if dest.starts_with("http://") || dest.starts_with("https://") => {
                Ok(ExportSpec::PrometheusRw(dest.into()))
            }
            _ => Err(bad()),
        }
    }
}

/// What every exported series is labelled with.
#[derive(Debug, Clone, Default)]
pub struct RunLabels {
    /// The scenario name.
    pub scenario: String,
    /// The run's identifier.
    pub run_id: String,
    /// This instance of a split run (`0` on one machine).
    pub instance: u32,
}

/// One finished second, with the error counts by kind of the measured period so far.
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    /// The second, as it appears in the result's timeseries.
    pub second: &'a Second,
    /// Errors by kind over the measured period so far (kind name, count).
    pub error_kinds: &'a [(&'static str, u64)],
}

/// The live exporters of one run.
pub struct Exporters {
    sinks: Vec<Box<dyn Sink>>,
    last_pushed: Option<i64>,
}

/// A destination of finished seconds.
trait Sink: Send {
    /// A finished second; must not block the run.
    fn push(&mut self, tick: &Tick<'_>);
    /// The run ended: last values from `result`, flush, and any warnings to record.
    fn finish(self: Box<Self>, result: &RunResult) -> Vec<String>;
}

impl Exporters {
    /// Starts the exporters `specs` asks for. Fails only on what can be checked at once (a
    /// file that cannot be created); a receiver that is down is a warning later.
    pub fn start(specs: &[ExportSpec], labels: &RunLabels) -> std::io::Result<Self> {
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        for spec in specs {
            match spec {
                ExportSpec::Ndjson(path) => {
                    sinks.push(Box::new(ndjson::Ndjson::open(path.as_deref())?));
                }
                ExportSpec::PrometheusRw(url) => {
                    sinks.push(Box::new(prometheus::RemoteWrite::start(url, labels)));
                }
            }
        }
        Ok(Exporters {
            sinks,
            last_pushed: None,
        })
    }

    /// Whether nothing is exported (the run can skip building seconds for it).
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// The start (Unix seconds) of the last second already pushed, if any: the run pushes
    /// only later ones.
    pub fn last_pushed(&self) -> Option<i64> {
        self.last_pushed
    }

    /// Hands a finished second to every exporter.
    pub fn push(&mut self, tick: &Tick<'_>) {
        for sink in &mut self.sinks {
            sink.push(tick);
        }
        self.last_pushed = Some(tick.second.unix_s);
    }

    /// Ends every exporter: the seconds of `result` not pushed yet, then the final totals.
    /// Returns the warnings to record in the result (e.g. a receiver that was down).
    pub fn finish(mut self, result: &RunResult) -> Vec<String> {
        let kinds = measured_error_kinds(result);
        let pending: Vec<&Second> = result
            .timeseries
            .iter()
            .filter(|s| self.last_pushed.is_none_or(|last| s.unix_s > last))
            .collect();
        for second in pending {
            self.push(&Tick {
                second,
                error_kinds: &kinds,
            });
        }
        self.sinks
            .into_iter()
            .flat_map(|sink| sink.finish(result))
            .collect()
    }
}

/// Errors by kind over the measured period so far, from the recorder's per-request totals.
pub fn error_kinds(endpoints: &[crate::recorder::EndpointAgg]) -> Vec<(&'static str, u64)> {
    crate::recorder::ErrorKind::ALL
        .iter()
        .enumerate()
        .filter_map(|(i, k)| {
            let n: u64 = endpoints.iter().map(|e| e.kinds[i]).sum();
            (n > 0).then_some((k.name(), n))
        })
        .collect()
}

/// Errors by kind over the measured period of a finished result.
fn measured_error_kinds(result: &RunResult) -> Vec<(&'static str, u64)> {
    crate::recorder::ErrorKind::ALL
        .iter()
        .filter_map(|k| {
            let n: u64 = result
                .endpoints
                .iter()
                .filter_map(|e| e.error_kinds.get(k.name()))
                .sum();
            (n > 0).then_some((k.name(), n))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_arguments_parse_or_say_what_to_write() {
        assert_eq!("ndjson=-".parse(), Ok(ExportSpec::Ndjson(None)));
        assert_eq!(
            "ndjson=out/s.ndjson".parse(),
            Ok(ExportSpec::Ndjson(Some("out/s.ndjson".into())))
        );
        assert_eq!(
            "prometheus-rw=http://127.0.0.1:9090/api/v1/write".parse(),
            Ok(ExportSpec::PrometheusRw(
                "http://127.0.0.1:9090/api/v1/write".into()
            ))
        );
        for bad in [
            "ndjson",
            "ndjson=",
            "prometheus-rw=127.0.0.1:9090",
            "otlp=x",
        ] {
            let e = bad.parse::<ExportSpec>().unwrap_err();
            assert!(e.to_string().contains("prometheus-rw=URL"), "{e}");
        }
    }
}
