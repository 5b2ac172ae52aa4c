//! Heap profiles: Go's `/debug/pprof/heap` (sample types `alloc_objects`, `alloc_space`,
//! `inuse_objects`, `inuse_space`) and jemalloc's as `jemalloc_pprof` writes them
//! (`inuse_space` only). Two snapshots of one process, taken at the start and at the end of
//! the steady state, tell what grew in between: the in-use bytes per allocation site, end
//! minus start.
//!
//! An *allocation site* is the first frame of a stack, counted from the allocation (the
//! leaf), that is not the allocator or the standard library's allocating containers
//! (`__rust_alloc`, `alloc::raw_vec::…`, `hashbrown::…`, jemalloc's own frames, Go's
//! `runtime.mallocgc`/`runtime.makeslice`/…): the code that asked for the memory, which is
//! what a reader can change. A stack made only of such frames is attributed to its leaf.
//!
//! Pure: decoded profiles in, rows and SVGs out.

use std::collections::HashMap;

use super::decode::{display_name, samples_full};
use super::{Profile, ProfileError};

/// One allocation site's in-use memory in both snapshots.
#[derive(Debug, Clone, PartialEq)]
pub struct HeapSite {
    /// The site's short name, as in the flamegraphs.
    pub name: String,
    /// In-use bytes allocated here, at the start.
    pub start_bytes: i64,
    /// In-use bytes allocated here, at the end.
    pub end_bytes: i64,
    /// In-use objects at the start, when the profile counts objects (Go's do).
    pub start_objects: Option<i64>,
    /// In-use objects at the end, when the profile counts objects.
    pub end_objects: Option<i64>,
}

impl HeapSite {
    /// In-use bytes gained (negative: freed) between the snapshots.
    pub fn growth_bytes(&self) -> i64 {
        self.end_bytes - self.start_bytes
    }
    /// In-use objects gained, when both snapshots count objects.
    pub fn growth_objects(&self) -> Option<i64> {
        Some(self.end_objects? - self.start_objects?)
    }
}

/// Where a heap profile keeps in-use bytes and (if it has them) in-use objects.
struct Columns {
    bytes: usize,
    objects: Option<usize>,
}

fn columns(p: &Profile) -> Result<Columns, ProfileError> {
    let name = |i: i64| {
        usize::try_from(i)
            .ok()
            .and_then(|i| p.string_table.get(i))
            .map_or("", String::as_str)
    };
    let find = |ty: &str| p.sample_type.iter().position(|t| name(t.ty) == ty);
    let bytes = find("inuse_space").ok_or_else(|| {
        let types: Vec<String> = p
            .sample_type
            .iter()
            .map(|t| format!("{}/{}", name(t.ty), name(t.unit)))
            .collect();
        ProfileError::Decode(format!(
            "not a heap profile: no `inuse_space` sample type (it has {})",
            if types.is_empty() {
                "none".to_string()
            } else {
                types.join(", ")
            }
        ))
    })?;
    Ok(Columns {
        bytes,
        objects: find("inuse_objects"),
    })
}

/// Whether a frame (full name) belongs to the allocator or to the standard library's
/// allocating code rather than to the code that asked for the memory.
pub(crate) fn is_allocator_frame(full: &str) -> bool {
    // A qualified path `<Type as Trait>::method`: the standard library's when the type is
    // (`<alloc::vec::Vec<T> as Clone>::clone`), or when the type is not a path (a primitive,
    // a generic parameter) and the trait is (`<u8 as alloc::…::SpecFromElem>::from_elem`).
    // A type of the program's own (`<my::Conn as core::future::Future>::poll`) is a site.
    if let Some(inner) = full.strip_prefix('<') {
        if let Some((ty, rest)) = inner.split_once(" as ") {
            let std_path = |p: &str| STD.iter().any(|s| p.trim_start_matches('<').starts_with(s));
            return std_path(ty) || (!ty.contains("::") && std_path(rest));
        }
    }
    const STD: &[&str] = &[
        "alloc::",
        "core::",
        "std::",
        "hashbrown::",
        "tikv_jemallocator::",
    ];
    let name = full.trim_start_matches('<');
    const RUST: &[&str] = &[
        "alloc::",
        "core::",
        "std::",
        "hashbrown::",
        "tikv_jemallocator::",
        "tikv_jemalloc_sys::",
        "__rust_",
        "__rustc::",
        "__rdl_",
        "__rg_",
        "_rjem_",
        "je_",
        "malloc",
        "calloc",
        "realloc",
        "posix_memalign",
        "aligned_alloc",
        "imalloc",
        "iralloc",
        "ialloc",
        "ixalloc",
        "do_rallocx",
        "rallocx",
        "mallocx",
        "arena_",
        "tcache_",
        // jemalloc's own profiling frames (`prof_alloc_prep`, `prof_backtrace_impl`).
        "prof_",
    ];
    // Go's heap profiles start at the caller of the allocator already, but keep the helpers
    // that allocate on behalf of ordinary code (`make`, `append`, string conversions).
    const GO: &[&str] = &[
        "runtime.mallocgc",
        "runtime.newobject",
        "runtime.newarray",
        "runtime.makeslice",
        "runtime.growslice",
        "runtime.makemap",
        "runtime.mapassign",
        "runtime.convT",
        "runtime.rawstring",
        "runtime.rawbyteslice",
        "runtime.rawruneslice",
        "runtime.slicebytetostring",
        "runtime.stringtoslicebyte",
        "runtime.concatstring",
        "bytes.growSlice",
        "bytes.(*Buffer).grow",
        "strings.(*Builder).grow",
    ];
    RUST.iter().chain(GO).any(|p| name.starts_with(p))
}

/// The allocation site of a stack (frames root first, full names): its display name.
fn site(frames: &[String]) -> String {
    frames
        .iter()
        .rev()
        .find(|f| !is_allocator_frame(f))
        .or(frames.last())
        .map_or_else(|| "[unknown]".to_string(), |f| display_name(f))
}

/// In-use (bytes, objects) per allocation site.
fn by_site(p: &Profile) -> Result<HashMap<String, (i64, Option<i64>)>, ProfileError> {
    let c = columns(p)?;
    let mut out: HashMap<String, (i64, Option<i64>)> = HashMap::new();
    for (frames, values) in samples_full(p) {
        let bytes = values.get(c.bytes).copied().unwrap_or(0);
        let objects = c.objects.map(|i| values.get(i).copied().unwrap_or(0));
        let entry = out.entry(site(&frames)).or_insert((0, objects.map(|_| 0)));
        entry.0 += bytes;
        if let (Some(sum), Some(n)) = (&mut entry.1, objects) {
            *sum += n;
        }
    }
    Ok(out)
}

/// The in-use bytes a heap profile accounts for (the sum of its `inuse_space`).
pub fn heap_inuse_bytes(p: &Profile) -> Result<i64, ProfileError> {
    let c = columns(p)?;
    Ok(p.sample
        .iter()
        .map(|s| s.value.get(c.bytes).copied().unwrap_or(0))
        .sum())
}

/// The `n` allocation sites whose in-use bytes grew most from `start` to `end` (largest
/// growth first; sites that shrank come last), with both values. Errors when either profile
/// has no `inuse_space`.
pub fn heap_growth(
    start: &Profile,
    end: &Profile,
    n: usize,
) -> Result<Vec<HeapSite>, ProfileError> {
    let before = by_site(start)?;
    let after = by_site(end)?;
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    let mut rows: Vec<HeapSite> = names
        .into_iter()
        .map(|name| {
            let (sb, so) = before.get(name).copied().unwrap_or((0, None));
            let (eb, eo) = after.get(name).copied().unwrap_or((0, None));
            HeapSite {
                name: name.clone(),
                start_bytes: sb,
                end_bytes: eb,
                start_objects: so.or(eo.map(|_| 0)),
                end_objects: eo.or(so.map(|_| 0)),
            }
        })
        .filter(|r| r.start_bytes != 0 || r.end_bytes != 0)
        .collect();
    rows.sort_by(|a, b| {
        b.growth_bytes()
            .cmp(&a.growth_bytes())
            .then(b.end_bytes.cmp(&a.end_bytes))
            .then_with(|| a.name.cmp(&b.name))
    });
    rows.truncate(n);
    Ok(rows)
}

/// In-use bytes per distinct stack (display names, root first).
fn inuse_stacks(p: &Profile) -> Result<HashMap<String, i64>, ProfileError> {
    let c = columns(p)?;
    let mut out: HashMap<String, i64> = HashMap::new();
    for (frames, values) in samples_full(p) {
        let bytes = values.get(c.bytes).copied().unwrap_or(0);
        let names: Vec<String> = frames.iter().map(|f| display_name(f)).collect();
        *out.entry(names.join(";")).or_default() += bytes;
    }
    Ok(out)
}

/// The in-use flamegraph of a heap profile: frame widths are bytes in use, allocated under
/// that frame.
pub fn heap_flamegraph_svg(p: &Profile, title: &str) -> Result<String, ProfileError> {
    let mut lines: Vec<String> = inuse_stacks(p)?
        .into_iter()
        .filter(|(_, b)| *b > 0)
        .map(|(stack, b)| format!("{stack} {b}"))
        .collect();
    if lines.is_empty() {
        return Err(ProfileError::Empty);
    }
    lines.sort();
    let mut options = super::flame::icicle_options(title, "bytes");
    options.colors =
        inferno::flamegraph::Palette::Basic(inferno::flamegraph::color::BasicPalette::Mem);
    options.hash = true;
    super::flame::render(&mut options, &lines)
}

/// The growth flamegraph, end minus start: frame widths are the in-use bytes each stack
/// gained between the snapshots (stacks that shrank or stayed are left out), so the widest
/// frames are where memory accumulated during the run. An error ([`ProfileError::Empty`])
/// when nothing grew.
pub fn heap_growth_svg(
    start: &Profile,
    end: &Profile,
    title: &str,
) -> Result<String, ProfileError> {
    let before = inuse_stacks(start)?;
    let after = inuse_stacks(end)?;
    let mut lines: Vec<String> = after
        .iter()
        .map(|(stack, b)| (stack, b - before.get(stack).copied().unwrap_or(0)))
        .filter(|(_, grew)| *grew > 0)
        .map(|(stack, grew)| format!("{stack} {grew}"))
        .collect();
    if lines.is_empty() {
        return Err(ProfileError::Empty);
    }
    lines.sort();
    let mut options = super::flame::icicle_options(title, "bytes grown");
    options.subtitle = Some(
        "widths: in-use bytes gained between the start and the end of the steady state".into(),
    );
    options.colors =
        inferno::flamegraph::Palette::Basic(inferno::flamegraph::color::BasicPalette::Red);
    options.hash = true;
    super::flame::render(&mut options, &lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pprof::protos::{Function, Line, Location, Sample, ValueType};

    /// A Go-shaped heap profile: four sample types; `main` → `handler` → `runtime.makeslice`
    /// (a leak growing with `leaked`), `main` → `cache.put` → `runtime.mallocgc` (steady),
    /// and `main` → `io.read` → `runtime.mallocgc` (`transient` bytes).
    fn go_heap(leaked: i64, transient: i64) -> Profile {
        let strings = [
            "",
            "alloc_objects",
            "count",
            "alloc_space",
            "bytes",
            "inuse_objects",
            "inuse_space",
            "main.main",
            "main.(*server).handler",
            "runtime.makeslice",
            "main.(*cache).put",
            "runtime.mallocgc",
            "main.readBody",
        ];
        let function = |id: u64, name: i64| Function {
            id,
            name,
            ..Default::default()
        };
        let location = |id: u64| Location {
            id,
            line: vec![Line {
                function_id: id,
                line: 1,
            }],
            ..Default::default()
        };
        let sample = |location_id: Vec<u64>, bytes: i64| Sample {
            location_id,
            // alloc_objects, alloc_space, inuse_objects, inuse_space
            value: vec![bytes / 64, bytes * 2, bytes / 64, bytes],
            label: vec![],
        };
        Profile {
            sample_type: vec![
                ValueType { ty: 1, unit: 2 },
                ValueType { ty: 3, unit: 4 },
                ValueType { ty: 5, unit: 2 },
                ValueType { ty: 6, unit: 4 },
            ],
            string_table: strings.iter().map(|s| s.to_string()).collect(),
            function: (1..=6).map(|i| function(i, i as i64 + 6)).collect(),
            location: (1..=6).map(location).collect(),
            sample: vec![
                sample(vec![3, 2, 1], leaked),
                sample(vec![5, 4, 1], 1 << 20),
                sample(vec![5, 6, 1], transient),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn the_leaking_site_leads_the_growth() {
        let start = go_heap(64 << 10, 512 << 10);
        let end = go_heap(16 << 20, 0);
        let rows = heap_growth(&start, &end, 10).unwrap();
        // The site is the caller of the allocator, not `runtime.makeslice`.
        assert_eq!(rows[0].name, "main.(*server).handler");
        assert_eq!(rows[0].growth_bytes(), (16 << 20) - (64 << 10));
        assert_eq!(
            rows[0].growth_objects(),
            Some(((16 << 20) - (64 << 10)) / 64)
        );
        // Unchanged sites show no growth; the freed one is last, negative.
        let cache = rows.iter().find(|r| r.name == "main.(*cache).put").unwrap();
        assert_eq!(cache.growth_bytes(), 0);
        assert_eq!(rows.last().unwrap().name, "main.readBody");
        assert_eq!(rows.last().unwrap().growth_bytes(), -(512 << 10));
        assert!(rows.iter().all(|r| !r.name.starts_with("runtime.")));
        assert_eq!(heap_growth(&start, &end, 1).unwrap().len(), 1);
        assert_eq!(
            heap_inuse_bytes(&end).unwrap(),
            (16 << 20) + (1 << 20),
            "inuse_space is the fourth column"
        );
    }

    #[test]
    fn rust_allocator_frames_are_not_sites() {
        for f in [
            "alloc::raw_vec::RawVec<T,A>::allocate_in",
            "<alloc::vec::Vec<T> as core::clone::Clone>::clone",
            "__rust_alloc",
            "_rjem_malloc",
            "__rustc::__rust_alloc",
            "<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem",
            "<T as alloc::slice::hack::ConvertVec>::to_vec",
            "irallocx_prof",
            "prof_alloc_prep",
            "_rjem_je_prof_backtrace",
            "hashbrown::raw::RawTable<T>::reserve_rehash",
            "<tikv_jemallocator::Jemalloc as core::alloc::global::GlobalAlloc>::alloc",
            "runtime.mallocgc",
        ] {
            assert!(is_allocator_frame(f), "{f}");
        }
        for f in [
            "nexus_bench::reference::leak::nexus_fault_leak",
            "main.(*server).handler",
            "runtime.malg",
            "<hyper::proto::h1::io::Buffered<T,B>>::poll_read_from_io",
            "<my::Conn as core::future::future::Future>::poll",
        ] {
            assert!(!is_allocator_frame(f), "{f}");
        }
        let frames = ["main", "my::leak", "alloc::vec::from_elem", "__rust_alloc"];
        let frames: Vec<String> = frames.iter().map(|s| s.to_string()).collect();
        assert_eq!(site(&frames), "my::leak");
        assert_eq!(
            site(&frames[2..]),
            "__rust_alloc",
            "only allocator frames: the leaf"
        );
    }

    #[test]
    fn the_growth_svg_shows_only_what_grew() {
        let start = go_heap(64 << 10, 512 << 10);
        let end = go_heap(16 << 20, 0);
        let svg = heap_growth_svg(&start, &end, "heap growth").unwrap();
        assert!(svg.contains("main.(*server).handler"));
        assert!(!svg.contains("main.readBody"), "it shrank");
        assert!(!svg.contains("main.(*cache).put"), "it stayed");
        assert!(matches!(
            heap_growth_svg(&end, &end, "t"),
            Err(ProfileError::Empty)
        ));
        let inuse = heap_flamegraph_svg(&end, "in use").unwrap();
        assert!(inuse.contains("main.(*cache).put") && inuse.contains("bytes"));
    }

    #[test]
    fn a_cpu_profile_is_not_a_heap_profile() {
        let cpu = crate::profiler::decode::tests::small_profile();
        let err = heap_growth(&cpu, &cpu, 5).unwrap_err().to_string();
        assert!(
            err.contains("inuse_space") && err.contains("samples/count"),
            "{err}"
        );
    }

    #[test]
    fn a_profile_with_only_inuse_space_works() {
        // jemalloc_pprof writes a single `inuse_space` column and no object counts.
        let mut end = go_heap(8 << 20, 0);
        end.sample_type = vec![ValueType { ty: 6, unit: 4 }];
        for s in &mut end.sample {
            s.value = vec![s.value[3]];
        }
        let mut start = end.clone();
        start.sample[0].value = vec![0];
        let rows = heap_growth(&start, &end, 3).unwrap();
        assert_eq!(rows[0].name, "main.(*server).handler");
        assert_eq!(rows[0].growth_bytes(), 8 << 20);
        assert_eq!(rows[0].growth_objects(), None);
    }
}
