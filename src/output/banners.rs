//! Banners every output shows above the numbers when the run itself is in doubt: the
//! generator hit its own limits (the run is unjudgeable), or the machine was busy with other
//! work, or a merge lacks instances or holds a saturated one. One list, so the terminal, `report.html`, `summary.md` and `junit.xml` agree.

use std::fmt::Write as _;

use super::format::{escape_md, escape_xml};
use crate::analysis::{judge, merged};
use crate::result::RunResult;

/// One banner.
#[derive(Debug, Clone, PartialEq)]
pub struct Banner {
    /// Stable id (HTML element id, JUnit test name).
    pub id: &'static str,
    /// The word shown first (`UNJUDGEABLE`, `CAUTION`).
    pub word: &'static str,
    /// What happened and what to do.
    pub text: String,
    /// Whether it makes the run unjudgeable (a JUnit error) rather than a caution.
    pub unjudgeable: bool,
    /// Whether it fails the gate by itself (a partial merge): a JUnit failure too.
    pub fails: bool,
}

/// The banners for `r`, most serious first.
pub fn all(r: &RunResult) -> Vec<Banner> {
    let mut out = Vec::new();
    let gen_errors = judge::generator_errors(r);
    if gen_errors > 0 {
        out.push(Banner {
            id: "generator-errors",
            word: "UNJUDGEABLE",
            text: format!(
                "The generator ran out of its own resources: {gen_errors} connection(s) failed with generator_error \
                 (open files, ephemeral ports or socket memory). Nothing was sent for them and they are not the target's \
                 failures; this run cannot be judged (exit 2). Raise `ulimit -n`, widen net.ipv4.ip_local_port_range, or lower the load."
            ),
            unjudgeable: true,
            fails: false,
        });
    }
    if let Some(m) = r
        .generator
        .as_ref()
        .and_then(|g| g.machine.as_ref())
        .filter(|m| m.busy)
    {
        out.push(Banner {
            id: "machine-busy",
            word: "CAUTION",
            text: format!(
                "The machine was busy with other work: {:.0}% of a core on average went to processes other than nexus-bench \
                 and its target, steal {:.1}%. Latencies may include waiting for a CPU; a baseline regression found now is inconclusive.",
                m.other_mean_percent, m.steal_mean_percent
            ),
            unjudgeable: false,
            fails: false,
        });
    }
    let merge = merged::problems(r);
    if !merge.failing.is_empty() {
        out.insert(
            0,
            Banner {
                id: "merge-partial",
                word: "PARTIAL",
                text: format!(
                    "{}. The verdict is fail whatever the SLOs say.",
                    merge.failing.join("; ")
                ),
                unjudgeable: false,
                fails: true,
            },
        );
    }
    if !merge.unjudgeable.is_empty() {
        out.push(Banner {
            id: "merge-unjudgeable",
            word: "UNJUDGEABLE",
            text: format!(
                "{}. The merged run cannot be judged (exit 2).",
                merge.unjudgeable.join("; ")
            ),
            unjudgeable: true,
            fails: false,
        });
    }
    if !merge.cautions.is_empty() {
        out.push(Banner {
            id: "merge-caution",
            word: "CAUTION",
            text: merge.cautions.join("; "),
            unjudgeable: false,
            fails: false,
        });
    }
    out
}

/// The banners as HTML blocks (escaped).
pub fn html(out: &mut String, r: &RunResult) {
    for b in all(r) {
        let _ = write!(
            out,
            "<div id=\"{}-banner\" class=\"verdict fail\"><span class=\"word\">{}</span><span class=\"why\">{}</span></div>",
            b.id,
            b.word,
            escape_xml(&b.text)
        );
    }
}

/// The banners as Markdown alerts (escaped).
pub fn markdown(out: &mut String, r: &RunResult) {
    for b in all(r) {
        let kind = if b.unjudgeable || b.fails {
            "CAUTION"
        } else {
            "WARNING"
        };
        let _ = write!(
            out,
            "> [!{kind}]\n> **{}**: {}\n\n",
            b.word,
            escape_md(&b.text)
        );
    }
}
