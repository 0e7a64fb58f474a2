//! A sync message's own fields (Bloom filter, have, need) and the changes it carries.

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

/// The seventh attack's E16: the relay keeps the heads each peer last sent for each run,
/// and nothing bounded how many: 256 MB of heads was 430 MB kept.
#[test]
fn more_heads_or_needs_than_a_run_can_have_are_refused() {
    let listing = |heads: u64, needs: u64| {
        let mut out = vec![0x42];
        for (n, fill) in [(heads, 1u8), (needs, 2u8)] {
            uleb(&mut out, n);
            for i in 0..n {
                let mut hash = [fill; 32];
                hash[..8].copy_from_slice(&i.to_le_bytes());
                out.extend(hash);
            }
        }
        out.extend([0, 0]); // no summaries, no changes
        out
    };
    check_sync_message(&listing(MAX_HEADS, MAX_NEEDS)).unwrap();
    for (heads, needs, what) in [(MAX_HEADS + 1, 0, "heads"), (0, MAX_NEEDS + 1, "needs")] {
        let err = check_sync_message(&listing(heads, needs)).unwrap_err();
        assert!(
            matches!(err, BoundsError::OutOfRange { what: w, .. } if w == what),
            "{err}"
        );
    }
}

/// The seventh attack's E18: the relay keeps each peer's last Bloom filters, so their
/// size is bounded, all of a message's together.
#[test]
fn bloom_filters_over_a_mebibyte_in_one_message_are_refused() {
    let filters = |n: u64, bytes: u64| {
        let mut out = vec![0x42, 0, 0];
        uleb(&mut out, n);
        for _ in 0..n {
            out.push(0); // no last sync heads
            let mut filter = Vec::new();
            uleb(&mut filter, bytes);
            uleb(&mut filter, 8);
            uleb(&mut filter, 7);
            filter.extend(vec![0x5a; bytes as usize]);
            uleb(&mut out, filter.len() as u64);
            out.extend(filter);
        }
        out.push(0); // no changes
        out
    };
    check_sync_message(&filters(1, 600_000)).unwrap();
    let err = check_sync_message(&filters(2, 600_000)).unwrap_err();
    assert!(
        matches!(
            err,
            BoundsError::OutOfRange {
                what: "bytes of bloom filters",
                ..
            }
        ),
        "{err}"
    );
}
