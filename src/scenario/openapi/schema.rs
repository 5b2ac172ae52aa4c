//! The document as a tree ([`Yaml`]: JSON is read by the same YAML 1.2 parser, so key order
//! is the document's), local `$ref`s followed with a depth limit, and sample values from
//! schemas: the document's own `example`, `examples`, `default`, `enum[0]` or `const` when it
//! has one, a typed placeholder otherwise.
//!
//! Literal strings taken from the document are made template-safe (`{{` and `${` would be
//! read as templates by the scenario loader); placeholders are templates on purpose.

use yaml_rust2::Yaml;
use yaml_rust2::yaml::Hash;

/// How deep schemas nest (objects, arrays, `$ref`s together) before a sample stops.
pub(super) const MAX_DEPTH: usize = 12;
/// How many `$ref`s one lookup follows before giving up (a cycle of references).
const MAX_REFS: usize = 16;

/// The document, for resolving references.
pub(super) struct Doc<'a> {
    pub root: &'a Yaml,
}

/// A value for a parameter: a literal from the document (percent-encoded where it lands) or a
/// placeholder template (inserted as is).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Literal(Yaml),
    Placeholder(String),
}

impl<'a> Doc<'a> {
    /// `node`, or what its `$ref` (a local `#/…` pointer, followed through chains) points at;
    /// `None` for a reference that is external, dangling or cyclic.
    pub fn resolve(&self, node: &'a Yaml) -> Option<&'a Yaml> {
        let mut node = node;
        for _ in 0..MAX_REFS {
            match node["$ref"].as_str() {
                None => return Some(node),
                Some(r) => node = self.pointer(r.strip_prefix('#')?)?,
            }
        }
        None
    }

    /// The node at a JSON pointer (`/components/schemas/Pet`) of the document.
    fn pointer(&self, ptr: &str) -> Option<&'a Yaml> {
        let mut node = self.root;
        for token in ptr.split('/').skip(1) {
            let token = percent_decode(token).replace("~1", "/").replace("~0", "~");
            node = match node {
                Yaml::Hash(h) => h.get(&Yaml::String(token))?,
                Yaml::Array(a) => a.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// A sample of `schema`, or `None` when there is nothing to send (a null, an unresolved
    /// reference, or the depth limit).
    pub fn sample(&self, schema: &'a Yaml, depth: usize) -> Option<Yaml> {
        let s = self.resolve(schema)?;
        if depth > MAX_DEPTH || !s.is_hash() {
            return None;
        }
        if let Some(v) = explicit(s) {
            return literal(v);
        }
        if let Some(parts) = s["allOf"].as_vec() {
            let mut merged = Hash::new();
            for part in parts {
                match self.sample(part, depth + 1) {
                    Some(Yaml::Hash(h)) => merged.extend(h),
                    Some(other) if merged.is_empty() => return Some(other),
                    _ => {}
                }
            }
            return Some(Yaml::Hash(merged));
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(first) = s[key].as_vec().and_then(|v| v.first()) {
                return self.sample(first, depth + 1);
            }
        }
        match type_of(s) {
            Some("object") | None if s["properties"].is_hash() => {
                Some(Yaml::Hash(self.object(s, depth)))
            }
            Some("object") => Some(Yaml::Hash(Hash::new())),
            Some("array") => Some(Yaml::Array(
                self.sample(&s["items"], depth + 1).into_iter().collect(),
            )),
            Some("string") => Some(Yaml::String(string_placeholder(s))),
            Some("integer") => Some(Yaml::Integer(self.int_range(s).0)),
            Some("number") => Some(Yaml::Integer(self.int_range(s).0)),
            Some("boolean") => Some(Yaml::Boolean(true)),
            // No type at all: any value is valid, a string among them.
            None => Some(Yaml::String("x{{ counter }}".into())),
            Some(_) => None,
        }
    }

    /// The required properties, and the optional ones the document gives a value for (an
    /// invented value for an optional field could change what the request means).
    fn object(&self, s: &'a Yaml, depth: usize) -> Hash {
        let required: Vec<&str> = s["required"]
            .as_vec()
            .map(|v| v.iter().filter_map(Yaml::as_str).collect())
            .unwrap_or_default();
        let mut out = Hash::new();
        for (key, prop) in s["properties"].as_hash().into_iter().flatten() {
            let Some(name) = key.as_str() else { continue };
            let Some(resolved) = self.resolve(prop) else {
                continue;
            };
            if resolved["readOnly"].as_bool() == Some(true) {
                continue;
            }
            if !required.contains(&name) && explicit(resolved).is_none() {
                continue;
            }
            if let Some(v) = self.sample(prop, depth + 1) {
                out.insert(Yaml::String(name.to_string()), v);
            }
        }
        out
    }

    /// A parameter's value: its own `example`/`examples`, its schema's explicit value, else
    /// a typed placeholder.
    pub fn param_value(&self, param: &'a Yaml) -> Value {
        if let Some(v) = param
            .as_hash()
            .and_then(|_| self.first_example(param))
            .filter(|v| !v.is_null())
        {
            return Value::Literal(v.clone());
        }
        let schema = self.param_schema(param);
        let Some(s) = schema.and_then(|s| self.resolve(s)) else {
            return Value::Placeholder("x{{ counter }}".into());
        };
        if let Some(v) = explicit(s).filter(|v| !v.is_null()) {
            return Value::Literal(v.clone());
        }
        match type_of(s) {
            Some("integer") | Some("number") => {
                let (lo, hi) = self.int_range(s);
                Value::Placeholder(format!("{{{{ random_int({lo}, {hi}) }}}}"))
            }
            Some("boolean") => Value::Literal(Yaml::Boolean(true)),
            Some("array") => match self.resolve(&s["items"]) {
                Some(items) if items.is_hash() => {
                    let item = Yaml::Hash(Hash::from_iter([(
                        Yaml::String("schema".into()),
                        items.clone(),
                    )]));
                    self.param_value(&item)
                }
                _ => Value::Placeholder("x{{ counter }}".into()),
            },
            _ if s["format"].as_str() == Some("uuid") => Value::Placeholder("{{ uuid }}".into()),
            _ => Value::Placeholder("x{{ counter }}".into()),
        }
    }

    /// A parameter's schema: `schema`, or the first media type's under `content`.
    fn param_schema(&self, param: &'a Yaml) -> Option<&'a Yaml> {
        if !param["schema"].is_badvalue() {
            return Some(&param["schema"]);
        }
        let content = param["content"].as_hash()?;
        content.values().next().map(|m| &m["schema"])
    }

    /// The `example`, or the first of the `examples` map (each maybe a `$ref` to
    /// `#/components/examples`), of a parameter or media type.
    pub fn first_example(&self, node: &'a Yaml) -> Option<&'a Yaml> {
        if !node["example"].is_badvalue() {
            return Some(&node["example"]);
        }
        let first = node["examples"].as_hash()?.values().next()?;
        let example = self.resolve(first)?;
        (!example["value"].is_badvalue()).then(|| &example["value"])
    }

    /// `(low, high)` for an integer placeholder: `minimum`/`maximum` when given (clamped to
    /// a sensible span), else 1 to 100.
    fn int_range(&self, s: &Yaml) -> (i64, i64) {
        let num = |k: &str| match &s[k] {
            Yaml::Integer(i) => Some(*i),
            Yaml::Real(r) => r.parse::<f64>().ok().map(|f| f.ceil() as i64),
            _ => None,
        };
        let lo = num("minimum")
            .map(|m| {
                if s["exclusiveMinimum"].as_bool() == Some(true) {
                    m.saturating_add(1)
                } else {
                    m
                }
            })
            .or_else(|| num("exclusiveMinimum").map(|m| m.saturating_add(1)))
            .unwrap_or(1);
        let hi = num("maximum")
            .or_else(|| num("exclusiveMaximum").map(|m| m.saturating_sub(1)))
            .unwrap_or(lo.saturating_add(99))
            .max(lo);
        (lo, hi)
    }
}

/// The value a schema itself gives: `example`, `examples[0]` (3.1), `default`, `enum[0]` or
/// `const`.
fn explicit(s: &Yaml) -> Option<&Yaml> {
    if !s["example"].is_badvalue() {
        return Some(&s["example"]);
    }
    if let Some(first) = s["examples"].as_vec().and_then(|v| v.first()) {
        return Some(first);
    }
    if !s["default"].is_badvalue() {
        return Some(&s["default"]);
    }
    if let Some(first) = s["enum"].as_vec().and_then(|v| v.first()) {
        return Some(first);
    }
    (!s["const"].is_badvalue()).then(|| &s["const"])
}

/// A schema's type: `type`, or the first non-null one of a 3.1 type list.
fn type_of(s: &Yaml) -> Option<&str> {
    match &s["type"] {
        Yaml::String(t) => Some(t),
        Yaml::Array(list) => list.iter().filter_map(Yaml::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

/// A string placeholder by `format`.
fn string_placeholder(s: &Yaml) -> String {
    match s["format"].as_str() {
        Some("uuid") => "{{ uuid }}",
        Some("date-time") => "2026-01-01T00:00:00Z",
        Some("date") => "2026-01-01",
        Some("email") => "user{{ counter }}@example.com",
        Some("uri") | Some("url") => "https://example.com/",
        Some("byte") => "bnhiZW5jaA==",
        Some("ipv4") => "192.0.2.1",
        _ => "x{{ counter }}",
    }
    .to_string()
}

/// A deep copy of a literal from the document, its strings made template-safe; `None` for
/// null (nothing to send).
pub(super) fn literal(v: &Yaml) -> Option<Yaml> {
    Some(match v {
        Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => return None,
        Yaml::String(s) => Yaml::String(template_safe(s)),
        Yaml::Array(a) => Yaml::Array(a.iter().filter_map(literal).collect()),
        Yaml::Hash(h) => Yaml::Hash(
            h.iter()
                .filter_map(|(k, v)| {
                    Some((Yaml::String(template_safe(&key_text(k)?)), literal(v)?))
                })
                .collect(),
        ),
        other => other.clone(),
    })
}

/// A literal the scenario loader will not read as a template: `{{` and `${` get a space.
pub(super) fn template_safe(s: &str) -> String {
    s.replace("{{", "{ {").replace("${", "$ {")
}

/// A mapping key as text (YAML keys may be numbers or booleans: `200:`).
pub(super) fn key_text(k: &Yaml) -> Option<String> {
    match k {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `%41` → `A`; invalid escapes stay as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use yaml_rust2::YamlLoader;

    fn doc(text: &str) -> Yaml {
        YamlLoader::load_from_str(text).unwrap().remove(0)
    }

    #[test]
    fn references_resolve_and_cycles_stop() {
        let root = doc(
            "components:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n    B: {type: integer, example: 7}\n    C: {$ref: '#/components/schemas/C'}\n    'a/b': {type: boolean}\n",
        );
        let d = Doc { root: &root };
        let a = doc("$ref: '#/components/schemas/A'");
        assert_eq!(d.sample(&a, 0), Some(Yaml::Integer(7)));
        let c = doc("$ref: '#/components/schemas/C'");
        assert_eq!(d.resolve(&c), None);
        let slash = doc("$ref: '#/components/schemas/a~1b'");
        assert_eq!(d.sample(&slash, 0), Some(Yaml::Boolean(true)));
        let external = doc("$ref: 'other.yaml#/X'");
        assert_eq!(d.sample(&external, 0), None);
    }

    #[test]
    fn objects_hold_required_and_exemplified_properties() {
        let root = doc(
            "type: object\nrequired: [name, size, any]\nproperties:\n  name: {type: string}\n  any: {description: anything}\n  size: {type: integer, minimum: 5}\n  note: {type: string}\n  kind: {type: string, enum: [small, big]}\n  id: {type: string, readOnly: true, example: x}\n  tags: {type: array, items: {type: string, format: uuid}, example: ['{{a}}']}\n",
        );
        let d = Doc { root: &root };
        let sample = d.sample(&root, 0).unwrap();
        let h = sample.as_hash().unwrap();
        let keys: Vec<&str> = h.keys().filter_map(Yaml::as_str).collect();
        assert_eq!(keys, ["name", "any", "size", "kind", "tags"]);
        assert_eq!(sample["name"].as_str(), Some("x{{ counter }}"));
        assert_eq!(sample["size"].as_i64(), Some(5));
        assert_eq!(sample["kind"].as_str(), Some("small"));
        assert_eq!(
            sample["tags"][0].as_str(),
            Some("{ {a}}"),
            "literals are not templates"
        );
    }

    #[test]
    fn self_nesting_schemas_stop_at_the_depth_limit() {
        let root = doc(
            "components:\n  schemas:\n    Node:\n      type: object\n      required: [child]\n      properties:\n        child: {$ref: '#/components/schemas/Node'}\n",
        );
        let d = Doc { root: &root };
        let node = doc("$ref: '#/components/schemas/Node'");
        let sample = d.sample(&node, 0).unwrap();
        let mut depth = 0;
        let mut at = &sample;
        while let Some(next) = at
            .as_hash()
            .and_then(|h| h.get(&Yaml::String("child".into())))
        {
            at = next;
            depth += 1;
        }
        assert!(depth > 2 && depth <= MAX_DEPTH, "{depth}");
    }

    #[test]
    fn parameters_take_examples_else_typed_placeholders() {
        let root = doc("components:\n  examples:\n    One: {value: 42}\n");
        let d = Doc { root: &root };
        let p = |t: &str| d.param_value(Box::leak(Box::new(doc(t))));
        assert_eq!(
            p("name: id\nin: path\nschema: {type: integer, minimum: 10, maximum: 20}"),
            Value::Placeholder("{{ random_int(10, 20) }}".into())
        );
        assert_eq!(
            p("name: id\nin: path\nschema: {type: string}"),
            Value::Placeholder("x{{ counter }}".into())
        );
        assert_eq!(
            p("name: id\nin: path\nexample: svc-1\nschema: {type: string}"),
            Value::Literal(Yaml::String("svc-1".into()))
        );
        assert_eq!(
            p("name: id\nin: path\nexamples: {a: {$ref: '#/components/examples/One'}}"),
            Value::Literal(Yaml::Integer(42))
        );
        assert_eq!(
            p("name: a\nin: path\nschema: {type: string, enum: [start, stop]}"),
            Value::Literal(Yaml::String("start".into()))
        );
        assert_eq!(
            p("name: a\nin: path\nschema: {type: string, format: uuid}"),
            Value::Placeholder("{{ uuid }}".into())
        );
    }
}
