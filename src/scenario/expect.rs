//! What a response must hold and what is taken from it: `expect` (status, body, JSON) and
//! `extract`.

use http::HeaderName;
use regex::Regex;

use super::check::Ctx;
use super::raw::{RawExpect, RawRequest, RawStatus, Sp};
use crate::plan::{Expect, ExtractFrom, Extraction};

/// The `expect` table: accepted statuses, body substrings and JSON values.
pub(super) fn expect(ctx: &mut Ctx<'_>, e: &RawExpect) -> Expect {
    let mut out = Expect::default();
    if let Some(items) = &e.status {
        out.status = items.iter().filter_map(|s| status(ctx, s)).collect();
    }
    out.body_contains = e.body_contains.clone();
    for (pointer, value) in &e.json.0 {
        if !pointer.get().is_empty() && !pointer.get().starts_with('/') {
            ctx.err(
                pointer.span(),
                format!("`{}` is not a JSON pointer", pointer.get()),
                Some(format!("write \"/{}\"", pointer.get())),
            );
        }
        out.json.push((pointer.get().clone(), value.clone()));
    }
    out
}

fn status(ctx: &mut Ctx<'_>, s: &Sp<RawStatus>) -> Option<(u16, u16)> {
    let code = |n: i64| u16::try_from(n).ok().filter(|n| (100..=599).contains(n));
    let parsed = match s.get() {
        RawStatus::Code(n) => code(*n).map(|c| (c, c)),
        RawStatus::Text(t) => {
            let t = t.trim();
            if let Some(class) = t
                .strip_suffix("xx")
                .and_then(|d| d.parse::<u16>().ok())
                .filter(|d| (1..=5).contains(d))
            {
                Some((class * 100, class * 100 + 99))
            } else if let Some((lo, hi)) = t.split_once('-') {
                match (
                    lo.trim().parse().ok().and_then(code),
                    hi.trim().parse().ok().and_then(code),
                ) {
                    (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
                    _ => None,
                }
            } else {
                t.parse().ok().and_then(code).map(|c| (c, c))
            }
        }
    };
    if parsed.is_none() {
        let shown = match s.get() {
            RawStatus::Code(n) => n.to_string(),
            RawStatus::Text(t) => format!("\"{t}\""),
        };
        ctx.err(
            s.span(),
            format!("{shown} is not a status, a class or a range of statuses"),
            Some("write e.g. 200, \"2xx\" or \"200-299\" (codes are 100 to 599)".into()),
        );
    }
    parsed
}

/// The `extract` table: values taken from the response into `variables`.
pub(super) fn extract(ctx: &mut Ctx<'_>, r: &RawRequest, variables: &[String]) -> Vec<Extraction> {
    let mut out = Vec::new();
    for (var, src) in &r.extract.0 {
        let name = var.get();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            ctx.err(
                var.span(),
                format!("`{name}` is not a variable name"),
                Some("use letters, digits and `_`, e.g. agent_id".into()),
            );
        }
        let x = src.get();
        let count = [x.json.is_some(), x.header.is_some(), x.regex.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        let help = Some(
            "write one of { json = \"/id\" }, { header = \"etag\" } or { regex = \"id=(\\\\w+)\" }"
                .to_string(),
        );
        if count != 1 {
            let what = if count == 0 {
                "no source"
            } else {
                "more than one source"
            };
            ctx.err(src.span(), format!("extract `{name}` has {what}"), help);
            continue;
        }
        let from = if let Some(p) = &x.json {
            if !p.is_empty() && !p.starts_with('/') {
                ctx.err(
                    src.span(),
                    format!("`{p}` is not a JSON pointer"),
                    Some(format!("write \"/{p}\"")),
                );
            }
            ExtractFrom::Json(p.clone())
        } else if let Some(h) = &x.header {
            match HeaderName::from_bytes(h.to_ascii_lowercase().as_bytes()) {
                Ok(h) => ExtractFrom::Header(h),
                Err(_) => {
                    ctx.err(
                        src.span(),
                        format!("`{h}` is not a header name"),
                        Some("write e.g. header = \"etag\"".into()),
                    );
                    continue;
                }
            }
        } else {
            let re = x.regex.as_deref().unwrap_or_default();
            match Regex::new(re) {
                Ok(re) => ExtractFrom::Regex(re),
                Err(e) => {
                    let detail = e
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .trim_start_matches("error: ")
                        .to_string();
                    ctx.err(
                        src.span(),
                        format!("regex `{re}` does not compile: {detail}"),
                        Some("see https://docs.rs/regex for the syntax".into()),
                    );
                    continue;
                }
            }
        };
        let id = variables.iter().position(|v| v == name).expect("collected");
        out.push(Extraction { var: id, from });
    }
    out
}
