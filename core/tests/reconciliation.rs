//! The relay-wide reconciliation (`runmesh_core::node::Reconciliation`) that the relay's
//! mesh and the simulation's relays share: a digest answered and its runs offered, a run
//! changed elsewhere, a store feed that lapsed, a catch-up without room.
//! And the mesh around it (`RelayMesh`): who starts reconciling on a link, what becomes
//! of a link that lost the tie-break or was replaced, and of its catch-up.

#![cfg(not(target_arch = "wasm32"))]

use runmesh_core::hub::{Link, PeerKind, SessionId};
use runmesh_core::node::{
    IN_FLIGHT, Joined, NewLink, ROOM_POLL_MS, Reconciliation, RelayMesh, RunDigests,
};
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

/// Brings up `link` at `mesh`; `dialled`: `mesh` dialled it.
fn up(mesh: &mut RelayMesh<Link>, link: &Link, dialled: bool) -> Joined<Link> {
    mesh.link_up(NewLink {
        peer: link.peer.clone(),
        session: link.session,
        url: dialled.then(|| format!("wss://{}", link.peer)),
        region: "eu".into(),
        since: 0,
        link: link.clone(),
    })
}

fn offered(mesh: &RelayMesh<Link>) -> Vec<DocumentId> {
    mesh.reconciliation_ref().offered().copied().collect()
}

#[test]
fn only_the_relay_that_dialled_starts_reconciling() {
    let mut a = RelayMesh::new(PeerId::from("a"));
    let Joined::Up {
        replaced: None,
        first_digest: Some(_),
    } = up(&mut a, &link("b", 1), true)
    else {
        panic!("the dialler keeps its link and sends the first digest");
    };
    let mut b = RelayMesh::new(PeerId::from("b"));
    let Joined::Up {
        replaced: None,
        first_digest: None,
    } = up(&mut b, &link("a", 1), false)
    else {
        panic!("the dialled relay keeps the link and waits for the digest");
    };
    assert!(a.peers().has_peer(&PeerId::from("b")));
    assert!(b.peers().has_peer(&PeerId::from("a")));
}

#[test]
fn two_relays_that_dial_each_other_keep_the_same_link() {
    // "a" < "b": both keep the link "a" dialled.
    let mut a = RelayMesh::new(PeerId::from("a"));
    let mut b = RelayMesh::new(PeerId::from("b"));
    // b's link to a (session 2 at both ends) came up first everywhere.
    assert!(matches!(
        up(&mut a, &link("b", 2), false),
        Joined::Up { .. }
    ));
    assert!(matches!(up(&mut b, &link("a", 2), true), Joined::Up { .. }));
    // Then the link a dialled (session 1): both keep it and close b's.
    let Joined::Up {
        replaced: Some(old),
        first_digest: Some(_),
    } = up(&mut a, &link("b", 1), true)
    else {
        panic!("a keeps the link it dialled, replacing b's");
    };
    assert_eq!(old.session, SessionId(2));
    let Joined::Up {
        replaced: Some(old),
        first_digest: None,
    } = up(&mut b, &link("a", 1), false)
    else {
        panic!("b keeps the link a dialled, replacing its own");
    };
    assert_eq!(old.session, SessionId(2));
    // A later link b dials is refused by both.
    assert!(matches!(up(&mut a, &link("b", 3), false), Joined::Refused));
    assert!(matches!(up(&mut b, &link("a", 3), true), Joined::Refused));
    // The replaced link closing changes nothing; the live one going down does.
    assert!(!a.link_down(&PeerId::from("b"), SessionId(2)));
    assert!(a.peers().has_peer(&PeerId::from("b")));
    assert!(a.link_down(&PeerId::from("b"), SessionId(1)));
    assert!(!a.peers().has_peer(&PeerId::from("b")));
}

#[test]
fn a_link_that_goes_down_or_is_replaced_takes_its_catch_up_with_it() {
    // Seen from relay "b", which "a" dials.
    let mut a = RelayMesh::new(PeerId::from("b"));
    let first = link("a", 1);
    assert!(matches!(up(&mut a, &first, false), Joined::Up { .. }));
    let runs: Vec<DocumentId> = (0..3).map(|_| RunId::random().document_id()).collect();
    a.reconciliation().offer(0, &first, runs.clone(), false);
    let due = a.reconciliation().due(&first, 0, None).expect("a catch-up");
    assert_eq!(due.offers.len(), 3);
    assert_eq!(offered(&a).len(), 3);
    // "a" dials again (a restart): the new link replaces the old, and the old link's
    // offers are no longer held.
    assert!(matches!(
        up(&mut a, &link("a", 2), false),
        Joined::Up {
            replaced: Some(_),
            ..
        }
    ));
    assert!(offered(&a).is_empty());
    let second = link("a", 2);
    a.reconciliation().offer(0, &second, runs, false);
    assert_eq!(
        a.reconciliation()
            .due(&second, 0, None)
            .unwrap()
            .offers
            .len(),
        3
    );
    assert!(a.link_down(&second.peer, second.session));
    assert!(offered(&a).is_empty());
    assert_eq!(a.reconciliation_ref().pending(), 0);
}
