//! Writing values into the scenario text: TOML inline values from document values, and the
//! percent-encoding of literal path and query values.

use yaml_rust2::Yaml;

use super::schema::key_text;
use crate::scenario::init::toml_string;

/// `v` as a one-line TOML value (inline tables and arrays); `None` for a null, which TOML
/// cannot hold (a null member or element is left out).
pub(super) fn inline(v: &Yaml) -> Option<String> {
    Some(match v {
        Yaml::String(s) => toml_string(s),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Real(r) => {
            let f = r.parse::<f64>().ok().filter(|f| f.is_finite())?;
            // `{:?}` always writes a fraction or an exponent, as TOML floats need.
            format!("{f:?}")
        }
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Array(a) => {
            let items: Vec<String> = a.iter().filter_map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        Yaml::Hash(h) => {
            let members: Vec<String> = h
                .iter()
                .filter_map(|(k, v)| Some(format!("{} = {}", key(&key_text(k)?), inline(v)?)))
                .collect();
            if members.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", members.join(", "))
            }
        }
        Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => return None,
    })
}

/// A TOML key: bare when it can be, quoted otherwise.
pub(super) fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_string(k)
    }
}

/// A scalar literal as text for a path, query or header (`None` for a null, an array or a
/// table).
pub(super) fn scalar_text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (so a literal can hold
/// neither a template nor a path separator).
pub(super) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use yaml_rust2::YamlLoader;

    #[test]
    fn values_become_inline_toml() {
        let v = YamlLoader::load_from_str(
            "{a: 1, 'b c': [x, null, 2.5, 1e3], d: {}, e: null, f: true, 200: ok}",
        )
        .unwrap()
        .remove(0);
        assert_eq!(
            inline(&v).unwrap(),
            r#"{ a = 1, "b c" = ["x", 2.5, 1000.0], d = {}, f = true, 200 = "ok" }"#
        );
        let parsed: toml::Table = toml::from_str(&format!("v = {}", inline(&v).unwrap())).unwrap();
        assert_eq!(parsed["v"]["b c"][2].as_float(), Some(1000.0));
    }

    #[test]
    fn literals_are_percent_encoded() {
        assert_eq!(
            percent_encode("a b/c{{d}}é"),
            "a%20b%2Fc%7B%7Bd%7D%7D%C3%A9"
        );
        assert_eq!(percent_encode("svc-001_x.y~"), "svc-001_x.y~");
    }
}
