//! The resolved plan as text, for `nexus-bench validate` and run headers. Secrets show as
//! `${NAME}`.

use std::fmt::Write;

use crate::plan::{
    Action, Body, ExtractFrom, LoadModel, MixRun, Plan, ProbeRead, TargetBase, Unit,
};
use crate::units::{format_bytes, format_duration, format_percent, format_rate};

/// A human-readable summary of everything the plan will do.
pub fn describe(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = write_plan(&mut s, plan);
    s
}

fn level(plan: &Plan, v: f64) -> String {
    match plan.load.model {
        LoadModel::Open { .. } => format_rate(v),
        LoadModel::Closed { .. } => format!("{v} users"),
    }
}

fn write_plan(s: &mut String, plan: &Plan) -> std::fmt::Result {
    writeln!(s, "scenario {}", plan.name)?;
    if !plan.description.is_empty() {
        writeln!(s, "  {}", plan.description)?;
    }
    match &plan.target.base {
        TargetBase::Url(u) => writeln!(s, "target   {u}")?,
        TargetBase::Embedded { api, args } if args.is_empty() => {
            writeln!(s, "target   embedded reference server (api {api})")?
        }
        TargetBase::Embedded { api, args } => writeln!(
            s,
            "target   embedded reference server (api {api}, args {})",
            args.join(" ")
        )?,
    }
    writeln!(
        s,
        "         {}, connect timeout {}, max body {}",
        if plan.target.http2 {
            "HTTP/2 (h2c)"
        } else {
            "HTTP/1.1"
        },
        format_duration(plan.target.connect_timeout),
        format_bytes(plan.max_body_bytes as f64)
    )?;
    for (name, value) in &plan.target.headers {
        writeln!(s, "         header {name}: {value}")?;
    }
    super::tls::describe(s, plan)?;
    let load = &plan.load;
    match load.model {
        LoadModel::Open { max_in_flight } => {
            writeln!(s, "load     open model, at most {max_in_flight} in flight")?
        }
        LoadModel::Closed { think_time } => writeln!(
            s,
            "load     closed model, think time {}",
            format_duration(think_time)
        )?,
    }
    writeln!(
        s,
        "         {} total ({} warm-up, then {} measured), drain {}",
        format_duration(load.profile.duration()),
        format_duration(load.warmup),
        format_duration(load.profile.duration().saturating_sub(load.warmup)),
        format_duration(load.drain)
    )?;
    writeln!(s, "         start at {}", level(plan, load.profile.start))?;
    for stage in &load.profile.stages {
        writeln!(
            s,
            "         {} to {}",
            format_duration(stage.duration),
            level(plan, stage.target)
        )?;
    }
    let total: u32 = plan.mix.iter().map(|m| m.weight).sum();
    writeln!(s, "mix")?;
    for item in &plan.mix {
        let share = format_percent(f64::from(item.weight) / f64::from(total.max(1)));
        match &item.run {
            MixRun::Request(id) => {
                writeln!(s, "  {share:>6}  request {}", plan.requests[*id].name)?;
                write_request(s, plan, *id, "            ")?;
            }
            MixRun::Flow { name, steps } => {
                writeln!(s, "  {share:>6}  flow {name}")?;
                for (i, id) in steps.iter().enumerate() {
                    writeln!(s, "            {}. {}", i + 1, plan.requests[*id].name)?;
                    write_request(s, plan, *id, "               ")?;
                }
            }
        }
    }
    if let Some(l) = &plan.launch {
        writeln!(s, "launch   {}", l.command.join(" "))?;
        for (k, _) in &l.env {
            writeln!(s, "         env {k}")?;
        }
        if let Some(cwd) = &l.cwd {
            writeln!(s, "         in {}", cwd.display())?;
        }
        writeln!(
            s,
            "         ready when {} answers 2xx (within {})",
            l.ready,
            format_duration(l.startup_timeout)
        )?;
    }
    for p in &plan.probes {
        let read = match &p.read {
            ProbeRead::Json(pointer) => format!("JSON {pointer}"),
            ProbeRead::Prometheus { metric, labels } => {
                let labels: Vec<String> =
                    labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                format!("Prometheus {metric}{{{}}}", labels.join(","))
            }
        };
        writeln!(
            s,
            "probe    {}: GET {} → {read}, every {}",
            p.name,
            p.url,
            format_duration(p.interval)
        )?;
    }
    if let Some(t) = &plan.target_profile {
        writeln!(
            s,
            "profile  target CPU for {}s from {} after the warm-up",
            t.seconds, t.path
        )?;
    }
    if let Some(h) = &plan.heap_profile {
        writeln!(
            s,
            "profile  target heap from {} at the start and the end of the steady state",
            h.path
        )?;
    }
    if !plan.streams.is_empty() {
        writeln!(s, "streams")?;
        for st in &plan.streams {
            writeln!(
                s,
                "  {} × {}",
                st.connections, plan.requests[st.request].name
            )?;
            write_request(s, plan, st.request, "      ")?;
        }
    }
    if !plan.data.is_empty() {
        writeln!(s, "data")?;
        for d in &plan.data {
            writeln!(
                s,
                "  {} ({} rows; columns {})",
                d.file.display(),
                d.rows.len(),
                d.columns.join(", ")
            )?;
        }
    }
    if plan.slos.is_empty() {
        if plan.warn_not_gated {
            writeln!(
                s,
                "slo: none — nothing is gated: a run passes (exit 0) whatever the target does, unless no request succeeds (exit 2); set `[slo] default = false` to say this is intended"
            )?;
        } else {
            writeln!(
                s,
                "slo: none (`[slo] default = false`: nothing is gated, as intended)"
            )?;
        }
    } else {
        writeln!(s, "slo")?;
        for slo in &plan.slos {
            let limit = match slo.metric.unit() {
                Unit::Millis => crate::units::format_ms(slo.limit),
                Unit::Ratio => format_percent(slo.limit),
                Unit::PerSec => format_rate(slo.limit),
                Unit::Bytes => format_bytes(slo.limit),
                Unit::Number => format!("{}", slo.limit),
                Unit::BytesPerMin => format!("{}/min", format_bytes(slo.limit)),
                Unit::PerMin => format!("{}/min", slo.limit),
            };
            writeln!(s, "  {} {} {limit}", slo.key, slo.op.symbol())?;
        }
    }
    Ok(())
}

fn write_request(s: &mut String, plan: &Plan, id: usize, indent: &str) -> std::fmt::Result {
    let r = &plan.requests[id];
    let h = match &r.action {
        Action::Http(h) => h,
        Action::WsMessage(m) => {
            let reply = m
                .reply_contains
                .as_deref()
                .map(|c| format!(", reply contains {c:?}"))
                .unwrap_or_default();
            let kind = if m.binary { "binary" } else { "text" };
            return writeln!(
                s,
                "{indent}WS {} send {kind} {:?}{reply}  (timeout {})",
                m.path,
                m.message.to_string(),
                format_duration(r.timeout)
            );
        }
        Action::WsHold(w) => return writeln!(s, "{indent}WS {} (held)", w.path),
    };
    writeln!(
        s,
        "{indent}{} {}  (timeout {})",
        h.method,
        h.url,
        format_duration(r.timeout)
    )?;
    for (name, value) in &h.headers {
        writeln!(s, "{indent}  header {name}: {value}")?;
    }
    match &h.body {
        Body::Empty => {}
        Body::Template { text, content_type } => writeln!(
            s,
            "{indent}  body {text}{}",
            content_type
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        )?,
        Body::Bytes {
            bytes,
            content_type,
        } => writeln!(
            s,
            "{indent}  body {} from file{}",
            format_bytes(bytes.len() as f64),
            content_type
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        )?,
    }
    let statuses: Vec<String> = r
        .expect
        .status
        .iter()
        .map(|(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect();
    write!(s, "{indent}  expect status {}", statuses.join(", "))?;
    for b in &r.expect.body_contains {
        write!(s, ", body contains {b:?}")?;
    }
    for (p, v) in &r.expect.json {
        write!(s, ", {p} = {v}")?;
    }
    writeln!(s)?;
    for x in &r.extract {
        let from = match &x.from {
            ExtractFrom::Json(p) => format!("json {p}"),
            ExtractFrom::Header(h) => format!("header {h}"),
            ExtractFrom::Regex(re) => format!("regex {re}"),
        };
        writeln!(s, "{indent}  extract {} from {from}", plan.variables[x.var])?;
    }
    Ok(())
}
