//! Escaping of template values by where they land: inside a JSON string literal (a `json =`
//! body) a value is JSON-escaped, so a `"` in extracted or CSV data cannot end the string;
//! in a path or query it is percent-encoded, so a `/`, `?`, `#` or space in the value stays
//! data (`{{ x | raw }}` opts out, for paths built on purpose). Literal template text is
//! never touched: only the substituted values are.

/// How substituted values are escaped in one template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Escape {
    /// As is (plain `body` text, WebSocket messages, headers: checked, not escaped).
    #[default]
    None,
    /// Inside a JSON string literal: `"`, `\` and control characters escaped.
    Json,
    /// In a URL path or query: everything but the unreserved characters of RFC 3986
    /// (`A–Z a–z 0–9 - . _ ~`) percent-encoded as UTF-8 bytes.
    Url,
}

impl Escape {
    /// Appends `value` to `out`, escaped for this context.
    pub fn push(self, out: &mut String, value: &str) {
        match self {
            Escape::None => out.push_str(value),
            Escape::Json => json_into(out, value),
            Escape::Url => percent_into(out, value),
        }
    }
}

/// Appends `value` as the inside of a JSON string literal (without the quotes).
pub fn json_into(out: &mut String, value: &str) {
    use std::fmt::Write as _;
    let mut rest = value;
    while let Some(pos) = rest.find(|c: char| c == '"' || c == '\\' || c < ' ') {
        out.push_str(&rest[..pos]);
        let c = rest[pos..].chars().next().expect("found a char");
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        rest = &rest[pos + c.len_utf8()..];
    }
    out.push_str(rest);
}

/// Appends `value` percent-encoded: unreserved characters as they are, every other byte of
/// its UTF-8 as `%XX`.
pub fn percent_into(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quotes_and_separators_stay_data() {
        let mut s = String::new();
        json_into(&mut s, "a\"b\\c\nd\u{1}");
        assert_eq!(s, r#"a\"b\\c\nd\u0001"#);
        let mut p = String::new();
        percent_into(&mut p, "a b/c?d=é");
        assert_eq!(p, "a%20b%2Fc%3Fd%3D%C3%A9");
    }

    fn percent_decode(s: &str) -> Vec<u8> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    }

    /// Renders `text` (escaped by `escape`) with variable `v` set to `value`.
    fn render(text: &str, escape: Escape, value: &str) -> String {
        use crate::plan::template::{RenderCtx, Scope, Template};
        use rand::SeedableRng;
        let vars = [("v".to_string(), 0)];
        let scope = Scope {
            vars: &vars,
            all_vars: &[],
            data: &[],
            env: &|_| None,
        };
        let t = Template::parse(text, &scope).unwrap().escaped(escape);
        let values = [Some(value.to_string())];
        let counter = std::sync::atomic::AtomicU64::new(0);
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        let mut ctx = RenderCtx {
            vars: &values,
            data: &[],
            rows: &[],
            counter: &counter,
            split: Default::default(),
            rng: &mut rng,
            vu: 0,
            iteration: 0,
        };
        t.render(&mut ctx)
    }

    #[test]
    fn raw_opts_out_and_literals_are_untouched() {
        assert_eq!(render("/a b/{{ v }}", Escape::Url, "x/y"), "/a b/x%2Fy");
        assert_eq!(render("/{{ v | raw }}?q=1", Escape::Url, "x/y"), "/x/y?q=1");
    }

    proptest! {
        /// Any string rendered into a JSON body's string gives valid JSON equal to it.
        #[test]
        fn any_string_round_trips_through_a_json_body_template(v in any::<String>()) {
            let body = render(r#"{"k":"{{ v }}","n":1}"#, Escape::Json, &v);
            let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
            prop_assert_eq!(parsed["k"].as_str(), Some(v.as_str()));
        }

        /// Any string rendered into a path template is sent percent-encoded.
        #[test]
        fn any_string_in_a_path_template_is_percent_encoded(v in any::<String>()) {
            let path = render("/items/{{ v }}", Escape::Url, &v);
            let rest = path.strip_prefix("/items/").unwrap();
            prop_assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            prop_assert_eq!(percent_decode(rest), v.as_bytes());
        }

        /// Any string in a JSON string literal gives valid JSON that reads back equal.
        #[test]
        fn any_string_round_trips_through_a_json_string(v in any::<String>()) {
            let mut body = String::from("{\"k\":\"");
            json_into(&mut body, &v);
            body.push_str("\"}");
            let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
            prop_assert_eq!(parsed["k"].as_str(), Some(v.as_str()));
        }

        /// Any string in a path is sent percent-encoded: only unreserved characters and
        /// `%XX` escapes, decoding back to the value.
        #[test]
        fn any_string_in_a_path_is_percent_encoded(v in any::<String>()) {
            let mut p = String::new();
            percent_into(&mut p, &v);
            prop_assert!(p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            prop_assert_eq!(percent_decode(&p), v.as_bytes());
        }
    }
}
