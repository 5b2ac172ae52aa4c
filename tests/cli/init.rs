//! `nexus-bench init`: the starter validates and runs as written (against the embedded target,
//! and with `--url` against a real `serve`); `-o` never overwrites without `--force`; the
//! committed OpenAPI document of the reference target is what `serve --openapi` prints, every
//! operation in it is routed by the server and answers a status it documents, and the scenario
//! `init --openapi` makes of it runs against `serve` without an unexpected status.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use crate::support::{
    BIN, Served, declared_names, failed_only_on_timing_of_a_busy_machine, load_lock, repo,
    result_json, run, run_dir,
};

const DOC: &str = "docs/openapi/reference.yaml";

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Runs `scenario` for 2 s (no warm-up) and returns its result, asserting the exit code is 0
/// (or failed only on timing, on a machine nexus-bench itself calls busy).
fn short_run(scenario: &Path, target: Option<&str>, out: &Path, name: &str) -> Value {
    let mut args = vec![
        "run",
        path_str(scenario),
        "--duration",
        "2s",
        "--set",
        "load.warmup=0s",
        "--out",
        path_str(out),
        "--quiet",
    ];
    if let Some(target) = target {
        args.extend(["--target", target]);
    }
    let _serial = load_lock();
    let done = run(&args, Duration::from_secs(60));
    let result = result_json(&run_dir(out, name));
    assert!(
        done.code() == 0 || failed_only_on_timing_of_a_busy_machine(&result),
        "exit {}; stderr:\n{}",
        done.code(),
        done.stderr
    );
    result
}

/// Every request name the scenario declares was sent and answered without an error.
fn every_request_answered(scenario: &Path, result: &Value) {
    assert_eq!(result["totals"]["errors"], 0, "{}", result["totals"]);
    for name in declared_names(scenario) {
        let endpoint = result["endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .find(|e| e["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no endpoint {name} in the result"));
        assert!(
            endpoint["requests"].as_u64().unwrap_or(0) > 0,
            "{name} was never sent"
        );
        assert_eq!(
            endpoint["error_kinds"],
            serde_json::json!({}),
            "{name}: {}",
            endpoint["status"]
        );
    }
}

#[test]
fn the_starter_validates_and_runs_as_written() {
    let printed = run(&["init"], Duration::from_secs(10));
    assert_eq!(printed.code(), 0, "{}", printed.stderr);
    assert!(printed.stderr.is_empty(), "stdout only: {}", printed.stderr);
    let doc: toml::Table = toml::from_str(&printed.stdout).expect("the starter is TOML");
    assert_eq!(doc["target"]["base_url"].as_str(), Some("embedded:all"));
    assert!(doc["flows"][0]["steps"][0].get("extract").is_some());
    for explained in ["model = \"open\"", "rate = ", "think_time", "# SLOs"] {
        assert!(printed.stdout.contains(explained), "{explained} missing");
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("starter.toml");
    std::fs::write(&file, &printed.stdout).expect("write");
    let valid = run(&["validate", path_str(&file)], Duration::from_secs(10));
    assert_eq!(valid.code(), 0, "{}", valid.stderr);
    let result = short_run(&file, None, &dir.path().join("out"), "starter");
    every_request_answered(&file, &result);
}

#[test]
fn a_url_starter_runs_against_that_service() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("scenarios/local.toml");
    let written = run(
        &["init", "--url", &served.url, "-o", path_str(&file)],
        Duration::from_secs(10),
    );
    assert_eq!(written.code(), 0, "{}", written.stderr);
    assert!(written.stdout.is_empty(), "the file, not stdout");
    assert!(written.stderr.contains("wrote"), "{}", written.stderr);
    let doc: toml::Table =
        toml::from_str(&std::fs::read_to_string(&file).expect("written")).expect("TOML");
    assert_eq!(doc["name"].as_str(), Some("local"), "named after the file");
    assert_eq!(
        doc["target"]["base_url"].as_str(),
        Some(served.url.as_str())
    );
    let result = short_run(&file, None, &dir.path().join("out"), "local");
    every_request_answered(&file, &result);
}

#[test]
fn an_existing_file_is_kept_without_force() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, "# my own scenario\n").expect("write");
    let refused = run(&["init", "-o", path_str(&file)], Duration::from_secs(10));
    assert_eq!(refused.code(), 2);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(
        std::fs::read_to_string(&file).expect("kept"),
        "# my own scenario\n"
    );
    let forced = run(
        &["init", "-o", path_str(&file), "--force"],
        Duration::from_secs(10),
    );
    assert_eq!(forced.code(), 0, "{}", forced.stderr);
    assert!(
        std::fs::read_to_string(&file)
            .expect("written")
            .contains("name = \"mine\"")
    );

    let bad = run(
        &["init", "--url", "localhost:8080"],
        Duration::from_secs(10),
    );
    assert_eq!(bad.code(), 2);
    assert!(bad.stderr.contains("http://"), "{}", bad.stderr);
    let missing = run(
        &["init", "--openapi", path_str(&dir.path().join("none.yaml"))],
        Duration::from_secs(10),
    );
    assert_eq!(missing.code(), 2);
    assert!(missing.stderr.contains("cannot read"), "{}", missing.stderr);
    let not_yaml = dir.path().join("broken.yaml");
    std::fs::write(&not_yaml, "openapi: [3\npaths: {").expect("write");
    let broken = run(
        &["init", "--openapi", path_str(&not_yaml)],
        Duration::from_secs(10),
    );
    assert_eq!(broken.code(), 2);
    assert!(
        broken.stderr.contains("not valid YAML"),
        "{}",
        broken.stderr
    );
}

/// `serve --openapi` prints the committed document, and `init --openapi -` reads it from a
/// pipe as it would from the file.
#[test]
fn serve_prints_the_committed_openapi_document() {
    let printed = run(&["serve", "--openapi"], Duration::from_secs(10));
    assert_eq!(printed.code(), 0, "{}", printed.stderr);
    let committed = std::fs::read_to_string(repo(DOC)).expect("committed document");
    assert_eq!(printed.stdout, committed);

    let mut child = Command::new(BIN)
        .args(["init", "--openapi", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn init");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(printed.stdout.as_bytes())
        .expect("write stdin");
    let piped = child.wait_with_output().expect("init from stdin");
    assert_eq!(piped.status.code(), Some(0));
    let from_file = run(
        &["init", "--openapi", path_str(&repo(DOC))],
        Duration::from_secs(10),
    );
    // What each operation of the reference document becomes, reviewed as a whole.
    insta::assert_snapshot!("init_openapi_reference", from_file.stdout);
    let body = |text: &str| text.split_once('\n').map(|(_, rest)| rest.to_string());
    assert_eq!(
        body(&String::from_utf8_lossy(&piped.stdout)),
        body(&from_file.stdout),
        "the same scenario but for the first line's file name"
    );
}

/// The document describes every route the reference server registers (read from its
/// source), with the same methods: a route added without documenting it fails here. The
/// pprof route is left out on purpose (a request takes seconds).
#[test]
fn every_route_of_the_server_is_documented() {
    let doc = document();
    let documented: Vec<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(method, path, _, _)| (method, path))
        .collect();
    let route = regex::Regex::new(r#"\.route\(\s*"([^"]+)",([^;]*?)\)\s*(?:\.route|\.with_state|\.merge|\.fallback|\.layer|;|$)"#)
        .expect("regex");
    let method = regex::Regex::new(r"\b(get|post|put|delete|patch)\(").expect("regex");
    let mut seen = 0;
    for file in [
        "src/reference/mod.rs",
        "src/reference/supervisor.rs",
        "src/reference/mesh/mod.rs",
        "src/reference/cache.rs",
    ] {
        let source = std::fs::read_to_string(repo(file)).expect("source");
        for line in source
            .lines()
            .filter(|l| l.trim_start().starts_with(".route("))
        {
            let caps = route
                .captures(line.trim())
                .unwrap_or_else(|| panic!("{file}: cannot read {line:?}"));
            let path = &caps[1];
            // The profiling endpoints (CPU, heap) are diagnostics, not part of the APIs.
            if path.starts_with("/debug/pprof/") {
                continue;
            }
            for m in method.captures_iter(&caps[2]) {
                seen += 1;
                assert!(
                    documented.contains(&(m[1].to_string(), path.to_string())),
                    "{} {path} ({file}) is not in {DOC}",
                    m[1].to_uppercase()
                );
            }
        }
    }
    assert_eq!(
        seen,
        documented.len(),
        "routes in the source vs the document"
    );
}

/// The scenario made from the document runs against the server with every status it meets
/// documented: no `unexpected_status`, and no body the server found malformed (400, 415).
#[test]
fn the_openapi_scenario_runs_against_serve_without_an_unexpected_status() {
    let served = Served::start(&[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("reference.toml");
    let written = run(
        &[
            "init",
            "--openapi",
            path_str(&repo(DOC)),
            "-o",
            path_str(&file),
        ],
        Duration::from_secs(10),
    );
    assert_eq!(written.code(), 0, "{}", written.stderr);
    let text = std::fs::read_to_string(&file).expect("written");
    assert!(text.contains("# - GET /ws: answers 101"), "{text}");
    let valid = run(&["validate", path_str(&file)], Duration::from_secs(10));
    assert_eq!(valid.code(), 0, "{}", valid.stderr);

    let result = short_run(
        &file,
        Some(&served.url),
        &dir.path().join("out"),
        "reference",
    );
    every_request_answered(&file, &result);
    let names = declared_names(&file);
    assert_eq!(
        names.len(),
        operations(&document()).len() - 2,
        "all but the two WebSockets"
    );
    for endpoint in result["endpoints"].as_array().expect("endpoints") {
        let statuses = endpoint["status"].as_object().expect("status counts");
        assert!(
            !statuses.contains_key("400") && !statuses.contains_key("415"),
            "{}: a malformed request: {statuses:?}",
            endpoint["name"]
        );
    }
}

/// Every path and method of the document reaches a handler of the server (not the 404 of
/// an unknown route, not 405) and answers one of the statuses documented for it.
#[test]
fn every_documented_operation_is_routed_by_the_server() {
    let served = Served::start(&[]);
    let addr = served.url.trim_start_matches("http://").to_string();
    let doc = document();
    let ops = operations(&doc);
    assert!(ops.len() >= 20, "{} operations", ops.len());
    for (method, path, op, params) in ops {
        let target = fill_path(&doc, &path, &params);
        let documented: Vec<String> = op["responses"]
            .as_hash()
            .expect("responses")
            .keys()
            .map(|k| match k {
                Yaml::String(s) => s.clone(),
                Yaml::Integer(i) => i.to_string(),
                other => panic!("status key {other:?}"),
            })
            .collect();
        let (status, body) = if documented.iter().any(|s| s == "101") {
            (upgrade(&addr, &target), String::new())
        } else {
            send(&addr, &method, &target, json_body(&doc, &op).as_deref())
        };
        let what = format!("{} {target}", method.to_uppercase());
        assert_ne!(status, 405, "{what}: method not allowed");
        assert!(
            !(status == 404 && body.contains("no such route")),
            "{what}: not routed"
        );
        assert!(
            documented.contains(&status.to_string()),
            "{what}: {status} is not among the documented {documented:?}: {body}"
        );
    }
}

fn document() -> Yaml {
    let text = std::fs::read_to_string(repo(DOC)).expect("document");
    YamlLoader::load_from_str(&text)
        .expect("the document is YAML")
        .remove(0)
}

/// `(method, path, operation, parameters of the path item and the operation)` in order.
fn operations(doc: &Yaml) -> Vec<(String, String, Yaml, Vec<Yaml>)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_hash().expect("paths") {
        let path = path.as_str().expect("path").to_string();
        let shared = item["parameters"].as_vec().cloned().unwrap_or_default();
        for (method, op) in item.as_hash().expect("path item") {
            let method = method.as_str().expect("method");
            if method == "parameters" {
                continue;
            }
            let mut params = shared.clone();
            params.extend(op["parameters"].as_vec().cloned().unwrap_or_default());
            out.push((method.to_string(), path.clone(), op.clone(), params));
        }
    }
    out
}

/// A `#/…` reference of the document, or the node itself.
fn resolve<'a>(doc: &'a Yaml, node: &'a Yaml) -> &'a Yaml {
    match node["$ref"].as_str() {
        Some(r) => r
            .trim_start_matches("#/")
            .split('/')
            .fold(doc, |at, key| &at[key]),
        None => node,
    }
}

/// The path with each `{name}` replaced by its parameter's example (or first enum value).
fn fill_path(doc: &Yaml, path: &str, params: &[Yaml]) -> String {
    let mut out = path.to_string();
    for p in params.iter().map(|p| resolve(doc, p)) {
        if p["in"].as_str() != Some("path") {
            continue;
        }
        let name = p["name"].as_str().expect("name");
        let value = p["example"]
            .as_str()
            .or_else(|| p["schema"]["enum"][0].as_str())
            .unwrap_or_else(|| panic!("path parameter {name} of {path} has no example"));
        out = out.replace(&format!("{{{name}}}"), value);
    }
    assert!(!out.contains('{'), "{path}: an undeclared path parameter");
    out
}

/// A JSON body from the examples of the request body's properties.
fn json_body(doc: &Yaml, op: &Yaml) -> Option<String> {
    let schema = resolve(
        doc,
        &op["requestBody"]["content"]["application/json"]["schema"],
    );
    let props = schema["properties"].as_hash()?;
    let mut body = serde_json::Map::new();
    for (k, v) in props {
        if !v["example"].is_badvalue() {
            body.insert(k.as_str().expect("key").into(), to_json(&v["example"]));
        }
    }
    Some(Value::Object(body).to_string())
}

fn to_json(v: &Yaml) -> Value {
    match v {
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(r) => Value::from(r.parse::<f64>().expect("float")),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| (k.as_str().expect("key").to_string(), to_json(v)))
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// One HTTP/1.1 request on a fresh connection: the status and the body text.
fn send(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let body = body.unwrap_or("");
    let request = format!(
        "{} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        method.to_uppercase(),
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    (status_of(&answer), answer)
}

/// A WebSocket handshake: the status of the answer (101 when it upgraded).
fn upgrade(addr: &str, path: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .expect("status line");
    status_of(&line)
}

fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}
