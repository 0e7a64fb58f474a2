//! The relay-wide reconciliation (`runmesh_core::node::Reconciliation`) that the relay's
//! mesh and the simulation's relays share: a digest answered and its runs offered, a run
//! changed elsewhere, a store feed that lapsed, a catch-up without room.

#![cfg(not(target_arch = "wasm32"))]

use runmesh_core::hub::{Link, PeerKind, SessionId};
use runmesh_core::node::{IN_FLIGHT, ROOM_POLL_MS, Reconciliation, RunDigests};
use runmesh_core::sync::PeerId;
use runmesh_core::{ChangeHash, DocumentId, RunId};

fn link(peer: &str, session: u64) -> Link {
    Link {
        peer: PeerId::from(peer),
        session: SessionId(session),
        kind: PeerKind::Mesh,
    }
}

fn head(n: u8) -> Vec<ChangeHash> {
    vec![ChangeHash([n; 32])]
}

fn runs(n: usize) -> Vec<DocumentId> {
    (0..n).map(|_| RunId::random().document_id()).collect()
}

/// Runs the digest exchange between `a` and a peer whose index is `theirs`, on `link`
/// as `a` sees it, until the peer has nothing more to say.
fn reconcile(a: &mut Reconciliation, theirs: &RunDigests, link: &Link) {
    let mut to_a = vec![runmesh_core::digest::start(theirs.index())];
    for _ in 0..16 {
        let Some(message) = to_a.pop() else { return };
        let (replies, _) = a.answer(0, link, &message);
        for reply in replies {
            let step = runmesh_core::digest::respond(theirs.index(), &reply);
            to_a.extend(step.replies);
        }
    }
}

#[test]
fn the_runs_a_peer_lacks_are_offered_a_few_at_a_time_and_counted_when_done() {
    let mut a = Reconciliation::new("a");
    let held = runs(IN_FLIGHT + 3);
    for (i, run) in held.iter().enumerate() {
        a.digests().stored(*run, &head(i as u8 + 1));
    }
    let b = link("b", 1);
    reconcile(&mut a, &RunDigests::new("b"), &b);
    let due = a.due(&b, 0, None).expect("a catch-up for b");
    assert_eq!(
        due.offers.len(),
        IN_FLIGHT,
        "no more than {IN_FLIGHT} at once"
    );
    assert!(!due.release);
    let (first, _) = due.offers[0];
    assert!(a.finished(5, &b, first, true, 0));
    assert!(!a.finished(6, &b, first, true, 0), "counted once");
    let next = a.due(&b, 6, None).unwrap();
    assert_eq!(next.offers.len(), 1, "one more goes as one finished");
    let progress = a.progress(&b.peer).unwrap();
    assert_eq!(progress.counts.queued, held.len() as u64);
    assert_eq!(progress.counts.synced, 1);
    // An older connection of the peer does not see the new one's catch-up.
    assert!(a.due(&link("b", 0), 6, None).is_none());
    a.link_down(&b.peer, b.session);
    assert!(a.due(&b, 7, None).is_none(), "gone with its link");
    assert_eq!(a.pending(), 0);
}

#[test]
fn a_run_changed_elsewhere_is_unknown_and_offered_everywhere_when_no_shard_holds_it() {
    let mut a = Reconciliation::new("a");
    let run = runs(1)[0];
    a.digests().stored(run, &head(1));
    a.changed_elsewhere(run);
    assert!(
        a.digests().known().iter().all(|(r, _)| *r != run),
        "not known until read"
    );
    let (b, c) = (link("b", 1), link("c", 2));
    assert!(a.offer(0, &b, [], false), "b's catch-up made first");
    let new = a.offer_everywhere(0, run, &[b.clone(), c.clone()]);
    assert_eq!(new, vec![c.clone()], "only c's catch-up is new");
    for l in [&b, &c] {
        assert_eq!(a.due(l, 0, None).unwrap().offers, vec![(run, false)]);
    }
}

#[test]
fn a_lapsed_feed_forgets_every_run_and_starts_reconciling_again() {
    let mut a = Reconciliation::new("a");
    let held = runs(3);
    for run in &held {
        a.digests().stored(*run, &head(7));
    }
    let first = a.lapsed();
    assert!(a.digests().known().is_empty(), "nothing is known");
    assert_eq!(first, a.start());
}

#[test]
fn a_catch_up_without_room_asks_runs_to_leave_and_looks_again_soon() {
    let mut a = Reconciliation::new("a");
    let b = link("b", 1);
    a.offer(100, &b, runs(3), false);
    let first = a.due(&b, 100, Some(0)).unwrap();
    assert_eq!(
        first.offers.len(),
        1,
        "one run always goes when none is in flight"
    );
    let stalled = a.due(&b, 110, Some(0)).unwrap();
    assert!(stalled.offers.is_empty() && stalled.release, "{stalled:?}");
    assert_eq!(stalled.next, Some(110 + ROOM_POLL_MS));
    let (run, _) = first.offers[0];
    a.finished(120, &b, run, true, 4096);
    let room = a.due(&b, 130, Some(1 << 20)).unwrap();
    assert_eq!(room.offers.len(), 2);
    assert!(!room.release);
}
