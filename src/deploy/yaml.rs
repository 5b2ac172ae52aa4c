//! A small YAML emitter for manifests: an ordered tree ([`Node`]) written as block YAML.
//!
//! Why not a YAML crate: `serde_yaml` is archived (unmaintained since 2024) and its forks are
//! young; manifests need only JSON's data model, and YAML 1.2 is a superset of JSON, so every
//! string that could be misread (numbers, booleans, `null`, `yes`/`no`/`on`/`off` of YAML 1.1,
//! anything with `:` or `#` or a leading space) is written as a JSON string: quoting and
//! escaping are then exactly `serde_json`'s. Only plain words (a letter, then letters, digits,
//! `_ . / -`) stay unquoted, and multi-line text that is all printable goes in a literal block
//! (`|2`, with the chomping indicator its trailing newlines need) so file contents in a
//! ConfigMap stay readable. Key order is the order given.

use std::fmt::Write;

/// A YAML value. Maps keep their insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in order.
    Map(Vec<(String, Node)>),
}

impl From<&str> for Node {
    fn from(s: &str) -> Self {
        Node::Str(s.to_owned())
    }
}

impl From<String> for Node {
    fn from(s: String) -> Self {
        Node::Str(s)
    }
}

impl From<i64> for Node {
    fn from(n: i64) -> Self {
        Node::Int(n)
    }
}

impl From<u32> for Node {
    fn from(n: u32) -> Self {
        Node::Int(i64::from(n))
    }
}

impl From<bool> for Node {
    fn from(b: bool) -> Self {
        Node::Bool(b)
    }
}

impl From<Vec<Node>> for Node {
    fn from(items: Vec<Node>) -> Self {
        Node::Seq(items)
    }
}

/// A mapping from `(key, value)` pairs, in order.
pub fn map<const N: usize>(entries: [(&str, Node); N]) -> Node {
    Node::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

/// The document `node` as block YAML (no `---` marker), ending in a newline.
pub fn to_string(node: &Node) -> String {
    let mut out = String::new();
    match node {
        Node::Map(entries) if !entries.is_empty() => write_map(&mut out, entries, 0),
        Node::Seq(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        other => {
            write_inline(&mut out, other);
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, entries: &[(String, Node)], indent: usize) {
    for (key, value) in entries {
        pad(out, indent);
        write_scalar(out, key);
        out.push(':');
        write_value(out, value, indent);
    }
}

/// A mapping value or sequence item after its `key:` or `-`: inline, or on the next lines.
fn write_value(out: &mut String, value: &Node, indent: usize) {
    match value {
        Node::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            write_map(out, entries, indent + 2);
        }
        Node::Seq(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, indent);
        }
        Node::Str(s) if literal_block(s) => write_literal(out, s, indent),
        other => {
            out.push(' ');
            write_inline(out, other);
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Node], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match item {
            // The first entry shares the dash's line; the others align under it.
            Node::Map(entries) if !entries.is_empty() => {
                let (key, value) = &entries[0];
                out.push(' ');
                write_scalar(out, key);
                out.push(':');
                write_value(out, value, indent + 2);
                write_map(out, &entries[1..], indent + 2);
            }
            Node::Seq(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, indent + 2);
            }
            // Never a literal block inside a sequence: a quoted string is always right.
            other => {
                out.push(' ');
                write_inline(out, other);
                out.push('\n');
            }
        }
    }
}

/// Scalars and empty collections, on one line.
fn write_inline(out: &mut String, node: &Node) {
    match node {
        Node::Str(s) => write_scalar(out, s),
        Node::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Seq(_) => out.push_str("[]"),
        Node::Map(_) => out.push_str("{}"),
    }
}

/// A plain word when it cannot be read as anything but that string, else a JSON string.
fn write_scalar(out: &mut String, s: &str) {
    if plain(s) {
        out.push_str(s);
    } else {
        out.push_str(&serde_json::to_string(s).expect("strings serialize"));
    }
}

/// Whether `s` reads back as the same string without quotes, in YAML 1.1 and 1.2.
fn plain(s: &str) -> bool {
    const RESERVED: [&str; 9] = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

/// Whether `s` is multi-line text that a literal block holds exactly: printable characters,
/// tabs and `\n` only (no `\r`, no byte-order mark, none of the characters YAML 1.1 takes as
/// line breaks).
fn literal_block(s: &str) -> bool {
    s.contains('\n')
        && s.chars().all(|c| {
            c == '\n'
                || c == '\t'
                || !(c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}'))
        })
}

/// `|2` with strip (`-`), clip (none) or keep (`+`) chomping, then the lines indented by two
/// more than `indent`. The explicit indentation keeps a first line starting with spaces right.
fn write_literal(out: &mut String, s: &str, indent: usize) {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let _ = writeln!(out, " |2{chomp}");
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(out, indent + 2);
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_stay_plain_and_everything_ambiguous_is_quoted() {
        let doc = map([
            ("kind", "Job".into()),
            ("a", "yes".into()),
            ("b", "123".into()),
            ("c", "1.5".into()),
            ("d", "Null".into()),
            ("e", "a: b # c".into()),
            ("f", " lead".into()),
            ("g", "".into()),
            ("h", "batch.kubernetes.io/job-name".into()),
            ("on", Node::Int(3)),
            ("i", "tab\there \"q\" \\ \u{1}".into()),
        ]);
        assert_eq!(
            to_string(&doc),
            "kind: Job\na: \"yes\"\nb: \"123\"\nc: \"1.5\"\nd: \"Null\"\ne: \"a: b # c\"\n\
             f: \" lead\"\ng: \"\"\nh: batch.kubernetes.io/job-name\n\"on\": 3\n\
             i: \"tab\\there \\\"q\\\" \\\\ \\u0001\"\n"
        );
    }

    #[test]
    fn nesting_and_empty_collections() {
        let doc = map([
            (
                "spec",
                map([
                    (
                        "list",
                        vec![
                            Node::from("a"),
                            map([("x", 1i64.into()), ("yes", true.into())]),
                        ]
                        .into(),
                    ),
                    ("none", Node::Seq(vec![])),
                    ("empty", Node::Map(vec![])),
                ]),
            ),
            ("nested", vec![Node::Seq(vec!["z".into()])].into()),
        ]);
        assert_eq!(
            to_string(&doc),
            "spec:\n  list:\n  - a\n  - x: 1\n    \"yes\": true\n  none: []\n  empty: {}\nnested:\n-\n  - z\n"
        );
    }

    #[test]
    fn literal_blocks_keep_the_exact_text() {
        let cases = [
            ("a\nb\n", " |2\n    a\n    b\n"),
            ("a\nb", " |2-\n    a\n    b\n"),
            ("a\n\nb\n\n\n", " |2+\n    a\n\n    b\n\n\n"),
            ("  indented\nsecond\n", " |2\n      indented\n    second\n"),
        ];
        for (text, block) in cases {
            let doc = map([("k", map([("v", text.into())]))]);
            assert_eq!(to_string(&doc), format!("k:\n  v:{block}"), "{text:?}");
        }
        // Text a literal block cannot hold exactly is quoted instead.
        let doc = map([("v", "a\r\nb".into())]);
        assert_eq!(to_string(&doc), "v: \"a\\r\\nb\"\n");
        let doc = map([("v", vec![Node::from("a\nb")].into())]);
        assert_eq!(to_string(&doc), "v:\n- \"a\\nb\"\n");
    }
}
