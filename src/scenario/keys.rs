//! Unknown keys anywhere in the document, all at once: the parsed TOML is walked alongside
//! the generated JSON Schema before serde (which stops at its first problem) sees it.

use serde_json::Value;
use toml::de::{DeTable, DeValue};

use super::errors::{Locator, ScenarioError, nearest};

/// Every key the schema does not allow, with the nearest allowed name.
pub(crate) fn unknown_keys(loc: &Locator<'_>, doc: &DeTable<'_>) -> Vec<ScenarioError> {
    let schema = super::json_schema();
    let mut out = Vec::new();
    table(loc, &schema, &schema, doc, &mut out);
    out
}

/// Follows `$ref`s into `$defs`.
fn resolve<'s>(root: &'s Value, mut node: &'s Value) -> &'s Value {
    while let Some(r) = node.get("$ref").and_then(Value::as_str) {
        match r
            .strip_prefix("#/$defs/")
            .and_then(|name| root["$defs"].get(name))
        {
            Some(def) => node = def,
            None => break,
        }
    }
    node
}

/// The variant of `node` (through `anyOf`/`oneOf`) that has `key` (`properties`, `items`).
fn variant<'s>(root: &'s Value, node: &'s Value, key: &str) -> Option<&'s Value> {
    let node = resolve(root, node);
    if node.get(key).is_some()
        || (key == "properties" && node.get("additionalProperties").is_some())
    {
        return Some(node);
    }
    ["anyOf", "oneOf"]
        .iter()
        .filter_map(|k| node.get(*k)?.as_array())
        .flatten()
        .find_map(|v| variant(root, v, key))
}

fn value(
    loc: &Locator<'_>,
    root: &Value,
    schema: &Value,
    v: &DeValue<'_>,
    out: &mut Vec<ScenarioError>,
) {
    match v {
        DeValue::Table(t) => table(loc, root, schema, t, out),
        DeValue::Array(items) => {
            if let Some(s) = variant(root, schema, "items") {
                for item in items.iter() {
                    value(loc, root, &s["items"], item.get_ref(), out);
                }
            }
        }
        _ => {}
    }
}

fn table(
    loc: &Locator<'_>,
    root: &Value,
    schema: &Value,
    t: &DeTable<'_>,
    out: &mut Vec<ScenarioError>,
) {
    let Some(s) = variant(root, schema, "properties") else {
        return;
    };
    let props = s.get("properties").and_then(Value::as_object);
    let extra = s.get("additionalProperties");
    for (k, v) in t.iter() {
        let key: &str = k.get_ref();
        if let Some(p) = props.and_then(|p| p.get(key)) {
            value(loc, root, p, v.get_ref(), out);
        } else if let Some(extra) = extra.filter(|e| e.is_object()) {
            value(loc, root, extra, v.get_ref(), out);
        } else if extra == Some(&Value::Bool(false)) {
            let names: Vec<&str> = props
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let help = match nearest(key, names.iter().copied()) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("valid names here: {}", names.join(", ")),
            };
            out.push(loc.error(k.span(), format!("unknown field `{key}`"), Some(help)));
        }
    }
}
