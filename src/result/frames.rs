//! A result carried through a log stream (`run --emit-result`, `merge --from-logs`): on a
//! cluster without shared storage, each instance prints its result.json to stdout as framed
//! lines, and `kubectl logs --prefix` brings every instance's lines back in one stream.
//!
//! One frame per line, each under 4 KiB (container runtimes split longer lines):
//!
//! ```text
//! NEXUS-BENCH-RESULT v1 <run_id> <instance> <seq>/<total> <check> <base64>
//! ```
//!
//! The payload is the compact result.json, gzip-compressed, then base64 (standard alphabet),
//! cut into chunks; `seq` counts from 1; `check` is the first 16 hex digits of the SHA-256 of
//! the line's base64 chunk. `run_id` and `instance` are `-` when the result has none. The
//! gzip trailer (CRC-32 and length) checks the whole once reassembled. Any text before the
//! marker (a `[pod/…/container] ` prefix) names the stream the frame came from; lines
//! without the marker are ignored.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::RunResult;

/// The word that starts every frame.
pub const RESULT_FRAME_MARKER: &str = "NEXUS-BENCH-RESULT";
const VERSION: &str = "v1";
/// Base64 characters per frame: with the header, a line stays well under 4 KiB.
const CHUNK: usize = 3000;
/// Longest run id written into a frame header (the full one is inside the result).
const MAX_ID: usize = 200;

/// A frame stream that does not yield results.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Reading the stream failed.
    #[error("reading the log: {0}")]
    Io(#[from] std::io::Error),
    /// A line with the marker that is not a valid frame.
    #[error("line {line}: corrupt frame{who}: {why}")]
    Corrupt {
        /// 1-based line number.
        line: usize,
        /// ` of instance N (run R)` when the header was readable.
        who: String,
        /// What is wrong.
        why: String,
    },
    /// A result whose frames are not all there.
    #[error("{who}: incomplete result, {have} of {total} frames (missing {missing})")]
    Incomplete {
        /// Which instance, run and stream.
        who: String,
        /// Frames found.
        have: usize,
        /// Frames announced.
        total: usize,
        /// The missing frame numbers.
        missing: String,
    },
    /// The frames are all there but do not reassemble into a result.
    #[error("{who}: frames reassembled, but the result does not decode: {why}")]
    Payload {
        /// Which instance, run and stream.
        who: String,
        /// Why.
        why: String,
    },
    /// No frame at all.
    #[error("no `{RESULT_FRAME_MARKER}` frames found (was the run started with --emit-result?)")]
    Empty,
}

fn check(chunk: &str) -> String {
    let digest = Sha256::digest(chunk.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A header token: `-` for none, otherwise the text with whitespace replaced.
fn token(s: Option<&str>) -> String {
    match s {
        None | Some("") => "-".into(),
        Some(s) => s
            .chars()
            .take(MAX_ID)
            .map(|c| if c.is_whitespace() { '_' } else { c })
            .collect(),
    }
}

/// `result` as frame lines (without line ends).
pub fn frame_lines(result: &RunResult) -> Vec<String> {
    let json = serde_json::to_vec(result).expect("a result serializes");
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&json).expect("writing to memory");
    let encoded = B64.encode(gz.finish().expect("writing to memory"));
    let chunks: Vec<&str> = encoded
        .as_bytes()
        .chunks(CHUNK)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    let id = token(result.run_id.as_deref());
    let instance = token(
        result
            .instances
            .first()
            .map(|i| i.instance.to_string())
            .as_deref(),
    );
    let total = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(n, c)| {
            format!(
                "{RESULT_FRAME_MARKER} {VERSION} {id} {instance} {}/{total} {} {c}",
                n + 1,
                check(c)
            )
        })
        .collect()
}

/// Writes `result` as frame lines to `out`, flushing at the end.
pub fn emit_frames(result: &RunResult, out: &mut impl Write) -> std::io::Result<()> {
    for line in frame_lines(result) {
        // One write per line: a line is never split by other output of this process.
        out.write_all(format!("{line}\n").as_bytes())?;
    }
    out.flush()
}

struct Frame<'a> {
    run_id: &'a str,
    instance: &'a str,
    seq: usize,
    total: usize,
    chunk: &'a str,
}

fn who(stream: &str, run_id: &str, instance: &str) -> String {
    let mut s = format!("instance {instance} of run {run_id}");
    if !stream.is_empty() {
        s.push_str(&format!(" ({stream})"));
    }
    s
}

/// Parses the part of a line from the marker on.
fn parse_frame(text: &str) -> Result<Frame<'_>, (String, String)> {
    let fields: Vec<&str> = text.split(' ').collect();
    let [_, version, run_id, instance, seq, sum, chunk] = fields[..] else {
        return Err((
            String::new(),
            format!("{} fields where 7 were expected", fields.len()),
        ));
    };
    let who = format!(" of instance {instance} (run {run_id})");
    if version != VERSION {
        return Err((who, format!("unknown frame version `{version}`")));
    }
    let parsed = seq
        .split_once('/')
        .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
    let Some((seq, total)) = parsed.filter(|(s, t)| *s >= 1 && s <= t) else {
        return Err((who, format!("bad sequence `{seq}`")));
    };
    if check(chunk) != sum {
        return Err((
            format!(" {seq}/{total}{who}"),
            "checksum mismatch (the line was altered or cut)".into(),
        ));
    }
    Ok(Frame {
        run_id,
        instance,
        seq,
        total,
        chunk,
    })
}

/// The stream a frame came from: the `[pod/…/container]` prefix `kubectl logs --prefix`
/// adds, or nothing.
fn stream_of(before: &str) -> &str {
    let before = before.trim_start();
    match (before.strip_prefix('['), before.find("] ")) {
        (Some(_), Some(end)) => &before[1..end],
        _ => "",
    }
}

type Key = (String, String, String);

/// Reassembles every framed result in `input` (e.g. `kubectl logs --prefix` output),
/// ignoring lines without the marker. Corrupt frames, a result with frames missing, and
/// the same frame seen twice with different contents are errors naming the instance.
pub fn parse_frames(input: impl BufRead) -> Result<Vec<RunResult>, FrameError> {
    let mut groups: BTreeMap<Key, (usize, BTreeMap<usize, String>)> = BTreeMap::new();
    for (n, line) in input.split(b'\n').enumerate() {
        let line = line?;
        let line = String::from_utf8_lossy(&line);
        let Some(at) = line.find(RESULT_FRAME_MARKER) else {
            continue;
        };
        let corrupt = |(who, why): (String, String)| FrameError::Corrupt {
            line: n + 1,
            who,
            why,
        };
        let frame = parse_frame(line[at..].trim_end()).map_err(corrupt)?;
        let key = (
            stream_of(&line[..at]).to_string(),
            frame.run_id.to_string(),
            frame.instance.to_string(),
        );
        let (total, chunks) = groups
            .entry(key)
            .or_insert_with(|| (frame.total, BTreeMap::new()));
        let context = || {
            format!(
                " {}/{} of instance {} (run {})",
                frame.seq, frame.total, frame.instance, frame.run_id
            )
        };
        if *total != frame.total {
            return Err(corrupt((
                context(),
                format!(
                    "announces {} frames where earlier ones said {total}",
                    frame.total
                ),
            )));
        }
        match chunks.get(&frame.seq) {
            // A repeated log line is harmless.
            Some(c) if c == frame.chunk => {}
            Some(_) => {
                return Err(corrupt((
                    context(),
                    "seen twice with different contents (two results under one name?)".into(),
                )));
            }
            None => {
                chunks.insert(frame.seq, frame.chunk.to_string());
            }
        }
    }
    if groups.is_empty() {
        return Err(FrameError::Empty);
    }
    groups
        .into_iter()
        .map(|((stream, run_id, instance), (total, chunks))| {
            let who = who(&stream, &run_id, &instance);
            if chunks.len() != total {
                let mut missing: Vec<String> = (1..=total)
                    .filter(|s| !chunks.contains_key(s))
                    .map(|s| s.to_string())
                    .collect();
                if missing.len() > 10 {
                    let more = missing.len() - 10;
                    missing.truncate(10);
                    missing.push(format!("and {more} more"));
                }
                return Err(FrameError::Incomplete {
                    who,
                    have: chunks.len(),
                    total,
                    missing: missing.join(", "),
                });
            }
            decode(chunks.into_values().collect::<String>().as_str())
                .map_err(|why| FrameError::Payload { who, why })
        })
        .collect()
}

fn decode(encoded: &str) -> Result<RunResult, String> {
    let gz = B64.decode(encoded).map_err(|e| format!("base64: {e}"))?;
    let mut json = Vec::new();
    GzDecoder::new(gz.as_slice())
        .read_to_end(&mut json)
        .map_err(|e| format!("gzip: {e}"))?;
    super::io::from_json_bytes(&json).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::InstanceInfo;

    fn result(instance: u32) -> RunResult {
        let mut r =
            super::super::io::from_json_bytes(include_bytes!("../../fixtures/results/sample.json"))
                .expect("the sample result loads");
        r.run_id = Some("run 7".into());
        r.instances = vec![InstanceInfo {
            instance,
            instances: 3,
            start_at: None,
            hostname: format!("pod-{instance}"),
        }];
        r
    }

    fn parse(text: &str) -> Result<Vec<RunResult>, FrameError> {
        parse_frames(text.as_bytes())
    }

    #[test]
    fn frames_round_trip_in_short_lines() {
        let r = result(1);
        let lines = frame_lines(&r);
        assert!(lines.len() > 1, "the sample spans several frames");
        assert!(lines.iter().all(|l| l.len() < 4096));
        assert!(lines[0].starts_with("NEXUS-BENCH-RESULT v1 run_7 1 1/"));
        let mut out = Vec::new();
        emit_frames(&r, &mut out).unwrap();
        assert_eq!(parse(&String::from_utf8(out).unwrap()).unwrap(), vec![r]);
    }

    #[test]
    fn interleaved_prefixed_streams_each_reassemble() {
        let (a, b) = (frame_lines(&result(0)), frame_lines(&result(2)));
        let mut text = String::from("[pod/j-0-x/bench] starting\nplain noise line\n");
        for i in 0..a.len().max(b.len()) {
            if let Some(l) = a.get(i) {
                text.push_str(&format!("[pod/j-0-x/bench] {l}\n"));
            }
            text.push_str("[pod/j-2-y/bench] progress 40%\r\n");
            if let Some(l) = b.get(i) {
                text.push_str(&format!("[pod/j-2-y/bench] {l}\n"));
            }
        }
        // A repeated line is harmless.
        text.push_str(&format!("[pod/j-2-y/bench] {}\n", b[0]));
        let got = parse(&text).unwrap();
        let instances: Vec<u32> = got.iter().map(|r| r.instances[0].instance).collect();
        assert_eq!(instances, vec![0, 2]);
        assert_eq!(got[1], result(2));
    }

    #[test]
    fn an_altered_line_is_refused_by_instance_and_frame() {
        let mut lines = frame_lines(&result(1));
        let l = lines[1].clone();
        // Flip one base64 character near the end.
        let mut bytes = l.into_bytes();
        let i = bytes.len() - 5;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        lines[1] = String::from_utf8(bytes).unwrap();
        let err = parse(&lines.join("\n")).unwrap_err().to_string();
        assert!(err.contains("line 2: corrupt frame 2/"), "{err}");
        assert!(
            err.contains("instance 1") && err.contains("checksum"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_frame_is_named() {
        let mut lines = frame_lines(&result(2));
        let total = lines.len();
        lines.remove(1);
        let err = parse(&lines.join("\n")).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "instance 2 of run run_7: incomplete result, {} of {total} frames (missing 2)",
                total - 1
            )),
            "{err}"
        );
    }

    #[test]
    fn a_cut_line_and_a_conflicting_frame_are_refused() {
        let lines = frame_lines(&result(0));
        let cut = &lines[0][..lines[0].len() - 10];
        let err = parse(cut).unwrap_err().to_string();
        assert!(
            err.contains("corrupt frame 1/") && err.contains("instance 0"),
            "{err}"
        );

        let mut other = result(0);
        other.tool.version = "another".into();
        let other = frame_lines(&other);
        let text = format!("{}\n{}\n", lines[0], other[0]);
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("seen twice with different contents"), "{err}");
    }

    #[test]
    fn garbled_header_and_no_frames() {
        let err = parse("x NEXUS-BENCH-RESULT v1 a b\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1: corrupt frame: 4 fields"), "{err}");
        let err = parse("NEXUS-BENCH-RESULT v9 r 0 1/1 00 AA\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown frame version `v9`"), "{err}");
        assert!(matches!(parse("hello\nworld\n"), Err(FrameError::Empty)));
    }
}
