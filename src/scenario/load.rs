//! The `[load]` table: model, constant level or stages, warm-up, drain, and the
//! `--duration` override, into a [`Load`] whose profile includes the warm-up stage.

use std::time::Duration;

use super::check::{Ctx, split_help};
use super::raw::{RawLevel, RawLoad, RawModel, RawStage, Sp};
use crate::plan::{Load, LoadModel, Profile, Stage};
use crate::units;

/// A level in the model's unit: users (closed, whole numbers) or a rate per second (open).
fn level(ctx: &mut Ctx<'_>, model: RawModel, field: &str, v: &Sp<RawLevel>) -> f64 {
    match (model, v.get()) {
        (RawModel::Closed, RawLevel::Number(n)) if *n >= 0.0 && n.fract() == 0.0 => *n,
        (RawModel::Closed, _) => {
            ctx.err(
                v.span(),
                format!("`{field}` must be a whole number of users in the closed model"),
                Some("write e.g. 100 (rates such as \"100/s\" are for model = \"open\")".into()),
            );
            0.0
        }
        (RawModel::Open, RawLevel::Number(n)) if *n >= 0.0 => *n,
        (RawModel::Open, RawLevel::Text(t)) => units::parse_rate(t).unwrap_or_else(|e| {
            let (msg, _) = split_help(&e.to_string());
            ctx.err(
                v.span(),
                format!("`{field}`: {msg}"),
                Some("write e.g. \"500/s\"".into()),
            );
            0.0
        }),
        (RawModel::Open, RawLevel::Number(_)) => {
            ctx.err(
                v.span(),
                format!("`{field}` must not be negative"),
                Some("write e.g. \"500/s\"".into()),
            );
            0.0
        }
    }
}

fn misplaced<T>(ctx: &mut Ctx<'_>, field: &str, v: &Option<Sp<T>>, model: &str, instead: &str) {
    if let Some(v) = v {
        ctx.err(
            v.span(),
            format!("`{field}` does not apply to the {model} model"),
            Some(format!(
                "the {model} model uses {instead}; or change `model`"
            )),
        );
    }
}

/// Builds the load; problems are left in `ctx.errors`.
pub(crate) fn load(
    ctx: &mut Ctx<'_>,
    l: &RawLoad,
    duration_override: Option<(&str, std::ops::Range<usize>)>,
) -> Load {
    let model = *l.model.get();
    let (constant, constant_name) = match model {
        RawModel::Closed => {
            misplaced(ctx, "rate", &l.rate, "closed", "`users`");
            misplaced(ctx, "max_in_flight", &l.max_in_flight, "closed", "`users`");
            let users = l.users.as_ref().map(|u| {
                if *u.get() < 1 {
                    ctx.err(
                        u.span(),
                        "`users` must be at least 1",
                        Some("write e.g. users = 32".into()),
                    );
                }
                (*u.get() as f64, u.span())
            });
            (users, "users")
        }
        RawModel::Open => {
            misplaced(ctx, "users", &l.users, "open", "`rate`");
            misplaced(ctx, "think_time", &l.think_time, "open", "`rate`");
            let rate = l
                .rate
                .as_ref()
                .map(|r| (level(ctx, model, "rate", r), r.span()));
            (rate, "rate")
        }
    };
    let override_d = duration_override.and_then(|(text, span)| match units::parse_duration(text) {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) | Err(_) => {
            ctx.err(
                span,
                format!("`{text}` is not a positive duration"),
                Some("write e.g. --duration 30s".into()),
            );
            None
        }
    });
    let mut measured = match (&constant, &l.stages) {
        (Some(_), Some(st)) => {
            ctx.err(
                st.span(),
                format!("`{constant_name}` and `stages` are both set"),
                Some(format!(
                    "use `{constant_name}` + `duration` for a constant load, or `stages` for a ramp"
                )),
            );
            Profile::constant(0.0, Duration::ZERO)
        }
        (None, None) => {
            ctx.err(
                l.model.span(),
                format!("the load has neither `{constant_name}` nor `stages`"),
                Some(format!(
                    "add e.g. {}",
                    if model == RawModel::Closed {
                        "users = 32 and duration = \"30s\""
                    } else {
                        "rate = \"1000/s\" and duration = \"30s\""
                    }
                )),
            );
            Profile::constant(0.0, Duration::ZERO)
        }
        (Some((lvl, span)), None) => {
            if let Some(s) = &l.start {
                ctx.err(
                    s.span(),
                    "`start` only applies with `stages`",
                    Some("remove it".into()),
                );
            }
            let d = match &l.duration {
                None if override_d.is_none() => {
                    ctx.err(
                        span.clone(),
                        "`duration` is missing: a constant load needs one",
                        Some("add e.g. duration = \"30s\" to [load]".into()),
                    );
                    Duration::ZERO
                }
                _ => ctx.duration("duration", l.duration.as_ref(), Duration::ZERO),
            };
            Profile::constant(*lvl, override_d.unwrap_or(d))
        }
        (None, Some(st)) => stages(ctx, l, model, st, override_d),
    };
    let warmup = ctx.duration("warmup", l.warmup.as_ref(), Duration::ZERO);
    if !warmup.is_zero() {
        let l0 = if measured.start > 0.0 {
            measured.start
        } else {
            measured.stages.first().map_or(0.0, |s| s.target)
        };
        measured.stages.insert(
            0,
            Stage {
                duration: warmup,
                target: l0,
            },
        );
        measured.start = l0;
    }
    let model = match model {
        RawModel::Closed => LoadModel::Closed {
            think_time: ctx.duration("think_time", l.think_time.as_ref(), Duration::ZERO),
        },
        RawModel::Open => LoadModel::Open {
            max_in_flight: match &l.max_in_flight {
                Some(m) if *m.get() < 1 => {
                    ctx.err(
                        m.span(),
                        "`max_in_flight` must be at least 1",
                        Some("write e.g. max_in_flight = 1000".into()),
                    );
                    1
                }
                Some(m) => *m.get() as usize,
                None => 1000,
            },
        },
    };
    Load {
        model,
        profile: measured,
        warmup,
        drain: ctx.duration("drain", l.drain.as_ref(), Duration::from_secs(2)),
    }
}

fn stages(
    ctx: &mut Ctx<'_>,
    l: &RawLoad,
    model: RawModel,
    st: &Sp<Vec<RawStage>>,
    total: Option<Duration>,
) -> Profile {
    if let Some(d) = &l.duration {
        ctx.err(
            d.span(),
            "`duration` does not go with `stages`: the stages give the length",
            Some("remove `duration`, or replace `stages` with a constant load".into()),
        );
    }
    if st.get().is_empty() {
        ctx.err(
            st.span(),
            "`stages` is empty",
            Some("add e.g. { duration = \"30s\", target = 100 }".into()),
        );
    }
    let start = l
        .start
        .as_ref()
        .map_or(0.0, |s| level(ctx, model, "start", s));
    let mut stages: Vec<Stage> = st
        .get()
        .iter()
        .map(|s| {
            let duration = ctx.duration("duration", Some(&s.duration), Duration::ZERO);
            if duration.is_zero() {
                ctx.err(
                    s.duration.span(),
                    "a stage must last longer than zero",
                    Some("write e.g. \"30s\"".into()),
                );
            }
            Stage {
                duration,
                target: level(ctx, model, "target", &s.target),
            }
        })
        .collect();
    let sum: Duration = stages.iter().map(|s| s.duration).sum();
    if let Some(total) = total.filter(|_| !sum.is_zero()) {
        let k = total.as_secs_f64() / sum.as_secs_f64();
        for s in &mut stages {
            s.duration = s.duration.mul_f64(k);
        }
    }
    Profile { start, stages }
}
