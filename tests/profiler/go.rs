//! Go compatibility: `fixtures/profiles/go-cpu.pb.gz` is laid out like the CPU profile Go's
//! `net/http/pprof` serves (sample types `samples/count` and `cpu/nanoseconds`, a 10 ms
//! period, a mapping, locations with addresses and lines, Go-style names such as
//! `net/http.(*conn).serve`). It is written by [`generate_go_fixture`] with the pprof crate's
//! protobuf types, and decodes, renders and diffs like pprof-rs profiles.

use std::io::Write;
use std::path::PathBuf;

use nexus_bench::profiler::{
    Profile, cpu_diff, decode_pprof, diff_flamegraph_svg, flamegraph_svg, folded_stacks,
    top_functions,
};
use pprof::protos::{Function, Line, Location, Mapping, Message, Sample, ValueType};

fn go_fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/profiles/go-cpu.pb.gz")
}

/// The profile: `main.main` → `net/http.(*Server).Serve` → `net/http.(*conn).serve` →
/// `main.handler` → `main.burn` (40 samples) or `encoding/json.Marshal` (10), and the runtime's
/// `runtime.mallocgc` under `encoding/json.Marshal` (5), as Go writes it: strings interned in
/// the table, location ids from 1, leaf first in `location_id`.
fn go_profile() -> Profile {
    let names = [
        "main.main",
        "net/http.(*Server).Serve",
        "net/http.(*conn).serve",
        "main.handler",
        "main.burn",
        "encoding/json.Marshal",
        "runtime.mallocgc",
    ];
    let mut strings: Vec<String> = ["", "samples", "count", "cpu", "nanoseconds", "/app/server"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut function = Vec::new();
    let mut location = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let id = i as u64 + 1;
        strings.push(name.to_string());
        let name_ix = strings.len() as i64 - 1;
        strings.push(format!("/src/{}.go", name.split('.').next().unwrap()));
        let file_ix = strings.len() as i64 - 1;
        function.push(Function {
            id,
            name: name_ix,
            system_name: name_ix,
            filename: file_ix,
            start_line: 10,
        });
        location.push(Location {
            id,
            mapping_id: 1,
            address: 0x40_0000 + 0x100 * id,
            line: vec![Line {
                function_id: id,
                line: 20 + id as i64,
            }],
            is_folded: false,
        });
    }
    let period = 10_000_000i64;
    let sample = |leaf_first: &[u64], n: i64| Sample {
        location_id: leaf_first.to_vec(),
        value: vec![n, n * period],
        label: vec![],
    };
    Profile {
        sample_type: vec![ValueType { ty: 1, unit: 2 }, ValueType { ty: 3, unit: 4 }],
        sample: vec![
            sample(&[5, 4, 3, 2, 1], 40),
            sample(&[6, 4, 3, 2, 1], 10),
            sample(&[7, 6, 4, 3, 2, 1], 5),
        ],
        mapping: vec![Mapping {
            id: 1,
            memory_start: 0x40_0000,
            memory_limit: 0x80_0000,
            filename: 5,
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            ..Default::default()
        }],
        location,
        function,
        string_table: strings,
        time_nanos: 1_700_000_000_000_000_000,
        duration_nanos: 1_000_000_000,
        period_type: Some(ValueType { ty: 3, unit: 4 }),
        period,
        ..Default::default()
    }
}

/// Regenerates the fixture: `cargo test --test tests -- --ignored generate_go_fixture`.
#[test]
#[ignore = "writes fixtures/profiles/go-cpu.pb.gz; run by hand"]
fn generate_go_fixture() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&go_profile().encode_to_vec()).unwrap();
    std::fs::write(go_fixture_path(), gz.finish().unwrap()).unwrap();
}

#[test]
fn a_go_profile_decodes_renders_and_diffs() {
    let bytes = std::fs::read(go_fixture_path()).expect("fixtures/profiles/go-cpu.pb.gz");
    let profile = decode_pprof(&bytes).unwrap();
    assert_eq!(
        profile,
        go_profile(),
        "the fixture is what the generator writes"
    );
    let folded = folded_stacks(&profile);
    assert!(
        folded.contains(
            &"main.main;net/http.(*Server).Serve;net/http.(*conn).serve;main.handler;main.burn 40"
                .to_string()
        ),
        "{folded:?}"
    );
    let top = top_functions(&profile, 3);
    assert_eq!(top[0].name, "main.burn");
    assert_eq!(top[0].self_samples, 40);
    assert!(
        flamegraph_svg(&profile, "go")
            .unwrap()
            .contains("net/http.(*conn).serve")
    );

    // Diff against a Go profile where main.burn doubled, over the same request count: the
    // cpu/nanoseconds values are used (40 × 10 ms = 400 ms → 800 ms over 100 requests).
    let mut after = profile.clone();
    after.sample[0].value = vec![80, 80 * after.period];
    let rows = cpu_diff(&profile, 100.0, &after, 100.0, 3).unwrap();
    assert_eq!(rows[0].name, "main.burn");
    assert!((rows[0].self_before_us - 4_000.0).abs() < 1e-6, "{rows:?}");
    assert!((rows[0].self_after_us - 8_000.0).abs() < 1e-6, "{rows:?}");
    assert!(
        diff_flamegraph_svg(&profile, 100.0, &after, 100.0, "go diff")
            .unwrap()
            .contains("main.burn")
    );
}
