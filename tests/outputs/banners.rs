//! A run the generator could not carry (generator errors) or a busy machine shows a banner in
//! every output, and the generator errors make the verdict `unjudgeable`.

use nexus_bench::analysis::judge;
use nexus_bench::output::{Output, ReportInput, html, junit, markdown, terminal_summary};
use nexus_bench::result::{MachineLoad, RunResult, Verdict};

use super::fixture;

fn with(generator_errors: u64, busy: bool) -> RunResult {
    let mut r = fixture::observed(fixture::sample(), "svc");
    let g = r.generator.as_mut().expect("generator section");
    g.generator_errors = generator_errors;
    g.machine = Some(MachineLoad {
        busy_mean_percent: 180.0,
        other_mean_percent: if busy { 95.0 } else { 3.0 },
        steal_mean_percent: 0.0,
        busy,
        samples: Vec::new(),
    });
    r
}

fn outputs(r: &RunResult) -> Vec<(&'static str, String)> {
    let input = ReportInput {
        result: r,
        sections: &[],
    };
    let render = |o: &dyn Output| String::from_utf8(o.render(&input).unwrap()).unwrap();
    vec![
        ("terminal", terminal_summary(r, false)),
        ("report.html", render(&html::HtmlReport::default())),
        ("summary.md", render(&markdown::MarkdownSummary)),
        ("junit.xml", render(&junit::JunitReport)),
    ]
}

#[test]
fn generator_errors_make_the_run_unjudgeable_with_a_banner_everywhere() {
    let mut r = with(42, false);
    r.verdict = judge::verdict(&r);
    assert_eq!(r.verdict, Verdict::Unjudgeable);
    for (name, text) in outputs(&r) {
        assert!(text.contains("UNJUDGEABLE"), "{name}:\n{text}");
        assert!(text.contains("42 connection"), "{name}");
        assert!(!text.contains("busy with other work"), "{name}");
    }
    let xml = &outputs(&r)[3].1;
    assert!(
        xml.contains("name=\"generator-errors\"") && xml.contains("<failure"),
        "{xml}"
    );
}

#[test]
fn a_busy_machine_shows_a_banner_everywhere() {
    let r = with(0, true);
    for (name, text) in outputs(&r) {
        assert!(text.contains("busy with other work"), "{name}:\n{text}");
        assert!(text.contains("95%"), "{name}");
        assert!(!text.contains("UNJUDGEABLE"), "{name}");
    }
    let quiet = with(0, false);
    for (name, text) in outputs(&quiet) {
        assert!(!text.contains("busy with other work"), "{name}");
    }
}
