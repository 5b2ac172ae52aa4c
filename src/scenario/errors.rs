//! Scenario errors: every problem with its file, line and column (or the command-line
//! override it came from) and a hint, printed the way rustc prints its diagnostics.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a scenario file or an override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The scenario file as given, or the override (`--set KEY=VALUE`) when `line` is 0.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem is in a command-line override.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
    /// What is wrong.
    pub message: String,
    /// What to write instead, when there is something to say.
    pub help: Option<String>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "error: {}: {}", self.file.display(), self.message)?;
        } else {
            write!(
                f,
                "error: {}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.col,
                self.message
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// Every problem found in one scenario, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

/// Turns byte spans into locations. Spans at or past `text.len() + 1` stand for the
/// command-line overrides: `text.len() + 1 + i` is the `i`-th entry of `labels`.
pub(crate) struct Locator<'a> {
    file: &'a Path,
    text: &'a str,
    labels: Vec<String>,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(file: &'a Path, text: &'a str, labels: Vec<String>) -> Self {
        Locator { file, text, labels }
    }

    /// The span that stands for override number `i`.
    pub(crate) fn override_span(&self, i: usize) -> Range<usize> {
        let at = self.text.len() + 1 + i;
        at..at + 1
    }

    /// An error at `span` (a byte range of the file or an override span).
    pub(crate) fn error(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> ScenarioError {
        let message = message.into();
        let base = self.text.len() + 1;
        if span.start >= base {
            let label = self
                .labels
                .get(span.start - base)
                .cloned()
                .unwrap_or_else(|| "command line".into());
            return ScenarioError {
                file: PathBuf::from(label),
                line: 0,
                col: 0,
                message,
                help,
            };
        }
        let (line, col) = line_col(self.text, span.start);
        ScenarioError {
            file: self.file.to_path_buf(),
            line,
            col,
            message,
            help,
        }
    }

    /// The position of byte `offset` inside the string value spanning `span` (skipping the
    /// opening quotes). Exact for strings without escapes.
    pub(crate) fn inside_string(&self, span: Range<usize>, offset: usize) -> Range<usize> {
        if span.start > self.text.len() {
            return span;
        }
        let raw = &self.text[span.start..span.end.min(self.text.len())];
        let mut skip = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            3
        } else if raw.starts_with('"') || raw.starts_with('\'') {
            1
        } else {
            0
        };
        if skip == 3 && raw[3..].starts_with('\n') {
            skip += 1;
        }
        let at = (span.start + skip + offset).min(span.end.saturating_sub(1).max(span.start));
        at..at + 1
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The toml crate's error (syntax or structure) as a located error with a hint.
pub(crate) fn from_toml(loc: &Locator<'_>, err: &toml::de::Error) -> ScenarioError {
    let message = err
        .message()
        .trim()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
        .replace("expected i64", "expected a whole number")
        .replace("expected f64", "expected a number");
    let help = toml_help(&message);
    loc.error(err.span().unwrap_or(0..0), message, help)
}

/// Hints for serde's messages: the nearest valid name for unknown fields and variants.
fn toml_help(message: &str) -> Option<String> {
    let ticked = |s: &str| -> Vec<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    for prefix in ["unknown field", "unknown variant"] {
        if message.starts_with(prefix) {
            let names = ticked(message);
            let (word, valid) = names.split_first()?;
            let near = nearest(word, valid.iter().map(String::as_str));
            return Some(match near {
                Some(n) => format!("did you mean `{n}`?"),
                None if valid.is_empty() => "remove it".into(),
                None => format!("valid names: {}", valid.join(", ")),
            });
        }
    }
    if message.starts_with("missing field") {
        let names = ticked(message);
        return names
            .first()
            .map(|n| format!("add `{n} = …` here; see `nexus-bench schema scenario`"));
    }
    None
}

/// The candidate closest to `word`, if any is close enough to be a likely typo: within a
/// few edits (transpositions count as one) or sharing most of its letters in order.
pub(crate) fn nearest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .filter_map(|c| {
            let edits = strsim::osa_distance(word, c);
            let similar = strsim::jaro_winkler(word, c);
            let allowed = (word.len().max(c.len()) / 3).max(1);
            (edits <= allowed || similar > 0.85).then_some((edits, -similar, c))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
        .map(|(_, _, c)| c)
}

/// `did you mean `x`?` for the nearest candidate, or `None`.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<String> {
    nearest(word, candidates).map(|n| format!("did you mean `{n}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_col("ab\ncdé f", 0), (1, 1));
        assert_eq!(line_col("ab\ncdé f", 3), (2, 1));
        assert_eq!(line_col("ab\ncdé f", 7), (2, 4));
    }

    #[test]
    fn unknown_field_gets_the_nearest_name() {
        let h = toml_help("unknown field `bse_url`, expected one of `base_url`, `headers`");
        assert_eq!(h.as_deref(), Some("did you mean `base_url`?"));
    }

    #[test]
    fn override_spans_name_the_override() {
        let loc = Locator::new(Path::new("a.toml"), "x = 1\n", vec!["--set x=2".into()]);
        let e = loc.error(loc.override_span(0), "bad", None);
        assert_eq!(e.to_string(), "error: --set x=2: bad");
    }
}
