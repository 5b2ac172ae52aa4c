//! Expectations and extraction: whether a response is a success for its request, and the
//! values later steps of a flow read.

use super::prepare::Prepared;
use super::transport::{Failure, Response};
use crate::plan::{ExtractFrom, RequestSpec};
use crate::recorder::ErrorKind;

/// Checks `resp` against the request's expectations and extracts its variables into `vars`.
pub(crate) fn check(
    spec: &RequestSpec,
    prep: &Prepared,
    resp: &Response,
    vars: &mut [Option<String>],
) -> Result<(), Failure> {
    if !spec.expect.status_ok(resp.status) {
        return Err(Failure {
            kind: ErrorKind::UnexpectedStatus,
            message: format!("unexpected status {}", resp.status),
            status: Some(resp.status),
        });
    }
    let body = resp.body.as_deref().unwrap_or_default();
    let text = || String::from_utf8_lossy(body);
    for needle in &spec.expect.body_contains {
        if !text().contains(needle.as_str()) {
            return Err(Failure::new(
                ErrorKind::ExpectationFailed,
                format!("body does not contain `{needle}`"),
            ));
        }
    }
    let json: Option<serde_json::Value> = if prep.needs_json {
        serde_json::from_slice(body).ok()
    } else {
        None
    };
    for (pointer, want) in &spec.expect.json {
        let got = json.as_ref().and_then(|j| j.pointer(pointer));
        if got != Some(want) {
            return Err(Failure::new(
                ErrorKind::ExpectationFailed,
                format!(
                    "JSON {pointer} is {}, expected {want}",
                    got.map_or("missing".to_string(), |g| g.to_string())
                ),
            ));
        }
    }
    for ex in &spec.extract {
        let value = match &ex.from {
            ExtractFrom::Json(pointer) => {
                json.as_ref()
                    .and_then(|j| j.pointer(pointer))
                    .map(|v| match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
            }
            ExtractFrom::Header(name) => resp
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            ExtractFrom::Regex(re) => {
                let t = text();
                re.captures(&t)
                    .and_then(|c| c.get(1).or_else(|| c.get(0)))
                    .map(|m| m.as_str().to_string())
            }
        };
        match value {
            Some(v) => vars[ex.var] = Some(v),
            None => {
                return Err(Failure::new(
                    ErrorKind::ExtractionFailed,
                    format!("`{}` not found in the response", ctx_var_name(spec, ex.var)),
                ));
            }
        }
    }
    Ok(())
}

fn ctx_var_name(spec: &RequestSpec, var: usize) -> String {
    spec.extract
        .iter()
        .find(|e| e.var == var)
        .map(|e| match &e.from {
            ExtractFrom::Json(p) => format!("JSON {p}"),
            ExtractFrom::Header(h) => format!("header {h}"),
            ExtractFrom::Regex(r) => format!("regex {r}"),
        })
        .unwrap_or_default()
}
