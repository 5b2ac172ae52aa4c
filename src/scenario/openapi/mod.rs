//! `nexus-bench init --openapi`: a scenario from an OpenAPI 3 document (JSON or YAML), one
//! request per operation. Parameters and bodies take the document's examples, defaults and
//! enums, else typed placeholders (`{{ random_int(1, 100) }}`, `x{{ counter }}`, `{{ uuid }}`);
//! GETs weigh 3 and other methods 1; names come from `operationId` (else method and path);
//! documented non-5xx statuses become `expect` when they go beyond 200–399 (a GET that
//! documents 404); `servers[0].url` becomes `base_url` when it is absolute. Local `$ref`s
//! are followed with a depth limit ([`schema`]). What cannot become a request (a WebSocket
//! upgrade, a multipart body, a cookie) is named in a comment of the output.
//!
//! The document is read by a YAML 1.2 parser (yaml-rust2), JSON included, so the scenario
//! keeps the document's order; a JSON document is first checked by serde_json for its
//! clearer syntax errors.

mod emit;
mod operation;
mod schema;

use std::fmt::Write;

use yaml_rust2::{Yaml, YamlLoader};

use super::init::{InitError, base_url, scenario_name, toml_string};
use schema::Doc;

/// Where the scenario comes from, for the comment at its top.
pub struct OpenApiSource<'a> {
    /// The document's text.
    pub text: &'a str,
    /// Its file name as the user gave it (`-` for stdin).
    pub label: &'a str,
}

/// The scenario text for an OpenAPI 3 document. `name` names the scenario (else the
/// document's `info.title`); `url` replaces the document's servers as `base_url`.
pub fn scenario_from_openapi(
    source: &OpenApiSource<'_>,
    name: Option<&str>,
    url: Option<&str>,
) -> Result<String, InitError> {
    let root = parse(source.text)?;
    let version = match &root["openapi"] {
        Yaml::String(v) | Yaml::Real(v) => Some(v.as_str()),
        _ => None,
    };
    match (version, root["swagger"].is_badvalue()) {
        (Some(v), _) if v.starts_with("3.") => {}
        (Some(v), _) => return Err(InitError::NotOpenApi3(format!("openapi: {v}"))),
        (None, false) => return Err(InitError::NotOpenApi3("a Swagger 2.0 document".into())),
        (None, true) => return Err(InitError::NotOpenApi3("no `openapi` field".into())),
    }
    let doc = Doc { root: &root };
    let (operations, skipped) = operation::collect(&doc);
    if operations.is_empty() {
        return Err(InitError::NoOperations);
    }
    let title = root["info"]["title"].as_str().unwrap_or("API");
    let version = root["info"]["version"].as_str().unwrap_or("");
    let name = scenario_name(name.unwrap_or(title), "api");
    let (base, base_note) = match url {
        Some(url) => (base_url(url)?, None),
        None => server(&root),
    };

    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Written by `nexus-bench init --openapi {}` from {} {version}: one request per operation,\n\
         # GETs weighted 3 and other methods 1. Values come from the document's examples, defaults\n\
         # and enums, else typed placeholders ({{{{ counter }}}}, {{{{ random_int(1, 100) }}}}, {{{{ uuid }}}}):\n\
         # replace them with real data, chain calls in [[flows]] with `extract`, and set SLOs.\n\
         # Check it with `nexus-bench validate FILE`, run it with `nexus-bench run FILE`.\n",
        source.label.replace('\n', " "),
        toml_string(title),
    );
    let _ = writeln!(out, "name = {}", toml_string(&name));
    let _ = writeln!(
        out,
        "description = {}\n",
        toml_string(&format!("{title} {version} (from its OpenAPI document)"))
    );
    out.push_str("[target]\n");
    if let Some(note) = base_note {
        let _ = writeln!(out, "# {note}");
    }
    let _ = writeln!(out, "base_url = {}", toml_string(&base));
    if let Some(line) = auth_hint(&doc) {
        out.push_str(&line);
    }
    out.push_str(
        "\n# A closed model: 4 virtual users, each sending its next request when the previous one\n\
         # answered. For a fixed arrival rate write model = \"open\" and rate = \"100/s\".\n\
         [load]\nmodel = \"closed\"\nusers = 4\nduration = \"30s\"\nwarmup = \"5s\"\n",
    );
    for op in &operations {
        out.push('\n');
        op.write(&mut out);
    }
    if !skipped.is_empty() {
        out.push_str("\n# Not generated:\n");
        for s in &skipped {
            let _ = writeln!(out, "# - {s}");
        }
    }
    out.push_str(
        "\n# SLOs decide the verdict (exit 0 when all hold, 1 when one fails). Statuses the\n\
         # document lists are expected (see `expect`); anything else counts as an error.\n\
         [slo]\n\"error_rate\" = \"< 1%\"\n# \"latency.p99\" = \"< 250ms\"\n",
    );
    Ok(out)
}

/// The document's tree: JSON (checked by serde_json first) or YAML.
fn parse(text: &str) -> Result<Yaml, InitError> {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with('{') {
        serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| InitError::Syntax {
            format: "JSON",
            message: e.to_string(),
        })?;
    }
    let docs = YamlLoader::load_from_str(text).map_err(|e| InitError::Syntax {
        format: "YAML",
        message: e.to_string(),
    })?;
    docs.into_iter()
        .next()
        .filter(Yaml::is_hash)
        .ok_or_else(|| InitError::NotOpenApi3("not a mapping".into()))
}

/// `base_url` from `servers[0]` (variables filled with their defaults), and a note when it
/// had to be made up.
fn server(root: &Yaml) -> (String, Option<String>) {
    const PLACEHOLDER: &str = "http://127.0.0.1:8080";
    let first = &root["servers"][0];
    let Some(url) = first["url"].as_str() else {
        return (
            PLACEHOLDER.into(),
            Some("the document names no server: set the API's address here".into()),
        );
    };
    let mut url = url.to_string();
    for (k, v) in first["variables"].as_hash().into_iter().flatten() {
        if let (Some(k), Some(d)) = (k.as_str(), v["default"].as_str()) {
            url = url.replace(&format!("{{{k}}}"), d);
        }
    }
    if let Ok(base) = base_url(&url) {
        return (base, None);
    }
    let prefix = url.trim_end_matches('/');
    if prefix.starts_with('/') && !prefix.contains(['{', '?']) {
        return (
            format!("{PLACEHOLDER}{prefix}"),
            Some(format!(
                "servers[0].url is relative (`{url}`): set the API's address before it"
            )),
        );
    }
    (
        PLACEHOLDER.into(),
        Some(format!(
            "servers[0].url (`{url}`) is not an http(s) URL: set the API's address here"
        )),
    )
}

/// A commented `headers` line for the document's first header-borne security scheme.
fn auth_hint(doc: &Doc<'_>) -> Option<String> {
    let schemes = doc.root["components"]["securitySchemes"].as_hash()?;
    schemes.iter().find_map(|(name, scheme)| {
        let scheme = doc.resolve(scheme)?;
        let name = name.as_str().unwrap_or("the");
        let header = match (
            scheme["type"].as_str()?,
            scheme["scheme"].as_str().map(str::to_ascii_lowercase),
        ) {
            ("http", Some(s)) if s == "bearer" => {
                "authorization = \"Bearer ${API_TOKEN}\"".to_string()
            }
            ("http", Some(s)) if s == "basic" => {
                "authorization = \"Basic ${API_BASIC_AUTH}\"".to_string()
            }
            ("oauth2" | "openIdConnect", _) => {
                "authorization = \"Bearer ${API_TOKEN}\"".to_string()
            }
            ("apiKey", _) if scheme["in"].as_str() == Some("header") => format!(
                "{} = \"${{API_KEY}}\"",
                emit::key(&scheme["name"].as_str()?.to_ascii_lowercase())
            ),
            _ => return None,
        };
        Some(format!(
            "# headers = {{ {header} }}   # `{name}` authentication: uncomment and export the variable\n"
        ))
    })
}

#[cfg(test)]
mod tests;
