//! Live progress during a run: an indicatif bar on a terminal, a plain line every few
//! seconds otherwise (CI logs), nothing with `--quiet`. It reads only the aggregate.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::recorder::Aggregate;
use crate::units::{format_duration, format_ms, format_rate};

/// Interval of the plain (non-TTY) progress line.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// The progress display.
pub enum Progress {
    /// Nothing.
    Quiet,
    /// A live bar.
    Bar(ProgressBar),
    /// A line every [`PLAIN_EVERY`].
    Plain {
        /// When the last line was printed.
        last: Instant,
        /// The run's total length.
        total: Duration,
    },
}

impl Progress {
    /// Chooses the display for stderr.
    pub fn new(quiet: bool, total: Duration) -> Self {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total.as_millis() as u64);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {msg}")
                    .expect("valid template"),
            );
            Progress::Bar(bar)
        } else {
            Progress::Plain {
                last: Instant::now(),
                total,
            }
        }
    }

    /// Updates the display from the latest complete second of `agg`.
    pub fn update(&mut self, agg: &Aggregate, elapsed: Duration) {
        let line = || {
            // The newest sealed second (the ones after it may still be filling).
            let (reqs, p99, in_flight) = agg
                .series
                .latest()
                .map(|(s, lat)| (s.requests, lat.p99 as f64 / 1000.0, s.in_flight_max))
                .unwrap_or((0, f64::NAN, 0));
            let errors = agg.series.all_time().1;
            format!(
                "{}  p99 {}  errors {}  in flight {}",
                format_rate(reqs as f64),
                format_ms(p99),
                errors,
                in_flight
            )
        };
        match self {
            Progress::Quiet => {}
            Progress::Bar(bar) => {
                bar.set_position(elapsed.as_millis() as u64);
                bar.set_message(line());
            }
            Progress::Plain { last, total } => {
                if last.elapsed() >= PLAIN_EVERY {
                    *last = Instant::now();
                    eprintln!(
                        "[{} / {}] {}",
                        format_duration(elapsed),
                        format_duration(*total),
                        line()
                    );
                }
            }
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
