//! The Prometheus text exposition format, just enough to read one sample:
//! `name{label="value",…} value [timestamp]` lines; `#` comments and blank lines skipped.

use super::ProbeError;

/// A line of Prometheus text format that does not parse: what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LineError(pub String);

impl LineError {
    fn new(message: impl Into<String>) -> Self {
        LineError(message.into())
    }
}

/// One parsed sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub name: String,
    /// Labels in the order written.
    pub labels: Vec<(String, String)>,
    /// The value (`NaN`, `+Inf` and `-Inf` included).
    pub value: f64,
}

/// Parses one sample line; `None` for comments and blank lines.
pub fn parse_line(line: &str) -> Option<Result<Sample, LineError>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    Some(parse_sample(line))
}

fn parse_sample(line: &str) -> Result<Sample, LineError> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or_else(|| LineError::new(format!("no value in `{line}`")))?;
    let name = &line[..name_end];
    if name.is_empty() {
        return Err(LineError::new(format!("no metric name in `{line}`")));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, remaining) = parse_labels(after)?;
        labels = parsed;
        rest = remaining;
    }
    let value_text = rest
        .split_whitespace()
        .next()
        .ok_or_else(|| LineError::new(format!("no value in `{line}`")))?;
    let value = match value_text {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v
            .parse::<f64>()
            .map_err(|_| LineError::new(format!("`{v}` is not a number in `{line}`")))?,
    };
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// Labels, and the text after them.
type Parsed<'a> = (Vec<(String, String)>, &'a str);

/// Parses `a="x",b="y"}` and returns the labels and what follows the `}`.
fn parse_labels(mut s: &str) -> Result<Parsed<'_>, LineError> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(after) = s.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = s.find('=').ok_or(LineError::new("a label without `=`"))?;
        let key = s[..eq].trim().to_string();
        s = s[eq + 1..].trim_start();
        s = s
            .strip_prefix('"')
            .ok_or(LineError::new("a label value without quotes"))?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err(LineError::new("an unterminated label value")),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err(LineError::new("an unterminated label value")),
                },
                Some((_, c)) => value.push(c),
            }
        };
        labels.push((key, value));
        s = s[end + 1..].trim_start();
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

/// The value of the sample named `metric` whose labels are exactly `labels` (in any order).
pub fn sample_value(
    text: &str,
    metric: &str,
    labels: &[(String, String)],
) -> Result<f64, ProbeError> {
    let mut seen_name = Vec::new();
    for line in text.lines() {
        let Some(sample) = parse_line(line) else {
            continue;
        };
        let sample = sample.map_err(|e| ProbeError::Prometheus { reason: e.0 })?;
        if sample.name != metric {
            continue;
        }
        let same =
            sample.labels.len() == labels.len() && labels.iter().all(|l| sample.labels.contains(l));
        if same {
            return Ok(sample.value);
        }
        seen_name.push(format_labels(&sample.labels));
    }
    Err(ProbeError::NoSample {
        metric: metric.to_string(),
        labels: format_labels(labels),
        seen: seen_name,
    })
}

/// `{a="x",b="y"}`, or the empty string without labels.
pub fn format_labels(labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{route="/x",code="200"} 1027 1395066363000
http_requests_total{route="/x",code="500"} 3
http_requests_total{code="200",route="/y, \"quoted\""} 12
cache_hit_ratio 0.875
temperature -Inf
up{job="a"} NaN
"#;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_samples_by_name_and_exact_labels() {
        let l = labels(&[("code", "200"), ("route", "/x")]);
        assert_eq!(
            sample_value(TEXT, "http_requests_total", &l).unwrap(),
            1027.0
        );
        let l = labels(&[("route", "/x"), ("code", "500")]);
        assert_eq!(sample_value(TEXT, "http_requests_total", &l).unwrap(), 3.0);
        let l = labels(&[("route", "/y, \"quoted\""), ("code", "200")]);
        assert_eq!(sample_value(TEXT, "http_requests_total", &l).unwrap(), 12.0);
        assert_eq!(sample_value(TEXT, "cache_hit_ratio", &[]).unwrap(), 0.875);
        assert_eq!(
            sample_value(TEXT, "temperature", &[]).unwrap(),
            f64::NEG_INFINITY
        );
        assert!(
            sample_value(TEXT, "up", &labels(&[("job", "a")]))
                .unwrap()
                .is_nan()
        );
    }

    #[test]
    fn a_subset_of_labels_does_not_match() {
        let err = sample_value(TEXT, "http_requests_total", &labels(&[("route", "/x")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no sample http_requests_total{route=\"/x\"}"),
            "{err}"
        );
        assert!(err.contains("code=\"500\""), "{err}");
        let err = sample_value(TEXT, "missing_metric", &[]).unwrap_err();
        assert!(matches!(err, ProbeError::NoSample { ref seen, .. } if seen.is_empty()));
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(parse_line("x{a=\"1\"").unwrap().is_err());
        assert!(parse_line("x{a=1} 2").unwrap().is_err());
        assert!(parse_line("x abc").unwrap().is_err());
        assert!(parse_line("x").unwrap().is_err());
        assert!(parse_line("  # comment").is_none());
        assert_eq!(
            parse_line("x{} 2").unwrap().unwrap(),
            Sample {
                name: "x".into(),
                labels: vec![],
                value: 2.0
            }
        );
    }
}
