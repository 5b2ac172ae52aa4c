//! Decoding pprof bytes and walking a profile's samples as named stacks.

use std::collections::HashMap;
use std::io::Read;

use flate2::read::GzDecoder;
use pprof::protos::Message;

use super::{Profile, ProfileError};

/// Decompressed profiles larger than this are refused (a guard against gzip bombs).
const MAX_DECODED_BYTES: u64 = 512 << 20;

/// Decodes a pprof profile, gzipped (`.pb.gz`, as served by `/debug/pprof/profile`) or raw
/// protobuf.
pub fn decode_pprof(bytes: &[u8]) -> Result<Profile, ProfileError> {
    if bytes.is_empty() {
        return Err(ProfileError::Decode("no data".into()));
    }
    let raw;
    let protobuf = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(bytes)
            .take(MAX_DECODED_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| ProfileError::Decode(format!("bad gzip data: {e}")))?;
        if out.len() as u64 > MAX_DECODED_BYTES {
            return Err(ProfileError::Decode(format!(
                "more than {MAX_DECODED_BYTES} bytes once decompressed"
            )));
        }
        raw = out;
        &raw[..]
    } else {
        bytes
    };
    let profile = Profile::decode(protobuf).map_err(|e| ProfileError::Decode(e.to_string()))?;
    // The pprof format requires string 0 to be "": a cheap check that catches most bytes that
    // happen to parse as protobuf without being a profile.
    if profile.string_table.first().map(String::as_str) != Some("") {
        return Err(ProfileError::Decode(
            "its string table does not start with the empty string".into(),
        ));
    }
    Ok(profile)
}

/// Every distinct stack of the profile with its sample count, frames named root first with
/// their short names (so instances of one generic function merge).
///
/// The count is the `samples` value if the profile has one, else its first value. Inlined
/// frames are expanded; a location without symbols is named by its address.
pub(crate) fn stacks(p: &Profile) -> Vec<(Vec<String>, u64)> {
    let value_index = p
        .sample_type
        .iter()
        .position(|t| string(p, t.ty) == "samples")
        .unwrap_or(0);
    stacks_of(p, value_index)
}

/// CPU nanoseconds per distinct stack: the profile's `nanoseconds` value when it has one
/// (pprof-rs and Go both write `cpu`/`nanoseconds`), else samples × `period`.
pub(crate) fn cpu_stacks(p: &Profile) -> Vec<(Vec<String>, f64)> {
    if let Some(i) = p
        .sample_type
        .iter()
        .position(|t| string(p, t.unit) == "nanoseconds")
    {
        return stacks_of(p, i)
            .into_iter()
            .map(|(f, n)| (f, n as f64))
            .collect();
    }
    let period = if p.period > 0 { p.period as f64 } else { 1.0 };
    stacks(p)
        .into_iter()
        .map(|(f, n)| (f, n as f64 * period))
        .collect()
}

fn stacks_of(p: &Profile, value_index: usize) -> Vec<(Vec<String>, u64)> {
    let mut merged: HashMap<Vec<String>, u64> = HashMap::new();
    for (frames, values) in samples_full(p) {
        let count = values.get(value_index).copied().unwrap_or(0);
        if count <= 0 {
            continue;
        }
        let frames: Vec<String> = frames.iter().map(|f| display_name(f)).collect();
        *merged.entry(frames).or_default() += count as u64;
    }
    let mut stacks: Vec<_> = merged.into_iter().collect();
    stacks.sort();
    stacks
}

/// Every sample with a stack, unmerged: its frames root first with their full names (made
/// safe for the folded format, not shortened) and its values.
///
/// Inlined frames are expanded; a location without symbols is named by its address.
pub(crate) fn samples_full(p: &Profile) -> Vec<(Vec<String>, &[i64])> {
    let functions: HashMap<u64, &pprof::protos::Function> =
        p.function.iter().map(|f| (f.id, f)).collect();
    let locations: HashMap<u64, &pprof::protos::Location> =
        p.location.iter().map(|l| (l.id, l)).collect();
    let mut out = Vec::with_capacity(p.sample.len());
    for sample in &p.sample {
        let mut frames = Vec::new();
        // location_id[0] is the leaf, and a location's line[0] is its innermost inlined frame,
        // so walking both backwards goes from the root to the leaf.
        for id in sample.location_id.iter().rev() {
            match locations.get(id) {
                Some(location) if !location.line.is_empty() => {
                    for line in location.line.iter().rev() {
                        frames.push(function_name(p, functions.get(&line.function_id).copied()));
                    }
                }
                Some(location) => frames.push(format!("0x{:x}", location.address)),
                None => frames.push(format!("location#{id}")),
            }
        }
        if !frames.is_empty() {
            out.push((frames, &sample.value[..]));
        }
    }
    out
}

/// The short name of a full frame name, as the graphs and tables show it.
pub(crate) fn display_name(full: &str) -> String {
    super::names::simplify(full)
}

/// A function's full name: its name, else its system name; `;` and line breaks are replaced
/// because the folded format uses them as separators.
fn function_name(p: &Profile, function: Option<&pprof::protos::Function>) -> String {
    let Some(function) = function else {
        return "[unknown]".into();
    };
    let mut name = string(p, function.name);
    if name.is_empty() {
        name = string(p, function.system_name);
    }
    if name.is_empty() {
        return format!("function#{}", function.id);
    }
    name.replace(';', ",").replace(['\n', '\r'], " ")
}

fn string(p: &Profile, index: i64) -> &str {
    usize::try_from(index)
        .ok()
        .and_then(|i| p.string_table.get(i))
        .map_or("", String::as_str)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use pprof::protos::{Function, Line, Location, Sample, ValueType};

    /// A hand-made profile: `main` calls `work`, which calls `leaf` (inlined into `work`).
    /// Samples: main;work;leaf ×3, main ×1, main;work;leaf again ×2 (merged with the first).
    pub(crate) fn small_profile() -> Profile {
        let strings = ["", "samples", "count", "main", "work", "leaf", "a;b"];
        let function = |id: u64, name: i64| Function {
            id,
            name,
            ..Default::default()
        };
        let line = |function_id| Line {
            function_id,
            line: 1,
        };
        let sample = |location_id: Vec<u64>, n| Sample {
            location_id,
            value: vec![n],
            label: vec![],
        };
        Profile {
            sample_type: vec![ValueType { ty: 1, unit: 2 }],
            string_table: strings.iter().map(|s| s.to_string()).collect(),
            function: vec![
                function(1, 3),
                function(2, 4),
                function(3, 5),
                function(4, 6),
            ],
            location: vec![
                Location {
                    id: 10,
                    line: vec![line(1)],
                    ..Default::default()
                },
                Location {
                    id: 20,
                    // Inlined: line[0] is the innermost frame.
                    line: vec![line(3), line(2)],
                    ..Default::default()
                },
                Location {
                    id: 30,
                    address: 0xbeef,
                    ..Default::default()
                },
            ],
            sample: vec![
                sample(vec![20, 10], 3),
                sample(vec![10], 1),
                sample(vec![20, 10], 2),
                sample(vec![30, 10], 0),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn stacks_are_root_first_merged_and_expand_inlining() {
        let stacks = stacks(&small_profile());
        let as_strs: Vec<(Vec<&str>, u64)> = stacks
            .iter()
            .map(|(f, n)| (f.iter().map(String::as_str).collect(), *n))
            .collect();
        assert_eq!(
            as_strs,
            vec![(vec!["main"], 1), (vec!["main", "work", "leaf"], 5)]
        );
    }

    #[test]
    fn decodes_raw_and_gzipped_bytes_alike() {
        let profile = small_profile();
        let raw = profile.encode_to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(decode_pprof(&raw).unwrap(), profile);
        assert_eq!(decode_pprof(&gz).unwrap(), profile);
    }

    #[test]
    fn refuses_what_is_not_a_profile() {
        assert!(decode_pprof(b"").is_err());
        assert!(decode_pprof(b"<html>500 Internal Server Error</html>").is_err());
        assert!(decode_pprof(&[0x1f, 0x8b, 0, 1, 2]).is_err());
    }

    #[test]
    fn names_with_separators_are_made_safe() {
        let mut p = small_profile();
        p.function[0].name = 6; // "a;b"
        assert_eq!(stacks(&p)[0].0[0], "a,b");
    }
}
