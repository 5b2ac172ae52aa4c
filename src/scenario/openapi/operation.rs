//! One OpenAPI operation → one `[[requests]]` entry: name, weight, method, the path with its
//! parameters filled in, query and header parameters, a body, and `expect` from the
//! documented responses. An operation that cannot be sent as a plain HTTP request is
//! skipped with the reason.

use std::collections::HashSet;
use std::fmt::Write;

use yaml_rust2::Yaml;

use super::emit::{inline, key, percent_encode, scalar_text};
use super::schema::{Doc, Value, key_text, literal, template_safe};
use crate::scenario::init::{scenario_name, toml_string};

/// The HTTP methods a path item may hold, as OpenAPI spells them.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A request ready to be written.
pub(super) struct Operation {
    /// `GET /pets/{id}: summary`, for the comment above it.
    title: String,
    name: String,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Body>,
    /// `expect.status` items, when the documented statuses go beyond 200–399.
    expect: Vec<String>,
    /// Parameters left out, and why.
    notes: Vec<String>,
}

enum Body {
    /// An inline TOML table or array for `json =`, with a content type other than
    /// `application/json` if the document says so.
    Json(String, Option<String>),
    /// Text for `body =`, with its content type.
    Text(String, String),
}

/// Every operation of the document in order, and the reasons of those skipped.
pub(super) fn collect(doc: &Doc<'_>) -> (Vec<Operation>, Vec<String>) {
    let mut ops = Vec::new();
    let mut skipped = Vec::new();
    let mut names = HashSet::new();
    for (path, item) in doc.root["paths"].as_hash().into_iter().flatten() {
        let Some(path) = key_text(path) else { continue };
        let Some(item) = doc.resolve(item) else {
            skipped.push(format!(
                "{path}: its path item is an external or broken $ref"
            ));
            continue;
        };
        for (method, op) in item.as_hash().into_iter().flatten() {
            let Some(method) = method.as_str().filter(|m| METHODS.contains(m)) else {
                continue;
            };
            match operation(doc, &path, method, item, op, &mut names) {
                Ok(op) => ops.push(op),
                Err(why) => skipped.push(format!("{} {path}: {why}", method.to_uppercase())),
            }
        }
    }
    if !doc.root["webhooks"].is_badvalue() {
        skipped.push("webhooks (requests the API sends, not receives)".into());
    }
    (ops, skipped)
}

fn operation(
    doc: &Doc<'_>,
    path: &str,
    method: &str,
    item: &Yaml,
    op: &Yaml,
    names: &mut HashSet<String>,
) -> Result<Operation, String> {
    let responses: Vec<String> = op["responses"]
        .as_hash()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| key_text(k))
        .collect();
    if responses.iter().any(|r| r == "101") {
        return Err(format!(
            "answers 101 Switching Protocols (a WebSocket): write a request with ws = \"{path}\", `send` and `reply_contains` by hand"
        ));
    }
    let mut notes = Vec::new();
    let params = parameters(doc, item, op);

    let mut rendered = String::new();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for p in &params {
        let (Some(name), Some(place)) = (p["name"].as_str(), p["in"].as_str()) else {
            continue;
        };
        let wanted = p["required"].as_bool() == Some(true)
            || place == "path"
            || doc.first_example(p).is_some_and(|e| !e.is_null())
            || has_explicit_schema_value(doc, p);
        if !wanted {
            continue;
        }
        match place {
            "query" => match doc.param_value(p) {
                Value::Placeholder(t) => query.push(format!("{}={t}", percent_encode(name))),
                Value::Literal(Yaml::Array(items)) => {
                    for v in items.iter().filter_map(scalar_text) {
                        query.push(format!("{}={}", percent_encode(name), percent_encode(&v)));
                    }
                }
                Value::Literal(v) => match scalar_text(&v) {
                    Some(v) => {
                        query.push(format!("{}={}", percent_encode(name), percent_encode(&v)))
                    }
                    None => notes.push(format!("query parameter `{name}` (an object) is left out")),
                },
            },
            "header" => {
                let lower = name.to_ascii_lowercase();
                if matches!(lower.as_str(), "accept" | "content-type" | "authorization") {
                    continue;
                }
                let value = match doc.param_value(p) {
                    Value::Placeholder(t) => Some(t),
                    Value::Literal(v) => scalar_text(&v).map(|s| template_safe(&s)),
                };
                match value {
                    Some(v) => headers.push((lower, v)),
                    None => notes.push(format!("header `{name}` (not a scalar) is left out")),
                }
            }
            "cookie" => notes.push(format!(
                "cookie `{name}` is not set: add headers = {{ cookie = \"{name}=…\" }}"
            )),
            _ => {}
        }
    }
    // Path parameters, each `{name}` of the template; one the document does not declare
    // gets a string placeholder.
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        rendered.push_str(&rest[..open]);
        let name = &rest[open + 1..open + close];
        let param = params
            .iter()
            .find(|p| p["in"].as_str() == Some("path") && p["name"].as_str() == Some(name));
        let value = match param.map(|p| doc.param_value(p)) {
            Some(Value::Literal(v)) => scalar_text(&v).map(|s| percent_encode(&s)),
            Some(Value::Placeholder(t)) => Some(t),
            None => None,
        };
        rendered.push_str(&value.unwrap_or_else(|| "x{{ counter }}".into()));
        rest = &rest[open + close + 1..];
    }
    rendered.push_str(rest);
    if !query.is_empty() {
        rendered.push(if rendered.contains('?') { '&' } else { '?' });
        rendered.push_str(&query.join("&"));
    }

    let body = body(doc, op, &mut notes)?;
    let summary = op["summary"]
        .as_str()
        .or_else(|| op["description"].as_str())
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|s| match s.char_indices().nth(100) {
            Some((at, _)) => format!("{}…", &s[..at]),
            None => s,
        });
    let title = match summary {
        Some(s) if !s.is_empty() => format!("{} {path}: {s}", method.to_uppercase()),
        _ => format!("{} {path}", method.to_uppercase()),
    };
    Ok(Operation {
        title,
        name: unique_name(op, method, path, names),
        method: method.to_uppercase(),
        path: rendered,
        headers,
        body,
        expect: expect(&responses),
        notes,
    })
}

/// Path-level parameters overridden by the operation's (same name and place), references
/// resolved.
fn parameters<'a>(doc: &Doc<'a>, item: &'a Yaml, op: &'a Yaml) -> Vec<&'a Yaml> {
    let resolved = |list: &'a Yaml| -> Vec<&'a Yaml> {
        list.as_vec()
            .into_iter()
            .flatten()
            .filter_map(|p| doc.resolve(p))
            .collect()
    };
    let own = resolved(&op["parameters"]);
    let mut all: Vec<&Yaml> = resolved(&item["parameters"])
        .into_iter()
        .filter(|p| {
            !own.iter()
                .any(|o| o["name"] == p["name"] && o["in"] == p["in"])
        })
        .collect();
    all.extend(own);
    all
}

/// Whether a parameter's schema gives a value itself (`example`, `default`, `enum`, …).
fn has_explicit_schema_value(doc: &Doc<'_>, p: &Yaml) -> bool {
    doc.resolve(&p["schema"]).is_some_and(|s| {
        ["example", "examples", "default", "enum", "const"]
            .iter()
            .any(|k| !s[*k].is_badvalue())
    })
}

/// The request body: JSON when the document offers it, else a form or text; `Err` when the
/// body is required and none of those (a multipart upload).
fn body(doc: &Doc<'_>, op: &Yaml, notes: &mut Vec<String>) -> Result<Option<Body>, String> {
    let Some(rb) = doc.resolve(&op["requestBody"]).filter(|r| r.is_hash()) else {
        return Ok(None);
    };
    let content: Vec<(String, &Yaml)> = rb["content"]
        .as_hash()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((key_text(k)?, v)))
        .collect();
    let pick = |want: &dyn Fn(&str) -> bool| {
        content
            .iter()
            .find(|(t, _)| want(&t.to_ascii_lowercase()))
            .map(|(t, m)| (t.clone(), *m))
    };
    let required = rb["required"].as_bool() == Some(true);
    let sample = |media: &Yaml| -> Option<Yaml> {
        match doc.first_example(media) {
            Some(v) => literal(v),
            None => doc.sample(&media["schema"], 0),
        }
    };
    if let Some((ctype, media)) = pick(&|t| t.contains("json") || t == "*/*")
        .or_else(|| (content.is_empty()).then(|| ("application/json".to_string(), &Yaml::BadValue)))
    {
        let ctype = (ctype != "application/json" && ctype != "*/*").then_some(ctype);
        return Ok(Some(match sample(media) {
            Some(v @ (Yaml::Hash(_) | Yaml::Array(_))) => {
                Body::Json(inline(&v).unwrap_or_else(|| "{}".into()), ctype)
            }
            Some(v) => Body::Text(
                json_text(&v),
                ctype.unwrap_or_else(|| "application/json".into()),
            ),
            None => Body::Json("{}".into(), ctype),
        }));
    }
    if let Some((ctype, media)) = pick(&|t| t == "application/x-www-form-urlencoded") {
        let form = match sample(media) {
            Some(Yaml::Hash(h)) => h
                .iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        Yaml::String(s) if s.contains("{{") => s.clone(),
                        v => percent_encode(&scalar_text(v)?),
                    };
                    Some(format!("{}={v}", percent_encode(&key_text(k)?)))
                })
                .collect::<Vec<_>>()
                .join("&"),
            _ => String::new(),
        };
        return Ok(Some(Body::Text(form, ctype)));
    }
    if let Some((ctype, media)) = pick(&|t| t.starts_with("text/")) {
        let text = sample(media)
            .and_then(|v| scalar_text(&v))
            .unwrap_or_else(|| "x{{ counter }}".into());
        return Ok(Some(Body::Text(text, ctype)));
    }
    let types: Vec<&str> = content.iter().map(|(t, _)| t.as_str()).collect();
    if required {
        Err(format!(
            "its body ({}) is neither JSON, a form nor text: add it with body_file = \"…\" and content_type",
            types.join(", ")
        ))
    } else {
        notes.push(format!(
            "the optional {} body is left out",
            types.join(", ")
        ));
        Ok(None)
    }
}

/// A scalar JSON body as JSON text (`"text"`, `42`, `true`).
fn json_text(v: &Yaml) -> String {
    match v {
        Yaml::String(s) if s.contains("{{") => format!("\"{s}\""),
        Yaml::String(s) => serde_json::Value::String(s.clone()).to_string(),
        other => scalar_text(other).unwrap_or_else(|| "null".into()),
    }
}

/// `expect.status` items: the documented non-5xx statuses, when one of them is outside
/// 200–399 (else the default, any 200–399, already says it).
fn expect(responses: &[String]) -> Vec<String> {
    let mut items: Vec<(String, bool)> = Vec::new();
    for r in responses {
        let item = if let Ok(code) = r.parse::<u16>() {
            (100..500)
                .contains(&code)
                .then(|| (code.to_string(), (200..400).contains(&code)))
        } else {
            let upper = r.to_ascii_uppercase();
            match upper.as_bytes() {
                [d @ b'1'..=b'4', b'X', b'X'] => {
                    Some((format!("\"{}xx\"", *d as char), matches!(d, b'2' | b'3')))
                }
                _ => None,
            }
        };
        if let Some(item) = item
            && !items.contains(&item)
        {
            items.push(item);
        }
    }
    if items.iter().all(|(_, within)| *within) {
        return Vec::new();
    }
    items.into_iter().map(|(s, _)| s).collect()
}

/// The request's name: its `operationId` (else method and path) as `[A-Za-z0-9_-]`, made
/// unique with a numeric suffix.
fn unique_name(op: &Yaml, method: &str, path: &str, names: &mut HashSet<String>) -> String {
    let base = match op["operationId"].as_str() {
        Some(id) => scenario_name(id, ""),
        None => String::new(),
    };
    let base = if base.is_empty() {
        scenario_name(&format!("{method}-{path}"), method)
    } else {
        base
    };
    let mut name = base.clone();
    let mut n = 2;
    while !names.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

impl Operation {
    /// Appends the `[[requests]]` entry, with the comment saying what it stands for.
    pub(super) fn write(&self, out: &mut String) {
        let _ = writeln!(out, "# {}", self.title);
        for note in &self.notes {
            let _ = writeln!(out, "# note: {note}");
        }
        out.push_str("[[requests]]\n");
        let _ = writeln!(out, "name = {}", toml_string(&self.name));
        let weight = if matches!(self.method.as_str(), "GET" | "HEAD") {
            3
        } else {
            1
        };
        let _ = writeln!(out, "weight = {weight}");
        let _ = writeln!(out, "method = {}", toml_string(&self.method));
        let _ = writeln!(out, "path = {}", toml_string(&self.path));
        if !self.headers.is_empty() {
            let members: Vec<String> = self
                .headers
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), toml_string(v)))
                .collect();
            let _ = writeln!(out, "headers = {{ {} }}", members.join(", "));
        }
        match &self.body {
            Some(Body::Json(table, ctype)) => {
                let _ = writeln!(out, "json = {table}");
                if let Some(ctype) = ctype {
                    let _ = writeln!(out, "content_type = {}", toml_string(ctype));
                }
            }
            Some(Body::Text(text, ctype)) => {
                let _ = writeln!(out, "body = {}", toml_string(text));
                let _ = writeln!(out, "content_type = {}", toml_string(ctype));
            }
            None => {}
        }
        if !self.expect.is_empty() {
            let _ = writeln!(out, "expect = {{ status = [{}] }}", self.expect.join(", "));
        }
    }
}
