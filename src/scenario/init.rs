//! `nexus-bench init`: the text of a commented starter scenario, against the embedded
//! reference target or a given URL. The text is a template kept in this file; it validates
//! and runs as written (the tests load it through [`super::load_str`] and run it).
//! Scenarios from an OpenAPI document are [`super::scenario_from_openapi`]'s.

/// Why `init` cannot write a scenario.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InitError {
    /// `--url` is not an absolute http(s) URL without a query.
    #[error(
        "--url `{0}`: write the service's base URL, http:// or https:// with an optional path prefix and no query, e.g. http://127.0.0.1:8080 or https://api.example.com/v1"
    )]
    Url(String),
    /// The OpenAPI document cannot be parsed.
    #[error("the OpenAPI document is not valid {format}: {message}")]
    Syntax {
        /// `JSON` or `YAML`.
        format: &'static str,
        /// The parser's message, with the line and column.
        message: String,
    },
    /// The document is not OpenAPI 3.
    #[error(
        "not an OpenAPI 3 document ({0}); init reads OpenAPI 3.0 and 3.1 (convert a Swagger 2.0 document first, e.g. with swagger2openapi)"
    )]
    NotOpenApi3(String),
    /// No operation could become a request.
    #[error(
        "the OpenAPI document has no operation nexus-bench can send (none under `paths`, or all skipped)"
    )]
    NoOperations,
}

/// The starter scenario's text. `name` names the scenario (made `[A-Za-z0-9_-]`);
/// `url` points it at a service instead of the embedded reference target.
pub fn starter(name: &str, url: Option<&str>) -> Result<String, InitError> {
    let (base_url, target_note) = match url {
        None => (
            "embedded:all".to_string(),
            "# \"embedded:all\" starts nexus-bench's own reference target (the supervisor, mesh and\n\
             # cache APIs of `nexus-bench serve`) on a free loopback port for the run, so this file\n\
             # runs as written. Point it at your service with e.g. \"http://127.0.0.1:8080\" (an\n\
             # optional path prefix is joined to every path), or pass `run --target URL`.\n",
        ),
        Some(url) => (
            base_url(url)?,
            "# The requests below are written for nexus-bench's reference target (`nexus-bench\n\
             # serve`): replace their paths and bodies with your API's. `run --target URL` sends\n\
             # the same scenario elsewhere without editing it.\n",
        ),
    };
    Ok(STARTER
        .replace("@NAME@", &scenario_name(name, "starter"))
        .replace("@TARGET_NOTE@", target_note)
        .replace("@BASE_URL@", &toml_string(&base_url)))
}

/// `url` as a scenario's `base_url`: scheme, authority and path prefix, no trailing slash.
pub(crate) fn base_url(url: &str) -> Result<String, InitError> {
    let bad = || InitError::Url(url.to_string());
    let uri: http::Uri = url.trim().parse().map_err(|_| bad())?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(bad());
    };
    if !matches!(scheme, "http" | "https") || uri.query().is_some() || authority.host().is_empty() {
        return Err(bad());
    }
    Ok(format!(
        "{scheme}://{authority}{}",
        uri.path().trim_end_matches('/')
    ))
}

/// `text` as a scenario name (`[A-Za-z0-9_-]+`): other characters become `-`, runs of `-`
/// collapse; `fallback` when nothing is left.
pub fn scenario_name(text: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() {
        fallback.to_string()
    } else {
        out.to_string()
    }
}

/// A TOML basic string: quoted, with `"`, `\` and control characters escaped.
pub(crate) fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The starter, with `@NAME@`, `@TARGET_NOTE@` and `@BASE_URL@` to fill in. Every section is
/// live (it validates and runs as written); the commented lines show the alternatives.
const STARTER: &str = r##"# A starter scenario written by `nexus-bench init`. Check it with `nexus-bench validate FILE`
# and run it with `nexus-bench run FILE`. Every key is described under "Scenario files" in the
# README, and `nexus-bench schema scenario` prints the JSON Schema for editor completion.

# The name is the result folder's: reports/<name>/<UTC time>/.
name = "@NAME@"
description = "A starter: a weighted request mix and a flow that carries a value between steps"

# Where the load goes.
@TARGET_NOTE@[target]
base_url = @BASE_URL@
# headers = { authorization = "Bearer ${API_TOKEN}" }   # sent with every request; ${VAR} reads the environment
# http2 = true                                           # h2c over http://, h2 by ALPN over https://
# connect_timeout = "2s"

# How much load, for how long. The closed model runs `users` virtual users; each sends its
# next request when the previous one has answered (plus `think_time`), so throughput follows
# the service's speed. The open model instead sends `rate` arrivals per second whatever the
# service does, and counts latency from each request's intended start (coordinated omission
# corrected): use it to hold latency SLOs at a given traffic. To switch, write:
#   model = "open"
#   rate = "200/s"              # or stages = [ { duration = "10s", target = "500/s" } ] for a ramp
#   max_in_flight = 1000        # arrivals beyond this are dropped and counted
[load]
model = "closed"
users = 8
duration = "10s"
warmup = "2s"                   # measured and shown, but left out of the summaries and SLOs
# think_time = "100ms"          # closed model: pause between a user's iterations
# stages = [ { duration = "5s", target = 16 }, { duration = "10s", target = 16 } ]   # a ramp instead of users + duration

# Requests: every iteration of a user picks one request or flow, in proportion to `weight`.
[[requests]]
name = "health"                 # the metrics key: unique, [A-Za-z0-9_-]
weight = 4                      # four times as often as a weight of 1 (the default)
path = "/api/health"            # joined to base_url; `method` defaults to GET
expect = { status = [200], body_contains = ["status"] }   # without `expect`: any 200-399 status passes

[[requests]]
name = "cache-set"
weight = 2
method = "POST"
path = "/api/v1/cache/set"
# Paths, headers and bodies are templates: {{ counter }} (run-wide), {{ vu }}, {{ iteration }},
# {{ uuid }}, {{ random_int(1, 1000) }}, {{ random_string(16) }}, ${ENV_VAR}.
json = { key = "key-{{ random_int(1, 1000) }}", value = { n = "{{ counter }}" }, ttl_s = 60 }
expect = { status = [200, 201] }
timeout = "5s"                  # default 10s

# A flow: steps in order, one iteration of one user. `extract` keeps a value from a response
# (a JSON pointer, a header or a regex) for the later steps of the same flow.
[[flows]]
name = "agent"
weight = 1

[[flows.steps]]
name = "register"
method = "POST"
path = "/api/agents"
json = { name = "agent-{{ uuid }}", capabilities = ["gpu"], capacity = 8 }
expect = { status = [201] }
extract = { agent_id = { json = "/agent_id" } }   # or { header = "location" }, { regex = "id=(\\w+)" }

[[flows.steps]]
name = "read-agent"
path = "/api/agents/{{ agent_id }}"
expect = { status = [200], json = { "/capacity" = 8 } }

# SLOs decide the verdict: exit 0 when every one holds, 1 when one fails. Keys are
# "[request.]metric": latency.pNN / mean / max, error_rate, throughput, expect_pass_rate, …
[slo]
"latency.p99" = "< 500ms"
"health.latency.p95" = "< 250ms"
"error_rate" = "< 1%"
# "throughput" = "> 100/s"
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Overrides, load_str};
    use std::path::Path;

    fn validates(text: &str) -> crate::plan::Plan {
        load_str(
            text,
            Path::new("starter.toml"),
            &Overrides::default(),
            &|_| None,
        )
        .unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
    }

    #[test]
    fn the_starter_validates_as_written() {
        let text = starter("my api", None).unwrap();
        let plan = validates(&text);
        assert_eq!(plan.name, "my-api");
        assert!(text.contains("base_url = \"embedded:all\""));
        for section in [
            "[target]",
            "[load]",
            "[[requests]]",
            "[[flows.steps]]",
            "[slo]",
        ] {
            assert!(text.contains(section), "{section} missing");
        }
        assert!(
            text.contains("model = \"open\""),
            "the open model is explained"
        );
    }

    #[test]
    fn a_url_points_the_starter_at_it() {
        let text = starter("x", Some("https://api.example.com:8443/v1/")).unwrap();
        validates(&text);
        assert!(text.contains("base_url = \"https://api.example.com:8443/v1\""));
        for bad in [
            "api.example.com",
            "ftp://h/",
            "http://h/x?y=1",
            "http:///path",
        ] {
            assert_eq!(starter("x", Some(bad)), Err(InitError::Url(bad.into())));
        }
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(
            scenario_name("Pet Store API (v2)", "api"),
            "Pet-Store-API-v2"
        );
        assert_eq!(scenario_name("  ", "api"), "api");
        assert_eq!(scenario_name("a_b-c", "api"), "a_b-c");
    }

    #[test]
    fn toml_strings_escape() {
        assert_eq!(toml_string("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
    }
}
