//! Scenario files (TOML): the serde model ([`raw`]), validation into a [`crate::plan::Plan`],
//! and errors with file, line and column. Every problem is reported at once.
//!
//! Loading goes: parse the TOML (all syntax errors) → apply `--set`/`--target` overrides to
//! the document → deserialize the raw model (unknown fields, wrong types) → build the plan,
//! collecting every semantic problem with the span of the offending value.
//!
//! # Format
//!
//! Top level: `name` (required, `[A-Za-z0-9_-]+`, the result folder's name), `description`.
//!
//! `[target]`: `base_url` (required): `http[s]://host:port`, or `embedded:<api>` with api one of
//! `supervisor`, `mesh`, `cache`, `all` (nexus-bench starts its reference server; with
//! `embedded_args = ["--tls"]` it serves HTTPS, trusted automatically); `embedded_args` (list, only with `embedded:`: extra `serve` arguments);
//! `headers` (table, templates with `${ENV}` but no variables); `http2` (default false;
//! true: h2c with prior knowledge over http://, h2 by ALPN over https://; "auto": ALPN only);
//! `tls` (table, see [`tls`]: `ca`, `insecure`, `client_cert`, `client_key`, `server_name`,
//! `min_version`, `alpn`, `resumption`);
//! `connect_timeout` (default `"2s"`); `max_body` (default `"16MB"`).
//!
//! `[load]`: `model` = `"closed"` | `"open"` (required). Closed: `users` + `duration`, or
//! `stages` whose targets are user counts; `think_time` (default 0). Open: `rate` (`"2000/s"`
//! or a number) + `duration`, or `stages` whose targets are rates; `max_in_flight` (default
//! 1000). With stages: `start` (level at t=0, default 0) and no `duration`. `warmup` (default 0:
//! a first stage holding the starting level, measured but excluded from SLOs), `drain`
//! (default `"2s"`).
//!
//! `[[data]]`: `name`, `file` (CSV with a header row, relative to the scenario's folder);
//! templates read columns as `{{ name.column }}`.
//!
//! `[[requests]]`: `name` (required, unique among requests and flow steps, `[A-Za-z0-9_-]+`),
//! `weight` (default 1, ≥ 1), `method` (default `GET`), exactly one of `path` (joined to
//! base_url) / `url` (absolute `http://`), `headers`, at most one of `body` (text template) /
//! `json` (table or array, templates inside strings, content type `application/json`) /
//! `body_file` (bytes, relative path), `content_type`, `timeout` (default `"10s"`), `expect` =
//! `{ status = [200, "2xx", "200-299"], body_contains = [".."], json = { "/ptr" = value } }`
//! (default status 200-399), `extract` = `{ var = { json = "/id" } | { header = "etag" } |
//! { regex = "id=(\\w+)" } }`.
//!
//! `[[flows]]`: `name`, `weight`, and `[[flows.steps]]` with the request fields except
//! `weight`. A step may use a variable only if an earlier step of the same flow extracts it.
//!
//! `[slo]`: `"[request.]metric" = "op limit"`. Metrics: `latency.<stat>`,
//! `service_time.<stat>` (stat: `pNN` with NN in (0, 100], `mean`, `min`, `max`; limit a
//! duration), `error_rate` and `expect_pass_rate` (a percentage), `throughput` (a rate). Ops:
//! `<`, `<=`, `>`, `>=`.
//!
//! `[target] command` (an `http://` base_url only) launches the target: program and
//! arguments; `env` (table), `cwd` (relative to the scenario's folder; default: the current
//! directory), `ready` (path joined to base_url or absolute URL polled until 2xx, default
//! `"/"`), `startup_timeout` (default `"10s"`). nexus-bench measures its start-up, memory
//! and CPU (SLOs `target.startup`, `target.rss.max`, `target.cpu.mean`, which need a
//! launched target: a `command` or `embedded:`) and stops it after the run.
//!
//! `[[probes]]`: `name`, `url` (path or absolute URL), exactly one of `json` (a JSON pointer
//! to a number or boolean) / `prometheus` (metric name, with optional `labels` table matched
//! exactly), `interval` (default `"1s"`). Read before, during and after the run; SLO key
//! `probe.<name>` judges the reading after the run.
//!
//! `[profile]`: `target = true` fetches the target's CPU profile (pprof) right after the
//! warm-up; `path` (default `"/debug/pprof/profile"`), `seconds` (default: the shorter of 10
//! and the measured duration minus 1 s). `heap = true` fetches the target's heap profile at
//! the start and at the end of the steady state (`heap_path`, default `"/debug/pprof/heap"`);
//! an embedded target then runs with `--heap-profiling`.
//!
//! `[baseline]`: the regression gate of `run --baseline` — `metrics` (any of `p50`, `p90`,
//! `p99`, `throughput`, `error_rate`), `max_regression` (default `"10%"`), `noise` (default
//! `"2%"`), `significance` (default 0.05). Command-line flags override them.
//!
//! Templates: see [`crate::plan::template`].

mod adhoc;
mod body;
mod build;
mod check;
mod describe;
mod errors;
mod expect;
mod init;
mod keys;
mod load;
mod observe;
mod openapi;
mod overrides;
pub mod raw;
mod request;
mod slo;
pub mod tls;
mod websocket;

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::de::DeTable;

pub use adhoc::{AdHoc, AdHocError};
pub use describe::describe;
pub use errors::{ScenarioError, ScenarioErrors};
pub use init::{InitError, scenario_name, starter};
pub use openapi::{OpenApiSource, scenario_from_openapi};
pub use overrides::Overrides;
pub use slo::{SloError, parse_slo};

use crate::plan::{Plan, Source};
use check::Ctx;
use errors::Locator;

/// Reads and validates a scenario file (`-`: standard input, with data files relative to the
/// working directory), with environment variables from the process.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Plan, ScenarioErrors> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    };
    let text = text.map_err(|e| {
        ScenarioErrors(vec![ScenarioError {
            file: path.to_path_buf(),
            line: 0,
            col: 0,
            message: format!("cannot read the scenario: {e}"),
            help: None,
        }])
    })?;
    load_str(&text, path, overrides, &|name| std::env::var(name).ok())
}

/// Validates scenario `text` as if read from `path` (which locates data and body files).
pub fn load_str(
    text: &str,
    path: &Path,
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, ScenarioErrors> {
    let entries = overrides.entries();
    let mut labels: Vec<String> = entries.iter().map(|(l, _, _)| l.clone()).collect();
    labels.extend(
        overrides
            .duration
            .as_ref()
            .map(|d| format!("--duration {d}")),
    );
    let loc = Locator::new(path, text, labels);

    let (mut doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        return Err(ScenarioErrors(
            syntax.iter().map(|e| errors::from_toml(&loc, e)).collect(),
        ));
    }
    let mut problems = Vec::new();
    for (i, (_, key, value)) in entries.iter().enumerate() {
        if let Err((msg, help)) = overrides::apply(doc.get_mut(), key, value, loc.override_span(i))
        {
            problems.push(loc.error(loc.override_span(i), msg, help));
        }
    }
    if !problems.is_empty() {
        return Err(ScenarioErrors(problems));
    }
    let mut unknown = keys::unknown_keys(&loc, doc.get_ref());
    if !unknown.is_empty() {
        unknown.sort_by_key(|e| (e.line == 0, e.line, e.col));
        return Err(ScenarioErrors(unknown));
    }
    let raw = raw::RawScenario::deserialize(toml::de::Deserializer::from(doc))
        .map_err(|e| ScenarioErrors(vec![errors::from_toml(&loc, &e)]))?;

    let source = Source {
        file: path.to_path_buf(),
        sha256: Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    };
    let duration = overrides
        .duration
        .as_deref()
        .map(|d| (d, loc.override_span(entries.len())));
    let mut ctx = Ctx {
        loc,
        errors: Vec::new(),
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        env,
    };
    let plan = build::plan(&mut ctx, &raw, source, duration);
    if ctx.errors.is_empty() {
        Ok(plan)
    } else {
        let mut errors = ctx.errors;
        errors.sort_by_key(|e| (e.line == 0, e.line, e.col));
        Err(ScenarioErrors(errors))
    }
}

/// JSON Schema of scenario files, generated from the raw serde model.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(raw::RawScenario)).expect("schemas serialize")
}
