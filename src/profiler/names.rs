//! Short frame names for flamegraphs and top-functions tables: demangled Rust symbols read as
//! whole generic signatures (`tower::util::boxed_clone_sync::BoxCloneSyncService<T,U,E>::
//! poll<…>`), which no label can show. The `.pb.gz` keeps the full names.
//!
//! The rules: generic arguments are dropped (`Vec<u8>` → `Vec`), a trailing symbol hash
//! (`::h0123456789abcdef`) is dropped, a qualified path keeps its shape with each side
//! shortened (`<alloc::boxed::Box<F> as core::ops::FnOnce<A>>::call_once` →
//! `<Box as FnOnce>::call_once`), and a path keeps its last two segments (three when it ends
//! in a closure), so `tokio::runtime::task::harness::Harness<T,S>::poll` → `Harness::poll`.
//! Names that are not Rust paths (C symbols, addresses) pass through unchanged.

/// The short name of a demangled frame name.
pub fn simplify(name: &str) -> String {
    let segments = segments(name.trim());
    let mut segments: Vec<String> = segments
        .into_iter()
        .filter(|s| !is_hash(s))
        .filter(|s| !s.is_empty())
        .collect();
    if segments.is_empty() {
        return name.to_string();
    }
    let mut keep = 2;
    if segments.last().is_some_and(|s| s.starts_with('{')) {
        keep = 3;
    }
    if segments.len() > keep {
        segments.drain(..segments.len() - keep);
    }
    segments.join("::")
}

/// `h` followed by 16 hex digits: the legacy mangling's hash segment.
fn is_hash(segment: &str) -> bool {
    segment.len() == 17
        && segment.starts_with('h')
        && segment[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// Splits a path at top-level `::`, with generic arguments removed and qualified segments
/// (`<A as B>`) rewritten with both sides simplified to their last segment.
fn segments(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push(std::mem::take(&mut current));
            i += 2;
        } else if c == '<' {
            let end = matching(&chars, i);
            let inner: String = chars[i + 1..end.min(chars.len())].iter().collect();
            let turbofish = i >= 2 && chars[i - 1] == ':' && chars[i - 2] == ':';
            if current.trim().is_empty() && !turbofish {
                // A qualified path: `<Type as Trait>` or `<Type>`.
                current = qualified(&inner);
            }
            // Otherwise generic arguments of what precedes (or a turbofish `::<…>`): dropped.
            i = end + 1;
        } else {
            current.push(c);
            i += 1;
        }
    }
    out.push(current);
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

/// The index of the `>` closing the `<` at `open` (or the end), ignoring `->`.
fn matching(chars: &[char], open: usize) -> usize {
    let mut depth = 0usize;
    for (j, &c) in chars.iter().enumerate().skip(open) {
        match c {
            '<' => depth += 1,
            '>' if j > 0 && chars[j - 1] == '-' => {}
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    chars.len()
}

/// `<A as B>` with A and B each cut to their last segment, generics dropped.
fn qualified(inner: &str) -> String {
    let last = |path: &str| -> String {
        let segs = segments(path);
        let kept: Vec<&String> = segs.iter().filter(|s| !s.is_empty()).collect();
        // Keep a reference or pointer prefix (`&`, `&mut `, `*const `) of the type.
        kept.last().map_or_else(String::new, |s| {
            let prefix: String = path
                .trim_start()
                .chars()
                .take_while(|c| matches!(c, '&' | '*'))
                .collect();
            if s.starts_with(['&', '*']) || prefix.is_empty() {
                s.to_string()
            } else {
                format!("{prefix}{s}")
            }
        })
    };
    match split_as(inner) {
        Some((ty, tr)) => format!("<{} as {}>", last(ty), last(tr)),
        None => format!("<{}>", last(inner)),
    }
}

/// Splits `A as B` at its top-level ` as `.
fn split_as(inner: &str) -> Option<(&str, &str)> {
    let bytes = inner.as_bytes();
    let mut depth = 0i32;
    for i in 0..bytes.len() {
        match bytes[i] {
            b'<' => depth += 1,
            b'>' if i > 0 && bytes[i - 1] != b'-' => depth -= 1,
            b' ' if depth == 0 && inner[i..].starts_with(" as ") => {
                return Some((&inner[..i], &inner[i + 4..]));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::simplify;

    #[test]
    fn generic_signatures_become_short_names() {
        let cases = [
            (
                "tower::util::boxed_clone_sync::BoxCloneSyncService<T,U,E>::poll<tower::util::boxed_clone_sync::Inner<axum::routing::Route>>",
                "BoxCloneSyncService::poll",
            ),
            (
                "<alloc::boxed::Box<dyn core::ops::function::FnOnce<(), Output = ()> + core::marker::Send> as core::ops::function::FnOnce<()>>::call_once",
                "<Box as FnOnce>::call_once",
            ),
            (
                "tokio::runtime::task::harness::Harness<T,S>::poll",
                "Harness::poll",
            ),
            (
                "std::thread::lifecycle::spawn_unchecked<test::run_test::{closure#1}, ()>::{closure#1}",
                "lifecycle::spawn_unchecked::{closure#1}",
            ),
            ("<&T as core::fmt::Debug>::fmt", "<&T as Debug>::fmt"),
            (
                "core::ops::function::FnOnce::call_once<fn() -> core::result::Result<(), alloc::string::String>, ()>",
                "FnOnce::call_once",
            ),
            (
                "nexus_bench::reference::burn::nexus_fault_burn_cpu",
                "burn::nexus_fault_burn_cpu",
            ),
            (
                "profiler::fib_recursive::h0123456789abcdef",
                "profiler::fib_recursive",
            ),
            (
                "std::panicking::catch_unwind::<core::panic::unwind_safe::AssertUnwindSafe<F>, ()>",
                "panicking::catch_unwind",
            ),
            (
                "std::thread::lifecycle::spawn_unchecked::<test::run_test::{closure#1}, ()>::{closure#1}",
                "lifecycle::spawn_unchecked::{closure#1}",
            ),
            ("main", "main"),
            ("__libc_send", "__libc_send"),
            ("0x7f00beef", "0x7f00beef"),
            (
                "<hyper::proto::h1::dispatch::Dispatcher<D,Bs,I,T>>::poll_loop",
                "<Dispatcher>::poll_loop",
            ),
        ];
        for (full, short) in cases {
            assert_eq!(simplify(full), short, "{full}");
        }
    }

    #[test]
    fn unbalanced_input_does_not_panic() {
        for odd in ["a<b", "a>b", "<", ">", "::", "a::<", "<a as", "-> x", ""] {
            let _ = simplify(odd);
        }
    }
}
