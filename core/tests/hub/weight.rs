//! A run's size limit weighs changes as Automerge holds them, deflated parts inflated:
//! a change that deflates a thousand times cannot slip a run past `--max-document-bytes`
//! (the gap the third attack left, 2026-12-07).

use automerge::ROOT;
use automerge::transaction::Transactable;
use runmesh_core::hub::{Input, Link};
use runmesh_core::sync::WireMessage;

use runmesh_testkit::run_hub::*;

/// 200 KB of one letter: Automerge deflates the change that writes it to about 1 KB.
fn compressible() -> String {
    "a".repeat(200_000)
}

/// `peer`'s sync message carrying a change that writes [`compressible`], deflated as an
/// attacker would send it (Automerge's own sync messages carry changes uncompressed).
fn deflated_note(peer: &mut Peer, from: &Link) -> Input<u64> {
    peer.doc().put(ROOT, "note", compressible()).unwrap();
    peer.doc().commit();
    let deflated = peer.doc().get_last_local_change().unwrap().bytes().to_vec();
    let mut input = peer.sync_input(from);
    let Input::Sync { message, .. } = &mut input else {
        unreachable!()
    };
    assert_eq!(message.changes.iter().count(), 1);
    message.changes = vec![deflated].into();
    input
}

fn refused_for_size(effects: &[runmesh_core::hub::Effect<u64>]) -> bool {
    sends(effects).iter().any(|(_, m)| {
        matches!(m, WireMessage::Error { message, .. }
            if message.contains("--max-document-bytes") && message.contains("uncompressed"))
    })
}

#[test]
fn a_change_that_deflates_well_weighs_what_it_inflates_to() {
    let mut hub = TestHub::with_limit(64_000);
    let c = client("c", 1);
    let mut peer = Peer::new(&c, 2);
    hub.connect(&mut peer, &c);
    let input = deflated_note(&mut peer, &c);
    let Input::Sync { message, .. } = &input else {
        unreachable!()
    };
    let sent: usize = message.changes.iter().map(<[u8]>::len).sum();
    assert!(sent < 8_000, "the change is sent deflated ({sent} bytes)");
    let heads = hub.hub.heads();
    let effects = hub.handle(input);
    assert!(refused_for_size(&effects), "{effects:?}");
    assert_eq!(hub.hub.heads(), heads, "nothing applied");
}

#[test]
fn a_stored_run_weighs_what_its_bytes_inflate_to() {
    let mut run = base_run();
    run.automerge_mut()
        .put(ROOT, "note", compressible())
        .unwrap();
    run.automerge_mut().commit();
    let saved = run.save();
    assert!(
        saved.len() < 8_000,
        "saved deflated ({} bytes)",
        saved.len()
    );
    // Under the limit as stored, over it as held: the next change is refused.
    let mut hub = TestHub::with_stored_and_limit(saved, 100_000);
    let effects = hub.handle(op(1, graft("step1", "X")));
    assert!(
        matches!(replies(&effects)[..], [(1, Err(ref e))] if e.contains("--max-document-bytes")),
        "{effects:?}"
    );
}

#[test]
fn a_change_under_the_limit_uncompressed_is_taken() {
    let mut hub = TestHub::with_limit(400_000);
    let c = client("c", 1);
    let mut peer = Peer::new(&c, 2);
    hub.connect(&mut peer, &c);
    let input = deflated_note(&mut peer, &c);
    let heads = hub.hub.heads();
    let effects = hub.handle(input);
    assert!(!refused_for_size(&effects), "{effects:?}");
    assert_ne!(hub.hub.heads(), heads, "applied");
}
