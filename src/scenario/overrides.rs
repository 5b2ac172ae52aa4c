//! Command-line overrides (`--set a.b=v`, `--target`, `--duration`), applied to the parsed
//! TOML document before it is deserialized, so an override is checked exactly like the file.

use std::borrow::Cow;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Changes to a scenario from the command line.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Raw `KEY=VALUE` strings from `--set`; KEY is a dotted path such as `load.users`,
    /// `requests.get.weight` (array entries by `name` or index) or `slo.latency.p99`.
    pub set: Vec<String>,
    /// `--target URL`: the same as `--set target.base_url=URL`.
    pub target: Option<String>,
    /// `--duration D`: replaces a constant load's duration, or scales the stages to total `D`.
    pub duration: Option<String>,
}

impl Overrides {
    /// `(label, key, value)` of every document override, `--target` last.
    pub(crate) fn entries(&self) -> Vec<(String, String, String)> {
        let mut out: Vec<(String, String, String)> = self
            .set
            .iter()
            .map(|raw| {
                let (k, v) = raw.split_once('=').unwrap_or((raw.as_str(), ""));
                (format!("--set {raw}"), k.trim().to_string(), v.to_string())
            })
            .collect();
        if let Some(url) = &self.target {
            out.push((
                format!("--target {url}"),
                "target.base_url".into(),
                url.clone(),
            ));
        }
        out
    }
}

/// Sets `key` (dotted path) to `value` in `root`. Every span of the new value is `span`.
pub(crate) fn apply<'a>(
    root: &mut DeTable<'a>,
    key: &str,
    value: &'a str,
    span: Range<usize>,
) -> Result<(), (String, Option<String>)> {
    if key.is_empty() {
        return Err((
            "an override needs a key".into(),
            Some("write e.g. --set load.users=64".into()),
        ));
    }
    let path: Vec<&str> = match key.strip_prefix("slo.") {
        Some(rest) => vec!["slo", rest],
        None => key.split('.').collect(),
    };
    let parsed = match DeValue::parse(value) {
        Ok(v) => v.into_inner(),
        Err(_) => DeValue::String(Cow::Borrowed(value)),
    };
    let new = respan(parsed, &span);
    if key == "target.base_url" && !value.starts_with("embedded:") {
        // A real target replaces the embedded one, and its arguments with it.
        if let Some(target) = root.get_mut("target") {
            if let DeValue::Table(t) = target.get_mut() {
                t.remove("embedded_args");
            }
        }
    }
    let mut table = root;
    let mut walked = String::new();
    let mut i = 0;
    while i + 1 < path.len() {
        let seg = path[i];
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(seg);
        let entry = table
            .entry(Spanned::new(span.clone(), Cow::Owned(seg.to_string())))
            .or_insert_with(|| Spanned::new(span.clone(), DeValue::Table(DeTable::new())));
        let mut cur = entry.get_mut();
        if let DeValue::Array(items) = cur {
            let names: Vec<String> = items
                .iter()
                .filter_map(|i| {
                    i.get_ref()
                        .get("name")?
                        .get_ref()
                        .as_str()
                        .map(String::from)
                })
                .collect();
            if i + 2 >= path.len() {
                return Err((
                    format!("`{walked}` is a list; name an entry"),
                    Some(format!(
                        "write e.g. --set {walked}.{}.weight=2",
                        names.first().map_or("0", String::as_str)
                    )),
                ));
            }
            let sel = path[i + 1];
            let index = select(sel, &walked, items.len(), &names)?;
            walked.push('.');
            walked.push_str(sel);
            cur = items.get_mut(index).expect("in range").get_mut();
            i += 1;
        }
        table = match cur {
            DeValue::Table(t) => t,
            other => {
                return Err((
                    format!("`{walked}` is a {}, not a table", other.type_str()),
                    Some("set the value itself, e.g. --set load.users=64".into()),
                ));
            }
        };
        i += 1;
    }
    let last = path[path.len() - 1];
    table.insert(
        Spanned::new(span.clone(), Cow::Owned(last.to_string())),
        Spanned::new(span, new),
    );
    Ok(())
}

/// The array entry `sel` names: an index or an entry's `name`.
fn select(
    sel: &str,
    walked: &str,
    len: usize,
    names: &[String],
) -> Result<usize, (String, Option<String>)> {
    if let Ok(i) = sel.parse::<usize>() {
        if i < len {
            return Ok(i);
        }
        return Err((format!("`{walked}` has no entry {i} (it has {len})"), None));
    }
    names.iter().position(|n| n == sel).ok_or_else(|| {
        (
            format!("`{walked}` has no entry named `{sel}`"),
            super::errors::did_you_mean(sel, names.iter().map(String::as_str)),
        )
    })
}

fn respan<'a>(value: DeValue<'a>, span: &Range<usize>) -> DeValue<'a> {
    match value {
        DeValue::Array(items) => DeValue::Array(
            items
                .into_iter()
                .map(|v| Spanned::new(span.clone(), respan(v.into_inner(), span)))
                .collect(),
        ),
        DeValue::Table(t) => DeValue::Table(
            t.into_iter()
                .map(|(k, v)| {
                    (
                        Spanned::new(span.clone(), k.into_inner()),
                        Spanned::new(span.clone(), respan(v.into_inner(), span)),
                    )
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_nested_values_and_array_entries_by_name() {
        let text = "[load]\nusers = 1\n[[requests]]\nname = \"get\"\n";
        let mut doc = DeTable::parse(text).unwrap().into_inner();
        apply(&mut doc, "load.users", "64", 100..101).unwrap();
        apply(&mut doc, "requests.get.weight", "3", 100..101).unwrap();
        apply(&mut doc, "slo.latency.p99", "< 5ms", 100..101).unwrap();
        let users = doc.get("load").unwrap().get_ref().get("users").unwrap();
        assert_eq!(users.get_ref().as_integer().unwrap().as_str(), "64");
        assert_eq!(users.span(), 100..101);
        let slo = doc
            .get("slo")
            .unwrap()
            .get_ref()
            .get("latency.p99")
            .unwrap();
        assert_eq!(slo.get_ref().as_str(), Some("< 5ms"));
        let (msg, _) = apply(&mut doc, "load.users.x", "1", 100..101).unwrap_err();
        assert!(msg.contains("not a table"), "{msg}");
        let (msg, help) = apply(&mut doc, "requests.gt.weight", "1", 100..101).unwrap_err();
        assert!(msg.contains("no entry named `gt`"), "{msg}");
        assert_eq!(help.as_deref(), Some("did you mean `get`?"));
    }
}
