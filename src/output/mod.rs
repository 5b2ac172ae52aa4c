//! Outputs: everything nexus-bench writes from a result file, computed from the
//! [`RunResult`] alone (plus pre-rendered [`Section`]s from later stages).
//!
//! One file per format behind the [`Output`] trait: `report.html` ([`html`]),
//! `requests.csv` / `timeseries.csv` ([`csv`]), `junit.xml` ([`junit`]), `summary.md`
//! ([`markdown`]) and `latency.hlog` ([`hlog`]); plus the end-of-run [`terminal_summary`].
//! [`write_all`] writes them side by side; a renderer that fails loses nothing else.
//! Numbers are formatted by [`format`](mod@format) only, so every output shows the same figures.

mod banners;
mod charts;
mod charts_dist;
mod charts_observe;
pub mod comparison;
pub mod connections;
pub mod csv;
mod flame_embed;
pub mod format;
pub mod heap;
pub mod hlog;
pub mod html;
mod html_observe;
mod html_tables;
pub mod instances;
pub mod junit;
pub mod markdown;
pub mod profile_diff;
pub mod series;
mod terminal;

use std::path::{Path, PathBuf};

use crate::result::RunResult;

pub use terminal::terminal_summary;

/// Why an output could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A histogram in the result does not decode.
    #[error("histogram of {what}: {message}")]
    Histogram {
        /// Which histogram (`request get-item`, `second 12`).
        what: String,
        /// Why.
        message: String,
    },
    /// Rendering failed (a chart, the CSV or the log writer).
    #[error("rendering {what}: {message}")]
    Render {
        /// What was being rendered.
        what: &'static str,
        /// Why.
        message: String,
    },
}

/// One JUnit test case contributed by a [`Section`].
#[derive(Debug, Clone, PartialEq)]
pub struct JunitCase {
    /// Test case name.
    pub name: String,
    /// Failure message; `None` for a passing case.
    pub failure: Option<String>,
    /// Longer text shown with the case (body of `<failure>` or `<system-out>`).
    pub details: String,
}

/// An extra part of the reports that later work fills in (baseline comparison, flamegraphs,
/// target metrics): pre-rendered, already-escaped HTML and Markdown, and JUnit test cases.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Section {
    /// HTML id (letters, digits, `-`, `_`; anything else is replaced by `-`).
    pub id: String,
    /// Heading (plain text; escaped by the renderers).
    pub title: String,
    /// Body HTML, already escaped: inserted as is.
    pub html: String,
    /// Body Markdown, already escaped: inserted as is.
    pub markdown: String,
    /// Test cases added to `junit.xml`.
    pub junit: Vec<JunitCase>,
}

/// What every output renders from.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The run.
    pub result: &'a RunResult,
    /// Extra sections, in order.
    pub sections: &'a [Section],
}

/// One output file.
pub trait Output {
    /// The file name within the output folder.
    fn file_name(&self) -> &'static str;
    /// The file's bytes.
    fn render(&self, input: &ReportInput) -> Result<Vec<u8>, OutputError>;
}

/// Which outputs [`write_all`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputOptions {
    /// `report.html`.
    pub html: bool,
    /// The data files: `requests.csv`, `timeseries.csv` and `latency.hlog`.
    /// (`junit.xml` and `summary.md` are always written.)
    pub extra: bool,
}

impl Default for OutputOptions {
    fn default() -> Self {
        OutputOptions {
            html: true,
            extra: true,
        }
    }
}

/// The outputs selected by `opts`, in writing order; the HTML report embeds the
/// flamegraphs found in `dir`.
pub fn outputs(opts: &OutputOptions, dir: &Path) -> Vec<Box<dyn Output>> {
    let mut out: Vec<Box<dyn Output>> = Vec::new();
    if opts.html {
        out.push(Box::new(html::HtmlReport {
            assets: Some(dir.to_path_buf()),
        }));
    }
    out.push(Box::new(markdown::MarkdownSummary));
    out.push(Box::new(junit::JunitReport));
    if opts.extra {
        out.push(Box::new(csv::RequestsCsv));
        out.push(Box::new(csv::TimeseriesCsv));
        out.push(Box::new(hlog::for_dir(dir)));
    }
    out
}

/// Renders and writes every selected output into `dir` (created if missing). Each file is
/// written to a temporary name and renamed, and each failure is reported on its own: a
/// failing renderer loses nothing else.
pub fn write_all(
    input: &ReportInput,
    dir: &Path,
    opts: &OutputOptions,
) -> Vec<(PathBuf, Result<(), OutputError>)> {
    let created = std::fs::create_dir_all(dir);
    outputs(opts, dir)
        .iter()
        .map(|output| {
            let path = dir.join(output.file_name());
            let io = |source| OutputError::Io {
                path: path.clone(),
                source,
            };
            let written = match &created {
                Err(e) => Err(io(std::io::Error::new(e.kind(), e.to_string()))),
                Ok(()) => output.render(input).and_then(|bytes| {
                    let tmp = path.with_extension("tmp");
                    std::fs::write(&tmp, bytes).map_err(io)?;
                    std::fs::rename(&tmp, &path).map_err(io)
                }),
            };
            (path, written)
        })
        .collect()
}
