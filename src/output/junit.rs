//! `junit.xml`: one `<testsuite>` with one `<testcase>` per SLO (a failed SLO carries
//! `<failure message="observed X, limit < Y">`), then the sections' test cases. CI systems
//! show these as test results. All text is XML-escaped.

use std::fmt::Write as _;

use super::format::{self, escape_xml as esc};
use super::{Output, OutputError, ReportInput};

/// The JUnit report.
pub struct JunitReport;

impl Output for JunitReport {
    fn file_name(&self) -> &'static str {
        "junit.xml"
    }

    fn render(&self, input: &ReportInput) -> Result<Vec<u8>, OutputError> {
        Ok(render(input).into_bytes())
    }
}

/// The JUnit XML.
pub fn render(input: &ReportInput) -> String {
    let r = input.result;
    let extra = input.sections.iter().flat_map(|s| {
        s.junit.iter().map(move |c| {
            (
                s.id.as_str(),
                c.name.as_str(),
                c.failure.as_deref(),
                c.details.as_str(),
            )
        })
    });
    let slo_cases = r.slos.iter().map(|s| {
        let failure = (!s.pass).then(|| {
            format!(
                "observed {}, limit {}",
                format::slo_observed(s),
                format::slo_limit(s)
            )
        });
        let details = format!(
            "{} of {}: observed {}, limit {}",
            s.metric,
            format::slo_request(s),
            format::slo_observed(s),
            format::slo_limit(s)
        );
        ("slo", s.key.as_str(), failure, details)
    });
    let banner_cases = super::banners::all(r).into_iter().map(|b| {
        (
            "run",
            b.id,
            (b.unjudgeable || b.fails).then(|| b.text.clone()),
            b.text,
        )
    });
    let cases: Vec<(&str, &str, Option<String>, String)> = banner_cases
        .chain(slo_cases)
        .chain(extra.map(|(c, n, f, d)| (c, n, f.map(str::to_string), d.to_string())))
        .collect();
    let failures = cases.iter().filter(|c| c.2.is_some()).count();

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"nexus-bench: {}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" timestamp=\"{}\" time=\"{:.3}\">",
        esc(&r.scenario.name),
        cases.len(),
        esc(&r.started_at),
        r.measured_ms / 1000.0
    );
    let _ = writeln!(
        out,
        "  <properties>\n    <property name=\"target\" value=\"{}\"/>\n    <property name=\"verdict\" value=\"{}\"/>\n  </properties>",
        esc(&r.scenario.target),
        format::verdict(r.verdict)
    );
    if r.warnings
        .iter()
        .any(|w| w == crate::result::INSECURE_WARNING)
    {
        // Inside the suite, after its properties: CI tools show system-out with the suite.
        let _ = writeln!(
            out,
            "  <system-out>warning: {}</system-out>",
            esc(crate::result::INSECURE_WARNING)
        );
    }
    let suite = esc(&r.scenario.name);
    for (class, name, failure, details) in &cases {
        let _ = write!(
            out,
            "  <testcase classname=\"{suite}.{}\" name=\"{}\" time=\"0\"",
            esc(class),
            esc(name)
        );
        match failure {
            Some(msg) => {
                let _ = writeln!(
                    out,
                    ">\n    <failure message=\"{}\" type=\"{}\">{}</failure>\n  </testcase>",
                    esc(msg),
                    esc(class),
                    esc(details)
                );
            }
            None if details.is_empty() => out.push_str("/>\n"),
            None => {
                let _ = writeln!(
                    out,
                    ">\n    <system-out>{}</system-out>\n  </testcase>",
                    esc(details)
                );
            }
        }
    }
    out.push_str("</testsuite>\n");
    out
}
