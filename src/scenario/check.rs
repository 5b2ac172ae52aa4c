//! Small checks shared by the builders: the error collector, names, units, templates, URLs
//! and header tables.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use http::HeaderName;

use super::errors::{Locator, ScenarioError};
use super::raw::{Sp, SpMap};
use crate::plan::Template;
use crate::plan::template::Scope;
use crate::units;

/// Collects every problem while the plan is built.
pub(crate) struct Ctx<'a> {
    pub loc: Locator<'a>,
    pub errors: Vec<ScenarioError>,
    /// The scenario file's folder: data and body files are relative to it.
    pub dir: PathBuf,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Ctx<'_> {
    /// Records a problem at `span`.
    pub fn err(&mut self, span: Range<usize>, message: impl Into<String>, help: Option<String>) {
        let e = self.loc.error(span, message, help);
        self.errors.push(e);
    }

    /// Checks a name used as a folder or metrics key: `[A-Za-z0-9_-]+`.
    pub fn name(&mut self, what: &str, name: &Sp<String>) -> bool {
        let n = name.get();
        let ok = !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            let fixed: String = n
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            self.err(
                name.span(),
                format!("{what} `{n}` may only use letters, digits, `_` and `-`"),
                Some(if fixed.is_empty() {
                    format!("give the {what} a name such as \"cache\"")
                } else {
                    format!("write \"{fixed}\"")
                }),
            );
        }
        ok
    }

    /// Parses an optional duration field, or returns `default`.
    pub fn duration(
        &mut self,
        field: &str,
        value: Option<&Sp<String>>,
        default: Duration,
    ) -> Duration {
        match value {
            None => default,
            Some(v) => match units::parse_duration(v.get()) {
                Ok(d) => d,
                Err(e) => {
                    let (msg, _) = split_help(&e.to_string());
                    self.err(
                        v.span(),
                        format!("`{field}` is not a duration: {msg}"),
                        Some("write e.g. \"30s\" or \"250ms\"".into()),
                    );
                    default
                }
            },
        }
    }

    /// Compiles a template written in a string value, pointing errors inside the string.
    pub fn template(&mut self, value: &Sp<String>, scope: &Scope<'_>) -> Template {
        match Template::parse(value.get(), scope) {
            Ok(t) => t,
            Err(e) => {
                let (msg, help) = split_help(&e.message);
                let span = self.loc.inside_string(value.span(), e.offset);
                self.err(span, msg, help);
                Template::default()
            }
        }
    }
}

/// Splits `"what; write x"` messages into the message and a help line.
pub(crate) fn split_help(text: &str) -> (String, Option<String>) {
    match text.split_once("; ") {
        Some((m, h)) => (m.to_string(), Some(h.to_string())),
        None => (text.to_string(), None),
    }
}

/// Checks an absolute `http://` or `https://` URL (templates inside are allowed).
pub(crate) fn check_http_url(
    ctx: &mut Ctx<'_>,
    field: &str,
    url: &str,
    span: std::ops::Range<usize>,
) {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    if rest.is_none_or(str::is_empty) {
        ctx.err(
            span,
            format!("`{field}` = `{url}` is not an http:// or https:// URL"),
            Some(if field == "base_url" {
                "write e.g. \"http://127.0.0.1:8080\" or \"embedded:cache\"".into()
            } else {
                "write e.g. \"http://127.0.0.1:8080/health\"".into()
            }),
        );
    }
}

/// Compiles a header table: lowercase names, template values.
pub(crate) fn headers(
    ctx: &mut Ctx<'_>,
    raw: &SpMap<Sp<String>>,
    scope: &Scope<'_>,
) -> Vec<(HeaderName, Template)> {
    let mut out = Vec::new();
    for (name, value) in &raw.0 {
        let lower = name.get().to_ascii_lowercase();
        let template = ctx.template(value, scope);
        match HeaderName::from_bytes(lower.as_bytes()) {
            Ok(h) => out.push((h, template)),
            Err(_) => ctx.err(
                name.span(),
                format!("`{}` is not a valid header name", name.get()),
                Some("header names are letters, digits and `-`, e.g. \"x-api-key\"".into()),
            ),
        }
    }
    out
}
