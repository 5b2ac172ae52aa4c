//! The report sections about what was observed beside the load: the generator banner, the
//! target process, the generator's health, probes and flamegraphs. Every string is escaped.
//!
//! Flamegraphs: inferno's SVG carries its own script (zoom, search), so it is embedded in an
//! `<iframe sandbox="allow-scripts" srcdoc="…">` — an opaque origin that cannot reach the
//! page — sized to the graph ([`super::flame_embed`]), and the page's Content-Security-Policy
//! then allows inline scripts (see [`super::html`]). The page itself has no script; nothing is fetched. The SVG is read from
//! the run folder (the file the result names); without it the section links to the file.

use std::fmt::Write as _;
use std::path::Path;

use super::charts::Chart;
use super::format::{self, escape_xml as esc};
use crate::result::{ProfileInfo, RunResult};

/// Whether the result measured the generator rather than the target.
pub fn generator_limited(r: &RunResult) -> bool {
    r.generator.as_ref().is_some_and(|g| g.saturated)
        || r.warnings.iter().any(|w| w.contains("generator"))
}

/// A banner near the top when the generator was the bottleneck.
pub fn banner(out: &mut String, r: &RunResult) {
    if generator_limited(r) {
        out.push_str(
            "<div id=\"generator-banner\" class=\"verdict fail\"><span class=\"word\">CAUTION</span>\
             <span class=\"why\">The generator was saturated: this result measured nexus-bench's \
             limits, not the target's. Run with more <code>--threads</code>, less load, or more \
             generator machines. See Generator health below.</span></div>",
        );
    }
}

fn dl(out: &mut String, rows: &[(&str, String)]) {
    out.push_str("<dl class=\"meta\">");
    for (k, v) in rows {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    }
    out.push_str("</dl>");
}

/// `Target process`: start-up, memory, CPU, executable size, charts.
pub fn target(
    out: &mut String,
    r: &RunResult,
    charts: &[Chart],
    figure: impl Fn(&mut String, &Chart),
) {
    let Some(t) = &r.target_process else { return };
    out.push_str("<section id=\"target-process\"><h2>Target process</h2>");
    dl(
        out,
        &[
            ("Command", t.command.join(" ")),
            ("Start-up", format::latency(t.startup_ms)),
            ("RSS max", format::bytes(t.rss_max_bytes as f64)),
            (
                "CPU mean",
                format!("{:.1}% of one core", t.cpu_mean_percent),
            ),
            (
                "Executable size",
                t.exe_size_bytes
                    .map_or("–".into(), |b| format::bytes(b as f64)),
            ),
            ("Exit", t.exit.clone().unwrap_or_else(|| "–".into())),
        ],
    );
    out.push_str("<div class=\"grid2\">");
    for c in charts {
        figure(out, c);
    }
    out.push_str("</div></section>");
}

/// `Generator health`: CPU, saturation, schedule lag, chart.
pub fn generator(
    out: &mut String,
    r: &RunResult,
    chart: Option<&Chart>,
    figure: impl Fn(&mut String, &Chart),
) {
    let Some(g) = &r.generator else { return };
    out.push_str("<section id=\"generator\"><h2>Generator health</h2>");
    let mut rows = vec![
        (
            "CPU mean",
            format!("{:.1}% of one core", g.cpu_mean_percent),
        ),
        ("CPU max", format!("{:.1}% of one core", g.cpu_max_percent)),
        ("CPUs", g.cpus.to_string()),
        (
            "Saturated",
            if g.saturated {
                "yes: the result measured the generator"
            } else {
                "no"
            }
            .into(),
        ),
    ];
    if let Some(m) = &g.machine {
        rows.push((
            "Machine",
            format!(
                "other work {:.0}% of one core · steal {:.1}% · all CPUs busy {:.0}%{}",
                m.other_mean_percent,
                m.steal_mean_percent,
                m.busy_mean_percent,
                if m.busy { " — busy" } else { "" }
            ),
        ));
    }
    if let Some(t) = &g.rss_trend {
        rows.push((
            "Memory trend",
            format!(
                "{:+.2} MB/min (95 % interval {:+.2} to {:+.2}) over the steady state",
                t.slope_bytes_per_min / 1e6,
                t.interval[0] / 1e6,
                t.interval[1] / 1e6
            ),
        ));
    }
    if let Some(lag) = &g.schedule_lag_ms {
        rows.push((
            "Schedule lag",
            format!(
                "p50 {} · p99 {} · max {}",
                format::latency(lag.p50),
                format::latency(lag.p99),
                format::latency(lag.max)
            ),
        ));
    }
    dl(out, &rows);
    if let Some(c) = chart {
        figure(out, c);
    }
    out.push_str("</section>");
}

fn opt_number(v: Option<f64>) -> String {
    v.map_or("–".into(), format::number)
}

/// `Probes`: before/after table and the readings chart.
pub fn probes(
    out: &mut String,
    r: &RunResult,
    chart: Option<&Chart>,
    figure: impl Fn(&mut String, &Chart),
) {
    if r.probes.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"probes\"><h2>Probes</h2><table id=\"probe-table\"><thead><tr><th>probe</th>\
         <th>source</th><th class=\"num\">before</th><th class=\"num\">after</th>\
         <th class=\"num\">readings</th><th>error</th></tr></thead><tbody>",
    );
    for p in &r.probes {
        let _ = write!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&p.name),
            esc(&p.source),
            opt_number(p.before),
            opt_number(p.after),
            p.samples.len(),
            esc(p.error.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</tbody></table>");
    if let Some(c) = chart {
        figure(out, c);
    }
    out.push_str("</section>");
}

/// `Flamegraphs`: per profile the embedded flamegraph (read from `assets`), a link to the
/// files and the top functions; a warning for a profile that failed.
pub fn flamegraphs(out: &mut String, r: &RunResult, assets: Option<&Path>) {
    // Heap profiles have their own section (`super::heap`).
    let cpu: Vec<&ProfileInfo> = r.profiles.iter().filter(|p| p.heap.is_none()).collect();
    if cpu.is_empty() {
        return;
    }
    out.push_str("<section id=\"flamegraphs\"><h2>Flamegraphs</h2>");
    for p in cpu {
        profile(out, p, assets);
    }
    out.push_str("</section>");
}

/// Whether any profile has a flamegraph file to embed (the page then allows its script).
pub fn embeds_flamegraph(r: &RunResult) -> bool {
    r.profiles.iter().any(|p| p.flamegraph_file.is_some())
}

/// A file name the result gives, accepted only as a plain name inside the run folder.
fn plain_name(name: &str) -> Option<&str> {
    (!name.is_empty() && !name.contains(['/', '\\']) && name != "..").then_some(name)
}

fn profile(out: &mut String, p: &ProfileInfo, assets: Option<&Path>) {
    let _ = write!(
        out,
        "<h3>{} CPU profile</h3><p class=\"note\">{} from {} s into the run.",
        esc(&p.kind),
        esc(&format::span(p.duration_ms)),
        format_args!("{:.1}", p.start_ms / 1000.0)
    );
    for (label, file) in [("pprof", &p.pprof_file), ("SVG", &p.flamegraph_file)] {
        if let Some(f) = file.as_deref().and_then(plain_name) {
            let _ = write!(out, " <a href=\"{}\">{label}: {}</a>", esc(f), esc(f));
        }
    }
    out.push_str("</p>");
    if let Some(e) = &p.error {
        let _ = write!(
            out,
            "<div class=\"warnings\"><strong>No {} profile:</strong> {}</div>",
            esc(&p.kind),
            esc(e)
        );
    }
    if let Some(name) = p.flamegraph_file.as_deref().and_then(plain_name) {
        match assets.map(|d| std::fs::read_to_string(d.join(name))) {
            Some(Ok(svg)) => {
                out.push_str(&super::flame_embed::iframe(
                    &svg,
                    &format!("{} flamegraph", p.kind),
                ));
            }
            _ => {
                let _ = write!(
                    out,
                    "<p class=\"note\">The flamegraph is in <a href=\"{}\">{}</a> next to result.json.</p>",
                    esc(name),
                    esc(name)
                );
            }
        }
    }
    if !p.top.is_empty() {
        out.push_str(
            "<table class=\"top-functions\"><thead><tr><th>function</th><th class=\"num\">self</th>\
             <th class=\"num\">self %</th><th class=\"num\">total</th><th class=\"num\">total %</th>\
             </tr></thead><tbody>",
        );
        for t in &p.top {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{:.1}%</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{:.1}%</td></tr>",
                esc(&t.name),
                format::count(t.self_samples),
                t.self_percent,
                format::count(t.total_samples),
                t.total_percent
            );
        }
        out.push_str("</tbody></table>");
    }
}
