//! Hand-made hostile inputs, each refused with the limit it passed; real runs, saved and
//! incremental, accepted.

use super::*;
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
        "../../fuzz/regressions/doc_load/crash-f4c8f5c2f530b7e8dd07b4d0cf272ec817a34554"
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

mod sync {
    use super::*;
    use automerge::sync::{Message, SyncDoc};

    fn message(bloom: &[u8], changes: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0x42, 0, 0, 1, 0];
        uleb(&mut out, bloom.len() as u64);
        out.extend(bloom);
        uleb(&mut out, changes.len() as u64);
        for c in changes {
            uleb(&mut out, c.len() as u64);
            out.extend(c);
        }
        out
    }

    #[test]
    fn real_sync_messages_pass() {
        let mut run = run_with_grafts(50);
        let mut state = automerge::sync::State::new();
        let first = run
            .automerge_mut()
            .sync()
            .generate_sync_message(&mut state)
            .unwrap();
        check_sync_message(&first.encode()).unwrap();
        let mut other = automerge::AutoCommit::new();
        let mut theirs = automerge::sync::State::new();
        let reply = other.sync().generate_sync_message(&mut theirs).unwrap();
        run.automerge_mut()
            .sync()
            .receive_sync_message(&mut state, Message::decode(&reply.encode()).unwrap())
            .unwrap();
        let with_changes = run
            .automerge_mut()
            .sync()
            .generate_sync_message(&mut state)
            .unwrap();
        assert!(!with_changes.changes.is_empty());
        check_sync_message(&with_changes.encode()).unwrap();
    }

    #[test]
    fn a_bloom_filter_asking_four_billion_probes_is_refused() {
        let mut bloom = Vec::new();
        uleb(&mut bloom, 1); // entries
        uleb(&mut bloom, 10); // bits per entry
        uleb(&mut bloom, u64::from(u32::MAX)); // probes
        bloom.extend([0, 0]);
        let err = check_sync_message(&message(&bloom, &[])).unwrap_err();
        assert!(
            matches!(
                err,
                BoundsError::OutOfRange {
                    what: "bloom filter probes",
                    ..
                }
            ),
            "{err}"
        );
        // Entries but no bits: Automerge would divide by zero.
        let err = check_sync_message(&message(&[1, 0, 7], &[])).unwrap_err();
        assert!(err.to_string().contains("no bits"), "{err}");
        check_sync_message(&message(&[1, 10, 7, 0, 0], &[])).unwrap();
    }

    /// A message from a peer that asks for the same change twice: Automerge 0.12 panics
    /// collecting the changes for the reply (in `generate_sync_message`, which nothing
    /// guards), so one 69-byte message from a read-only client stopped the run's task.
    #[test]
    fn a_need_listing_a_change_twice_is_refused_and_the_reply_never_built() {
        use crate::sync::{DocSync, PeerId, decode_message};

        let mut run = run_with_grafts(10);
        let genesis = run.automerge_mut().get_changes(&[])[0].hash();
        let message = Message {
            heads: Vec::new(),
            need: vec![genesis, genesis],
            have: Vec::new(),
            changes: automerge::sync::ChunkList::empty(),
            flags: None,
            version: automerge::sync::MessageVersion::V1,
        };
        let bytes = message.encode();
        let err = check_sync_message(&bytes).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("needs lists change {genesis} twice")),
            "{err}"
        );
        assert!(decode_message(&bytes).is_err());
        // Asked once, the change is sent.
        let once = Message {
            need: vec![genesis],
            ..Message::decode(&bytes).unwrap()
        };
        let once = decode_message(&once.encode()).unwrap();
        let mut sync = DocSync::new(run.run_id().document_id(), PeerId::from("relay"));
        let peer = PeerId::from("reader");
        sync.receive(run.automerge_mut(), &peer, once).unwrap();
        let replies = sync.flush(run.automerge_mut());
        assert_eq!(replies.len(), 1);
    }

    /// Automerge writes one "have" summary; each more makes every reply test every change
    /// of the run against one more Bloom filter.
    #[test]
    fn more_have_summaries_than_automerge_writes_are_refused() {
        let summaries = |n: u64| {
            let mut out = vec![0x42, 0, 0];
            uleb(&mut out, n);
            for _ in 0..n {
                out.extend([0, 4, 1, 8, 7, 0xfe]); // no heads; one entry, one byte of bits
            }
            out.push(0); // no changes
            out
        };
        check_sync_message(&summaries(1)).unwrap();
        check_sync_message(&summaries(MAX_HAVE_SUMMARIES)).unwrap();
        let err = check_sync_message(&summaries(10_000)).unwrap_err();
        assert!(
            matches!(
                err,
                BoundsError::OutOfRange {
                    what: "have summaries",
                    value: 10_000,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_change_it_carries_is_checked_too() {
        let mut data = Vec::new();
        sleb(&mut data, 1 << 60);
        uleb(&mut data, 1);
        let bomb = change_with(&[((4 << 4) | 2, data)], 0);
        let err = check_sync_message(&message(&[], &[bomb])).unwrap_err();
        assert!(matches!(err, BoundsError::OverLimit { .. }), "{err}");
        let err = check_sync_message(&[0x99]).unwrap_err();
        assert!(
            err.to_string().contains("not an Automerge sync message"),
            "{err}"
        );
    }
}

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

#[test]
fn a_deflated_change_weighs_what_it_inflates_to() {
    use automerge::transaction::Transactable;
    let mut doc = automerge::AutoCommit::new();
    doc.put(automerge::ROOT, "note", "a".repeat(100_000))
        .unwrap();
    doc.commit();
    let mut change = doc.get_last_local_change().unwrap().clone();
    let raw = change.raw_bytes().to_vec();
    let deflated = change.bytes().to_vec();
    assert!(
        deflated.len() * 50 < raw.len(),
        "{} deflated",
        deflated.len()
    );
    assert_eq!(weigh(&raw), Ok(raw.len()));
    // The chunk headers differ only in the length's LEB128 (a byte or two).
    let weight = weigh(&deflated).unwrap();
    assert!(
        weight.abs_diff(raw.len()) <= 4,
        "{weight} against {}",
        raw.len()
    );
    let both = [raw.clone(), deflated].concat();
    assert_eq!(weigh(&both).unwrap(), raw.len() + weight);
}

/// A change inserting `n` nulls into a new list: Automerge's run-length columns make it
/// a few hundred bytes, whatever `n`.
fn nulls_change(n: usize) -> Vec<u8> {
    use automerge::transaction::Transactable;
    let mut doc = automerge::AutoCommit::new();
    let list = doc
        .put_object(automerge::ROOT, "l", automerge::ObjType::List)
        .unwrap();
    for i in 0..n {
        doc.insert(&list, i, automerge::ScalarValue::Null).unwrap();
    }
    doc.commit();
    doc.get_last_local_change().unwrap().raw_bytes().to_vec()
}

#[test]
fn a_change_weighs_its_ops_when_they_weigh_more_than_its_bytes() {
    let small = nulls_change(20_000);
    assert!(small.len() < 1_000, "{} bytes", small.len());
    let weight = weigh(&small).unwrap();
    assert!(weight >= 20_000 * OP_WEIGHT as usize, "{weight}");
    // A change whose bytes weigh more than its ops weighs its bytes.
    let mut doc = automerge::AutoCommit::new();
    use automerge::transaction::Transactable;
    doc.put(automerge::ROOT, "note", "x".repeat(10_000))
        .unwrap();
    doc.commit();
    let text = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    assert_eq!(weigh(&text), Ok(text.len()));
}

#[test]
fn stored_bytes_are_weighed_whatever_rows_their_length_would_allow_a_stranger() {
    use automerge::transaction::Transactable;
    let mut doc = automerge::AutoCommit::new();
    let text = doc
        .put_object(automerge::ROOT, "t", automerge::ObjType::Text)
        .unwrap();
    doc.splice_text(&text, 0, 0, &"a".repeat(150_000)).unwrap();
    let saved = doc.save();
    // Deflated, 150,000 ops fit in a few kilobytes: more rows than a stranger's input of
    // that length may declare, but a run this relay took in and saved.
    assert!(weigh(&saved).is_err());
    let weight = weight_of_stored(&saved);
    assert!(weight >= 150_000 * OP_WEIGHT as usize, "{weight}");
    assert_eq!(weight_of_stored(b"not automerge"), usize::MAX);
}
