//! Hand-made hostile inputs, each refused with the limit it passed; real runs, saved and
//! incremental, accepted.

use super::*;

mod weight;
use crate::{Identity, RunDoc, RunId, StepSpec};

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

fn uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn sleb(out: &mut Vec<u8>, mut v: i64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
        out.push(if done { byte } else { byte | 0x80 });
        if done {
            return;
        }
    }
}

fn chunk(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend([0, 0, 0, 0, kind]);
    uleb(&mut out, body.len() as u64);
    out.extend(body);
    out
}

/// A change chunk whose op columns are `columns` (spec, data).
fn change_with(columns: &[(u32, Vec<u8>)], other_actors: u64) -> Vec<u8> {
    let mut body = vec![0]; // no dependencies
    body.extend([1, 0xaa]); // actor id
    body.extend([1, 1, 0, 0]); // seq, start op, time, empty message
    uleb(&mut body, other_actors);
    for _ in 0..other_actors {
        body.extend([1, 0xbb]);
    }
    uleb(&mut body, columns.len() as u64);
    for (spec, data) in columns {
        uleb(&mut body, u64::from(*spec));
        uleb(&mut body, data.len() as u64);
    }
    for (_, data) in columns {
        body.extend(data);
    }
    chunk(1, &body)
}

fn run_with_grafts(n: usize) -> RunDoc {
    run_named(n, |i| format!("Agent{i}"))
}

fn run_named(n: usize, name: impl Fn(usize) -> String) -> RunDoc {
    let who = Identity::random("us-east-1", "alice").unwrap();
    let steps = [
        StepSpec::new("step1").unwrap(),
        StepSpec::new("step2").unwrap(),
    ];
    let mut run = RunDoc::create(RunId::random(), who, "Release", &steps, 1_000).unwrap();
    for i in 0..n {
        run.graft("step1", &name(i), 2_000 + i as u64).unwrap();
    }
    run
}

#[test]
fn real_runs_pass_saved_and_incremental() {
    let mut run = run_with_grafts(200);
    let saved = run.save();
    check_storage(&saved).unwrap();
    run.graft("step2", "Late", 9_000).unwrap();
    let incremental = run.save_incremental();
    check_storage(&incremental).unwrap();
    check_storage(&[saved, incremental].concat()).unwrap();
    check_storage(&[]).unwrap();
}

#[test]
fn a_column_of_two_to_the_sixty_rows_is_refused() {
    // Action column (id 4, integer): one run of 2^60 equal values, in eleven bytes.
    let mut data = Vec::new();
    sleb(&mut data, 1 << 60);
    uleb(&mut data, 1);
    let err = check_storage(&change_with(&[((4 << 4) | 2, data)], 0)).unwrap_err();
    assert!(
        matches!(err, BoundsError::OverLimit { what: "rows in a column", declared, .. } if declared == 1 << 60),
        "{err}"
    );
    assert!(err.to_string().contains("the limit for"), "{err}");
}

#[test]
fn null_runs_and_boolean_runs_count_too() {
    let mut nulls = vec![0];
    uleb(&mut nulls, 1 << 40);
    assert!(check_storage(&change_with(&[((4 << 4) | 2, nulls)], 0)).is_err());
    let mut booleans = Vec::new();
    uleb(&mut booleans, 1 << 40);
    assert!(check_storage(&change_with(&[((3 << 4) | 4, booleans)], 0)).is_err());
}

#[test]
fn a_repeated_string_cannot_expand_past_the_ceiling() {
    // 60,000 rows (within the row ceiling) of a 10 KB key: 600 MB expanded.
    let mut data = Vec::new();
    sleb(&mut data, 60_000);
    uleb(&mut data, 10_000);
    data.extend(std::iter::repeat_n(b'k', 10_000));
    let err = check_storage(&change_with(&[((1 << 4) | 5, data)], 0)).unwrap_err();
    assert!(
        matches!(
            err,
            BoundsError::OverLimit {
                what: "bytes of expanded strings",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn an_actor_index_past_the_actors_is_refused() {
    let mut data = Vec::new();
    sleb(&mut data, 1);
    uleb(&mut data, 1 << 40);
    let err = check_storage(&change_with(&[(1, data.clone())], 1)).unwrap_err();
    assert!(
        matches!(
            err,
            BoundsError::OutOfRange {
                what: "actor index",
                bound: 2,
                ..
            }
        ),
        "{err}"
    );
    let mut ok = Vec::new();
    sleb(&mut ok, 1);
    uleb(&mut ok, 1);
    check_storage(&change_with(&[(1, ok)], 1)).unwrap();
}

#[test]
fn a_count_larger_than_the_bytes_is_refused() {
    let mut body = Vec::new();
    uleb(&mut body, 1 << 50); // dependencies
    let err = check_storage(&chunk(1, &body)).unwrap_err();
    assert!(
        matches!(
            err,
            BoundsError::Truncated {
                what: "dependencies",
                ..
            }
        ),
        "{err}"
    );
    // A chunk length past the end.
    let mut short = MAGIC.to_vec();
    short.extend([0, 0, 0, 0, 1]);
    uleb(&mut short, 1 << 30);
    assert!(matches!(
        check_storage(&short).unwrap_err(),
        BoundsError::Truncated { what: "chunk", .. }
    ));
}

#[test]
fn a_deflate_bomb_stops_at_the_ceiling() {
    use std::io::Write;
    // 64 MiB of zeros deflate to about 64 KB; as a compressed change they are refused
    // once inflation passes 64 bytes per input byte.
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = chunk(2, &enc.finish().unwrap());
    let err = check_storage(&bomb).unwrap_err();
    assert!(
        matches!(
            err,
            BoundsError::OverLimit {
                what: "inflated bytes",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bundles_and_unknown_chunks_are_refused_by_name() {
    let err = check_storage(&chunk(3, &[0, 0])).unwrap_err();
    assert!(err.to_string().contains("bundle"), "{err}");
    let err = check_storage(&chunk(9, &[])).unwrap_err();
    assert!(
        err.to_string().contains("unknown Automerge chunk type 9"),
        "{err}"
    );
    let err = check_storage(b"not automerge at all").unwrap_err();
    assert!(err.to_string().contains("no magic number"), "{err}");
}

#[test]
fn the_critical_fuzz_input_is_refused_before_parsing() {
    let input = include_bytes!(
        "../../../fuzz/regressions/doc_load/crash-f4c8f5c2f530b7e8dd07b4d0cf272ec817a34554"
    );
    let err = check_storage(input).unwrap_err();
    assert!(err.to_string().contains("bundle"), "{err}");
    let who = Identity::random("r", "u").unwrap();
    let err = RunDoc::load(RunId::from_bytes([7; 16]), who, input).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("refused document bytes (141 bytes)"),
        "{err}"
    );
}

mod sync;

/// The ceilings leave real runs a wide margin: a 5,000-graft run, saved (deflated
/// columns) and as one change per graft, uses under a quarter of each allowance, even
/// when every graft has the same name (the most a run's columns deflate).
#[test]
fn real_runs_use_a_small_part_of_each_allowance() {
    let mut varied = run_with_grafts(5_000);
    let mut same = run_named(5_000, |_| "ReviewerAgent".into());
    for run in [&mut varied, &mut same] {
        uses_a_quarter_at_most(run);
    }
}

fn uses_a_quarter_at_most(run: &mut RunDoc) {
    let saved = run.save();
    let mut each = Vec::new();
    for change in run.automerge_mut().get_changes(&[]) {
        each.extend(change.raw_bytes());
    }
    for bytes in [saved, each] {
        let mut budget = Budget::for_input(bytes.len());
        let start = budget.clone();
        chunk::check_chunks(&bytes, &mut budget).unwrap();
        let rows = start.rows_left - budget.rows_left;
        let expanded = start.expanded_left - budget.expanded_left;
        let inflated = start.inflated_left - budget.inflated_left;
        eprintln!(
            "{} bytes: rows {rows}/{} expanded {expanded}/{} inflated {inflated}/{}",
            bytes.len(),
            start.rows_left,
            start.expanded_left,
            start.inflated_left
        );
        assert!(
            rows * 4 < start.rows_left,
            "rows {rows} of {}",
            start.rows_left
        );
        assert!(expanded * 4 < start.expanded_left);
        assert!(inflated * 4 < start.inflated_left);
    }
}

/// However large the input, one input's inflated and expanded bytes stay under 256 MiB
/// (Automerge's inflating vector may take twice that; 1 GiB earned by a 4 MB input once
/// made it ask for 2 GiB).
#[test]
fn large_inputs_earn_no_more_than_the_absolute_ceilings() {
    let budget = Budget::for_input(64 << 20);
    assert_eq!(budget.inflated_left, MAX_INFLATED_BYTES);
    assert_eq!(budget.expanded_left, MAX_EXPANDED_BYTES);
    assert_eq!(budget.max_rows, MAX_ROWS);
    assert_eq!(MAX_INFLATED_BYTES, 256 << 20);
}
