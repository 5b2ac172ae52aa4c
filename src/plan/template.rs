//! Templates in paths, headers and bodies, compiled once when the plan is built and rendered
//! per request without parsing.
//!
//! Syntax:
//! - `{{ name }}`: a variable filled by an earlier step's `extract`;
//! - `{{ set.column }}`: a column of the current row of the CSV data set `set`;
//! - `{{ counter }}`: a run-wide counter (0, 1, 2, …; instance `I` of `N` renders
//!   `I, I + N, …`, so instances of a split run never repeat a value), `{{ vu }}`: the
//!   virtual user's number (global across instances),
//!   `{{ iteration }}`: the user's iteration number;
//! - `{{ uuid }}`, `{{ random_int(1, 100) }}`, `{{ random_string(12) }}`;
//! - `${NAME}`: the environment variable `NAME`, read once at plan time. Its value is a secret:
//!   it is sent on the wire but never displayed ([`Template`]'s `Display` prints `${NAME}`).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::{Rng, RngExt};

use super::DataSet;
use super::escape::Escape;

/// Index of a variable in [`super::Plan::variables`].
pub type VarId = usize;

/// A compiled template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    parts: Vec<Part>,
    /// How substituted values are escaped where this template lands.
    escape: Escape,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Var(VarId, String),
    Secret {
        name: String,
        value: String,
    },
    Data {
        set: usize,
        column: usize,
        label: String,
    },
    Counter,
    Vu,
    Iteration,
    Uuid,
    RandomInt(i64, i64),
    RandomString(usize),
    /// `{{ x | raw }}`: the value as is, whatever the template's escaping.
    Raw(Box<Part>),
}

/// Names a template may refer to, at the point where it is compiled.
pub struct Scope<'a> {
    /// Variables defined so far (by earlier steps of the same flow).
    pub vars: &'a [(String, VarId)],
    /// Variables defined anywhere in the scenario (to tell "not defined yet" from "unknown").
    pub all_vars: &'a [String],
    /// The plan's data sets, by name.
    pub data: &'a [(String, DataSet)],
    /// Environment lookup (injected so tests are deterministic).
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// A template that does not compile: where (byte offset in the text) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    /// Byte offset of the problem in the template text.
    pub offset: usize,
    /// What is wrong and what to write instead.
    pub message: String,
}

/// Per-user state a template renders from.
pub struct RenderCtx<'a, R: Rng> {
    /// Current values of the plan's variables.
    pub vars: &'a [Option<String>],
    /// The plan's data sets.
    pub data: &'a [DataSet],
    /// Current row of each data set.
    pub rows: &'a [usize],
    /// This process's counter (its `n`-th value renders as the `n`-th of its instance's
    /// stripe, so instances never render the same value).
    pub counter: &'a AtomicU64,
    /// Which share of the run this process runs.
    pub split: super::Split,
    /// The user's random generator.
    pub rng: &'a mut R,
    /// The virtual user's number.
    pub vu: u64,
    /// The user's iteration number.
    pub iteration: u64,
}

impl Template {
    /// A template that is just `text`, with no substitutions.
    pub fn literal(text: impl Into<String>) -> Self {
        let text = text.into();
        Template {
            parts: if text.is_empty() {
                vec![]
            } else {
                vec![Part::Lit(text)]
            },
            escape: Escape::None,
        }
    }

    /// Compiles `text`, resolving every name against `scope`.
    pub fn parse(text: &str, scope: &Scope<'_>) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        let bytes = text.as_bytes();
        while i < text.len() {
            if text[i..].starts_with("{{") {
                let close = text[i..].find("}}").ok_or_else(|| TemplateError {
                    offset: i,
                    message: "`{{` is never closed; write `{{ name }}`".into(),
                })?;
                let inner = text[i + 2..i + close].trim();
                let (inner, raw) = match inner.strip_suffix("raw").map(str::trim_end) {
                    Some(rest) if rest.ends_with('|') => (rest[..rest.len() - 1].trim(), true),
                    _ => (inner, false),
                };
                let part = compile_expr(inner, scope)
                    .map_err(|message| TemplateError { offset: i, message })?;
                let part = if raw { Part::Raw(Box::new(part)) } else { part };
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(part);
                i += close + 2;
            } else if text[i..].starts_with("${") {
                let close = text[i..].find('}').ok_or_else(|| TemplateError {
                    offset: i,
                    message: "`${` is never closed; write `${ENV_VAR}`".into(),
                })?;
                let name = text[i + 2..i + close].trim();
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(TemplateError {
                        offset: i,
                        message: format!(
                            "`${{{name}}}` is not an environment variable name; write e.g. `${{API_TOKEN}}`"
                        ),
                    });
                }
                let value = (scope.env)(name).ok_or_else(|| TemplateError {
                    offset: i,
                    message: format!(
                        "environment variable `{name}` is not set; export it before the run"
                    ),
                })?;
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(Part::Secret {
                    name: name.to_string(),
                    value,
                });
                i += close + 1;
            } else {
                let ch = text[i..].chars().next().expect("in bounds");
                lit.push(ch);
                i += ch.len_utf8();
            }
        }
        let _ = bytes;
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template {
            parts,
            escape: Escape::None,
        })
    }

    /// The template with its substituted values escaped by `escape` (where it lands: a
    /// JSON string, a URL).
    pub fn escaped(mut self, escape: Escape) -> Self {
        self.escape = escape;
        self
    }

    /// The names of the values substituted in (`{{ agent_id }}`, `{{ users.name }}`), for
    /// messages about a request that cannot be built.
    pub fn value_names(&self) -> Vec<String> {
        fn name(p: &Part) -> Option<String> {
            match p {
                Part::Var(_, n) => Some(n.clone()),
                Part::Data { label, .. } => Some(label.clone()),
                Part::Secret { name, .. } => Some(format!("${{{name}}}")),
                Part::Raw(inner) => name(inner),
                _ => None,
            }
        }
        self.parts.iter().filter_map(name).collect()
    }

    /// Whether the template has no substitutions (renders the same every time).
    pub fn is_static(&self) -> bool {
        self.parts
            .iter()
            .all(|p| matches!(p, Part::Lit(_) | Part::Secret { .. }))
    }

    /// The variables the template reads.
    pub fn vars(&self) -> impl Iterator<Item = VarId> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(id, _) => Some(*id),
            Part::Raw(inner) => match **inner {
                Part::Var(id, _) => Some(id),
                _ => None,
            },
            _ => None,
        })
    }

    /// Appends the rendered text to `out`.
    pub fn render_into<R: Rng>(&self, ctx: &mut RenderCtx<'_, R>, out: &mut String) {
        for part in &self.parts {
            render_part(part, self.escape, ctx, out);
        }
    }

    /// The text of a template with no per-request parts (literals and secrets only), or
    /// `None` if it has any.
    pub fn render_static(&self) -> Option<String> {
        self.is_static().then(|| {
            self.parts
                .iter()
                .map(|p| match p {
                    Part::Lit(s) => s.as_str(),
                    Part::Secret { value, .. } => value.as_str(),
                    _ => unreachable!("static templates have only literals and secrets"),
                })
                .collect()
        })
    }

    /// Renders to a new string.
    pub fn render<R: Rng>(&self, ctx: &mut RenderCtx<'_, R>) -> String {
        let mut s = String::new();
        self.render_into(ctx, &mut s);
        s
    }
}

/// Renders one part, escaping substituted values (not literals) by `escape`.
fn render_part<R: Rng>(part: &Part, escape: Escape, ctx: &mut RenderCtx<'_, R>, out: &mut String) {
    use std::fmt::Write;
    match part {
        Part::Lit(s) => out.push_str(s),
        // The user's own configuration, not data: escaped only where a quote would break
        // the JSON around it.
        Part::Secret { value, .. } if escape == Escape::Json => escape.push(out, value),
        Part::Secret { value, .. } => out.push_str(value),
        Part::Var(id, _) => {
            if let Some(v) = ctx.vars.get(*id).and_then(|v| v.as_deref()) {
                escape.push(out, v);
            }
        }
        Part::Data { set, column, .. } => {
            let ds = &ctx.data[*set];
            if !ds.rows.is_empty() {
                let row = ctx.rows.get(*set).copied().unwrap_or(0) % ds.rows.len();
                escape.push(out, &ds.rows[row][*column]);
            }
        }
        Part::Raw(inner) => render_part(inner, Escape::None, ctx, out),
        Part::Counter => {
            let n = ctx
                .split
                .stripe(ctx.counter.fetch_add(1, Ordering::Relaxed));
            let _ = write!(out, "{n}");
        }
        Part::Vu => {
            let _ = write!(out, "{}", ctx.vu);
        }
        Part::Iteration => {
            let _ = write!(out, "{}", ctx.iteration);
        }
        Part::Uuid => {
            let bytes: [u8; 16] = ctx.rng.random();
            let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
            let _ = write!(out, "{}", id.hyphenated());
        }
        Part::RandomInt(lo, hi) => {
            let n = ctx.rng.random_range(*lo..=*hi);
            let _ = write!(out, "{n}");
        }
        Part::RandomString(len) => {
            const ALPHABET: &[u8] =
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            for _ in 0..*len {
                out.push(ALPHABET[ctx.rng.random_range(0..ALPHABET.len())] as char);
            }
        }
    }
}

fn compile_expr(inner: &str, scope: &Scope<'_>) -> Result<Part, String> {
    match inner {
        "" => return Err("empty `{{ }}`; write a variable name such as `{{ agent_id }}`".into()),
        "counter" => return Ok(Part::Counter),
        "vu" => return Ok(Part::Vu),
        "iteration" => return Ok(Part::Iteration),
        "uuid" => return Ok(Part::Uuid),
        _ => {}
    }
    if let Some(args) = call_args(inner, "random_int") {
        let nums: Vec<i64> = args
            .iter()
            .map(|a| a.parse::<i64>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                "random_int takes two integers; write `{{ random_int(1, 1000) }}`".to_string()
            })?;
        return match nums[..] {
            [lo, hi] if lo <= hi => Ok(Part::RandomInt(lo, hi)),
            [lo, hi] => Err(format!(
                "random_int({lo}, {hi}): the low bound is above the high one; write `random_int({hi}, {lo})`"
            )),
            _ => Err("random_int takes two integers; write `{{ random_int(1, 1000) }}`".into()),
        };
    }
    if let Some(args) = call_args(inner, "random_string") {
        return match args[..] {
            [n] => n
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=65536).contains(n))
                .map(Part::RandomString)
                .ok_or_else(|| {
                    "random_string takes a length from 1 to 65536; write `{{ random_string(16) }}`"
                        .into()
                }),
            _ => Err("random_string takes one length; write `{{ random_string(16) }}`".into()),
        };
    }
    if let Some((set, column)) = inner.split_once('.') {
        let Some(set_idx) = scope.data.iter().position(|(name, _)| name == set) else {
            let names: Vec<&str> = scope.data.iter().map(|(n, _)| n.as_str()).collect();
            return Err(format!(
                "`{set}` is not a data set{}; declare it with [[data]] name = \"{set}\" file = \"…\"",
                hint(set, names.iter().copied())
            ));
        };
        let ds = &scope.data[set_idx].1;
        let Some(col) = ds.columns.iter().position(|c| c == column) else {
            return Err(format!(
                "data set `{set}` has no column `{column}`{}",
                hint(column, ds.columns.iter().map(String::as_str))
            ));
        };
        return Ok(Part::Data {
            set: set_idx,
            column: col,
            label: inner.to_string(),
        });
    }
    if !inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`{{{{ {inner} }}}}` is not a template expression; use a variable, counter, vu, iteration, uuid, random_int(a, b), random_string(n) or set.column"
        ));
    }
    if let Some((_, id)) = scope.vars.iter().find(|(name, _)| name == inner) {
        return Ok(Part::Var(*id, inner.to_string()));
    }
    if scope.all_vars.iter().any(|v| v == inner) {
        return Err(format!(
            "variable `{inner}` is used before it is defined; extract it in an earlier step of the same flow"
        ));
    }
    Err(format!(
        "unknown variable `{inner}`{}; define it with `extract` in an earlier step",
        hint(
            inner,
            scope.vars.iter().map(|(n, _)| n.as_str()).chain([
                "counter",
                "vu",
                "iteration",
                "uuid"
            ])
        )
    ))
}

/// ` (did you mean `x`?)` for the closest candidate, or nothing.
pub(crate) fn hint<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    candidates
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn call_args<'a>(inner: &'a str, func: &str) -> Option<Vec<&'a str>> {
    let rest = inner.strip_prefix(func)?.trim_start();
    let body = rest.strip_prefix('(')?.strip_suffix(')')?;
    Some(body.split(',').map(str::trim).collect())
}

impl fmt::Display for Template {
    /// Shows the template as written, with secrets as `${NAME}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            f.write_str(&part_text(part))?;
        }
        Ok(())
    }
}

/// One part as written.
fn part_text(part: &Part) -> String {
    match part {
        Part::Lit(s) => s.clone(),
        Part::Secret { name, .. } => format!("${{{name}}}"),
        Part::Var(_, name) => format!("{{{{ {name} }}}}"),
        Part::Data { label, .. } => format!("{{{{ {label} }}}}"),
        Part::Counter => "{{ counter }}".into(),
        Part::Vu => "{{ vu }}".into(),
        Part::Iteration => "{{ iteration }}".into(),
        Part::Uuid => "{{ uuid }}".into(),
        Part::RandomInt(a, b) => format!("{{{{ random_int({a}, {b}) }}}}"),
        Part::RandomString(n) => format!("{{{{ random_string({n}) }}}}"),
        Part::Raw(inner) => format!("{} | raw }}}}", part_text(inner).trim_end_matches(" }}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn scope<'a>(vars: &'a [(String, VarId)], data: &'a [(String, DataSet)]) -> Scope<'a> {
        static ALL: [String; 0] = [];
        Scope {
            vars,
            all_vars: &ALL,
            data,
            env: &|name| (name == "TOKEN").then(|| "s3cret".to_string()),
        }
    }

    #[test]
    fn renders_every_part() {
        let vars = vec![("agent_id".to_string(), 0)];
        let data = vec![(
            "users".to_string(),
            DataSet {
                file: "u.csv".into(),
                columns: vec!["email".into()],
                rows: vec![vec!["a@x".into()], vec!["b@x".into()]],
            },
        )];
        let t = Template::parse(
            "/a/{{ agent_id }}/{{counter}}/{{ users.email }}?n={{ random_int(5, 5) }}&t=${TOKEN}&v={{ vu }}",
            &scope(&vars, &data),
        )
        .unwrap();
        let counter = AtomicU64::new(7);
        let mut rng = SmallRng::seed_from_u64(1);
        let values = vec![Some("ag-1".to_string())];
        let sets: Vec<DataSet> = data.iter().map(|(_, d)| d.clone()).collect();
        let mut ctx = RenderCtx {
            vars: &values,
            data: &sets,
            rows: &[1],
            counter: &counter,
            split: Default::default(),
            rng: &mut rng,
            vu: 3,
            iteration: 0,
        };
        assert_eq!(t.render(&mut ctx), "/a/ag-1/7/b@x?n=5&t=s3cret&v=3");
        assert_eq!(counter.load(Ordering::Relaxed), 8);
        // The secret never shows in the display form.
        assert_eq!(
            t.to_string(),
            "/a/{{ agent_id }}/{{ counter }}/{{ users.email }}?n={{ random_int(5, 5) }}&t=${TOKEN}&v={{ vu }}"
        );
    }

    #[test]
    fn random_parts_have_the_right_shape() {
        let t = Template::parse("{{ uuid }} {{ random_string(12) }}", &scope(&[], &[])).unwrap();
        let counter = AtomicU64::new(0);
        let mut rng = SmallRng::seed_from_u64(2);
        let mut ctx = RenderCtx {
            vars: &[],
            data: &[],
            rows: &[],
            counter: &counter,
            split: Default::default(),
            rng: &mut rng,
            vu: 0,
            iteration: 0,
        };
        let out = t.render(&mut ctx);
        let (id, s) = out.split_once(' ').unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        assert_eq!(s.len(), 12);
        assert!(!t.is_static());
    }

    #[test]
    fn errors_say_what_to_write() {
        let vars = vec![("agent_id".to_string(), 0)];
        let e = Template::parse("/x/{{ agentid }}", &scope(&vars, &[])).unwrap_err();
        assert_eq!(e.offset, 3);
        assert!(
            e.message.contains("did you mean `agent_id`"),
            "{}",
            e.message
        );
        let e = Template::parse("${MISSING}", &scope(&[], &[])).unwrap_err();
        assert!(e.message.contains("not set"), "{}", e.message);
        let e = Template::parse("{{ random_int(9, 1) }}", &scope(&[], &[])).unwrap_err();
        assert!(e.message.contains("random_int(1, 9)"), "{}", e.message);
        assert!(Template::parse("{{ open", &scope(&[], &[])).is_err());
    }

    #[test]
    fn used_before_defined_is_its_own_error() {
        let all = vec!["task_id".to_string()];
        let s = Scope {
            vars: &[],
            all_vars: &all,
            data: &[],
            env: &|_| None,
        };
        let e = Template::parse("/t/{{ task_id }}", &s).unwrap_err();
        assert!(
            e.message.contains("used before it is defined"),
            "{}",
            e.message
        );
    }
}
