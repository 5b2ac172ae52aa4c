//! Ad-hoc runs (`nexus-bench run --url URL -c 32 -d 10s`): the command-line flags become the
//! text of a scenario file, which then goes through exactly the same loading, checks and run
//! path as a file would. `--print-scenario` shows that text, so a one-liner graduates into a
//! file unchanged.

use toml::{Table, Value};

/// What the ad-hoc flags asked for.
#[derive(Debug, Clone, Default)]
pub struct AdHoc {
    /// The URL to load (`http://` or `https://`, with path and query).
    pub url: String,
    /// Closed model: this many virtual users.
    pub users: Option<u32>,
    /// Open model: arrivals per second (`500` or `500/s`).
    pub rate: Option<String>,
    /// Measured duration (`10s`).
    pub duration: String,
    /// HTTP method.
    pub method: String,
    /// Headers as `name: value`.
    pub headers: Vec<String>,
    /// Request body, sent as is.
    pub body: Option<String>,
    /// SLOs as `metric<limit` (`latency.p99<50ms`, `error_rate<1%`, `throughput>100/s`).
    pub slos: Vec<String>,
}

/// A flag that cannot become a scenario.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AdHocError {
    /// The URL is not an absolute http(s) URL.
    #[error(
        "--url `{0}`: write an absolute http:// or https:// URL, e.g. http://127.0.0.1:8080/healthz"
    )]
    Url(String),
    /// A header is not `name: value`.
    #[error("-H `{0}`: write a header as `name: value`, e.g. -H 'accept: application/json'")]
    Header(String),
    /// An SLO is not `metric<op>limit`.
    #[error(
        "--slo `{0}`: write a metric, a comparison and a limit, e.g. --slo 'latency.p99<50ms' or --slo 'throughput>100/s'"
    )]
    Slo(String),
    /// Both models asked for.
    #[error(
        "-c (users, closed model) and --rate (arrivals, open model) exclude each other: choose one"
    )]
    Model,
}

impl AdHoc {
    /// The scenario file text these flags stand for, with a comment saying how it was made.
    pub fn to_toml(&self) -> Result<String, AdHocError> {
        let uri: http::Uri = self
            .url
            .parse()
            .map_err(|_| AdHocError::Url(self.url.clone()))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(AdHocError::Url(self.url.clone()));
        };
        if scheme != "http" && scheme != "https" {
            return Err(AdHocError::Url(self.url.clone()));
        }
        let path = uri.path_and_query().map_or("/", |p| p.as_str());

        let mut doc = Table::new();
        doc.insert(
            "name".into(),
            Value::String(name_of(uri.host().unwrap_or("adhoc"))),
        );
        doc.insert(
            "description".into(),
            Value::String(format!("{} {} (ad-hoc run)", self.method, self.url)),
        );
        let mut target = Table::new();
        target.insert(
            "base_url".into(),
            Value::String(format!("{scheme}://{authority}")),
        );
        doc.insert("target".into(), Value::Table(target));

        let mut load = Table::new();
        match (&self.users, &self.rate) {
            (Some(_), Some(_)) => return Err(AdHocError::Model),
            (None, Some(rate)) => {
                load.insert("model".into(), "open".into());
                let rate = if rate.contains('/') {
                    rate.clone()
                } else {
                    format!("{rate}/s")
                };
                load.insert("rate".into(), Value::String(rate));
            }
            (users, None) => {
                load.insert("model".into(), "closed".into());
                load.insert("users".into(), Value::Integer(users.unwrap_or(8).into()));
            }
        }
        load.insert("duration".into(), Value::String(self.duration.clone()));
        load.insert("warmup".into(), "0s".into());
        doc.insert("load".into(), Value::Table(load));

        let mut request = Table::new();
        request.insert("name".into(), "request".into());
        request.insert("method".into(), Value::String(self.method.to_uppercase()));
        request.insert("path".into(), Value::String(path.into()));
        if !self.headers.is_empty() {
            let mut headers = Table::new();
            for h in &self.headers {
                let (name, value) = h
                    .split_once(':')
                    .filter(|(n, _)| !n.trim().is_empty())
                    .ok_or_else(|| AdHocError::Header(h.clone()))?;
                headers.insert(name.trim().into(), Value::String(value.trim().into()));
            }
            request.insert("headers".into(), Value::Table(headers));
        }
        if let Some(body) = &self.body {
            request.insert("body".into(), Value::String(body.clone()));
        }
        doc.insert("requests".into(), Value::Array(vec![Value::Table(request)]));

        if !self.slos.is_empty() {
            let mut slo = Table::new();
            for text in &self.slos {
                let (metric, limit) = split_slo(text)?;
                slo.insert(metric, Value::String(limit));
            }
            doc.insert("slo".into(), Value::Table(slo));
        }
        // Written section by section in the order a person reads a scenario (one table
        // would come out alphabetical).
        let mut text = String::from(
            "# Written by `nexus-bench run --url`; save it as a scenario file and run it with\n\
             # `nexus-bench run FILE`. Paths and bodies are templates: `{{ … }}` is expanded.\n",
        );
        for keys in [
            &["name", "description"][..],
            &["target"],
            &["load"],
            &["requests"],
            &["slo"],
        ] {
            let section: Table = keys
                .iter()
                .filter_map(|k| doc.remove(*k).map(|v| (k.to_string(), v)))
                .collect();
            if !section.is_empty() {
                let part =
                    toml::to_string(&section).map_err(|_| AdHocError::Url(self.url.clone()))?;
                text.push('\n');
                text.push_str(&part);
            }
        }
        Ok(text)
    }
}

/// A scenario name from a host: `api.example.com` → `api-example-com`, `[::1]` → `ipv6-1`.
fn name_of(host: &str) -> String {
    let host = host.trim_matches(|c| c == '[' || c == ']');
    let prefix = if host.contains(':') { "ipv6-" } else { "" };
    let name: String = host
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = name.trim_matches('-');
    if name.is_empty() {
        "adhoc".into()
    } else {
        format!("{prefix}{name}")
    }
}

/// `latency.p99<50ms` → (`latency.p99`, `< 50ms`).
fn split_slo(text: &str) -> Result<(String, String), AdHocError> {
    let at = text
        .find(['<', '>'])
        .ok_or_else(|| AdHocError::Slo(text.into()))?;
    let (metric, rest) = text.split_at(at);
    let (op, limit) = if rest[1..].starts_with('=') {
        rest.split_at(2)
    } else {
        rest.split_at(1)
    };
    let (metric, limit) = (metric.trim(), limit.trim());
    if metric.is_empty() || limit.is_empty() {
        return Err(AdHocError::Slo(text.into()));
    }
    Ok((metric.into(), format!("{op} {limit}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adhoc(url: &str) -> AdHoc {
        AdHoc {
            url: url.into(),
            duration: "10s".into(),
            method: "GET".into(),
            ..AdHoc::default()
        }
    }

    #[test]
    fn a_url_becomes_a_closed_scenario_named_after_its_host() {
        let text = adhoc("http://api.example.com:8080/v1/items?x=1")
            .to_toml()
            .unwrap();
        let doc: Table = toml::from_str(&text).unwrap();
        assert_eq!(doc["name"].as_str(), Some("api-example-com"));
        assert_eq!(
            doc["target"]["base_url"].as_str(),
            Some("http://api.example.com:8080")
        );
        assert_eq!(doc["load"]["model"].as_str(), Some("closed"));
        assert_eq!(doc["load"]["users"].as_integer(), Some(8));
        let request = &doc["requests"][0];
        assert_eq!(request["path"].as_str(), Some("/v1/items?x=1"));
        assert_eq!(request["method"].as_str(), Some("GET"));
    }

    #[test]
    fn rate_headers_body_and_slos_are_carried_over() {
        let mut a = adhoc("https://[::1]:8443/");
        a.rate = Some("500".into());
        a.method = "post".into();
        a.headers = vec!["content-type: application/json".into(), "x-a:b: c".into()];
        a.body = Some(r#"{"k": "a \"quoted\" value"}"#.into());
        a.slos = vec!["latency.p99<50ms".into(), "throughput >= 100/s".into()];
        let doc: Table = toml::from_str(&a.to_toml().unwrap()).unwrap();
        assert_eq!(doc["name"].as_str(), Some("ipv6-1"));
        assert_eq!(doc["load"]["rate"].as_str(), Some("500/s"));
        let request = &doc["requests"][0];
        assert_eq!(request["method"].as_str(), Some("POST"));
        assert_eq!(
            request["headers"]["x-a"].as_str(),
            Some("b: c"),
            "a value may hold a colon"
        );
        assert_eq!(
            request["body"].as_str(),
            Some(r#"{"k": "a \"quoted\" value"}"#)
        );
        assert_eq!(doc["slo"]["latency.p99"].as_str(), Some("< 50ms"));
        assert_eq!(doc["slo"]["throughput"].as_str(), Some(">= 100/s"));
    }

    #[test]
    fn mistakes_say_what_to_write() {
        assert!(matches!(
            adhoc("example.com").to_toml(),
            Err(AdHocError::Url(_))
        ));
        assert!(matches!(
            adhoc("ftp://example.com/").to_toml(),
            Err(AdHocError::Url(_))
        ));
        let mut a = adhoc("http://h/");
        a.headers = vec!["no-colon".into()];
        assert!(matches!(a.to_toml(), Err(AdHocError::Header(_))));
        let mut a = adhoc("http://h/");
        a.slos = vec!["latency.p99 50ms".into()];
        assert!(matches!(a.to_toml(), Err(AdHocError::Slo(_))));
        let mut a = adhoc("http://h/");
        (a.users, a.rate) = (Some(4), Some("10".into()));
        assert_eq!(a.to_toml(), Err(AdHocError::Model));
    }
}
