//! The `--leak [ROUTE:]SIZE/request` fault knob: every request (or every request whose path
//! starts with ROUTE) allocates SIZE bytes, fills them so they are resident, and keeps them in
//! a global list that is never freed: a real leak, for proving the leak SLOs
//! (`target.rss.slope`). The allocation happens in [`nexus_fault_leak`], a function with a
//! distinctive name, so a heap profile can name the growing site.

use std::sync::Mutex;

/// Everything leaked so far; never freed.
static LEAKED: Mutex<Vec<Box<[u8]>>> = Mutex::new(Vec::new());

/// A leak on requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// Only requests whose path starts with this leak (`None`: every API request).
    pub route: Option<String>,
    /// Bytes leaked per request.
    pub bytes: usize,
}

/// Why a `--leak` value is not `[ROUTE:]SIZE/request`.
#[derive(Debug, thiserror::Error)]
#[error(
    "--leak {text:?}: {reason} (expected [ROUTE:]SIZE/request, e.g. 64KB/request or /api/services:64KB/request)"
)]
pub struct LeakError {
    text: String,
    reason: String,
}

impl Leak {
    /// Parses `[ROUTE:]SIZE/request`; the size uses the crate's units (`64KB`, `1MB`).
    pub fn parse(text: &str) -> Result<Leak, LeakError> {
        let err = |reason: &str| LeakError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let (route, rate) = match text.rsplit_once(':') {
            Some((route, rate)) => (Some(route), rate),
            None => (None, text),
        };
        if route.is_some_and(|r| !r.starts_with('/')) {
            return Err(err("the route must start with `/`"));
        }
        let size = rate
            .trim()
            .strip_suffix("/request")
            .ok_or_else(|| err("the size must be per request (`/request`)"))?;
        let bytes = crate::units::parse_bytes(size).map_err(|e| err(&e.to_string()))?;
        if bytes == 0 || bytes > 64 << 20 {
            return Err(err("the size must be more than 0 and at most 64MB"));
        }
        Ok(Leak {
            route: route.map(str::to_string),
            bytes: bytes as usize,
        })
    }

    /// Whether a request to `path` leaks.
    pub fn applies_to(&self, path: &str) -> bool {
        self.route.as_deref().is_none_or(|r| path.starts_with(r))
    }
}

/// Allocates `bytes`, writes every byte (so the pages are resident, not just reserved) and
/// keeps the block forever. Returns the bytes leaked so far. Never inlined, so profiles name
/// it.
#[inline(never)]
pub fn nexus_fault_leak(bytes: usize) -> usize {
    let block = vec![0x5a_u8; bytes].into_boxed_slice();
    let mut leaked = LEAKED.lock().unwrap_or_else(|p| p.into_inner());
    leaked.push(block);
    leaked.iter().map(|b| b.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_size_and_optional_route() {
        let l = Leak::parse("64KB/request").unwrap();
        assert_eq!(l.route, None);
        assert_eq!(l.bytes, crate::units::parse_bytes("64KB").unwrap() as usize);
        assert!(l.applies_to("/api/services"));
        let l = Leak::parse("/api/services:1KB/request").unwrap();
        assert_eq!(l.route.as_deref(), Some("/api/services"));
        assert!(l.applies_to("/api/services/7"));
        assert!(!l.applies_to("/api/health"));
        for bad in [
            "",
            "64KB",
            "64KB/s",
            "api:1KB/request",
            "0B/request",
            "1GB/request",
        ] {
            assert!(Leak::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn leaked_blocks_are_kept() {
        let before = nexus_fault_leak(1);
        let after = nexus_fault_leak(4096);
        assert!(after >= before + 4096, "{before} -> {after}");
    }
}
