//! The relay-wide rules of `runmesh_core::node` that the relay's sessions and the
//! simulation share: how a frame is routed, and what a session may do.

use std::collections::HashMap;

use automerge::sync::Message;
use runmesh_core::hub::PeerKind;
use runmesh_core::node::{Access, Admission, Grants, RouteError, Routed, route};
use runmesh_core::sync::{PeerId, WireMessage};
use runmesh_core::{DocumentId, RunId};
use runmesh_testkit::fixtures::*;

fn user(runs: &[(RunId, Access)]) -> Grants {
    Grants::User {
        user: "ada".into(),
        runs: runs
            .iter()
            .map(|(r, a)| (r.to_string(), *a))
            .collect::<HashMap<_, _>>(),
    }
}

/// A sync message carrying one change (a graft on the base run).
fn with_change() -> Message {
    let mut run = base();
    let before = run.heads();
    run.graft("step1", "A", 1).unwrap();
    let change = run.automerge_mut().get_changes(&before)[0]
        .raw_bytes()
        .to_vec();
    let mut message = empty();
    message.changes = vec![change].into();
    message
}

fn empty() -> Message {
    let mut doc = automerge::AutoCommit::new();
    let mut state = automerge::sync::State::new();
    use automerge::sync::SyncDoc;
    doc.sync().generate_sync_message(&mut state).unwrap()
}

fn base() -> runmesh_core::RunDoc {
    runmesh_core::RunDoc::create(run_id(), who(1, "eu", "a"), "T", &steps(&["step1"]), 1).unwrap()
}

fn doc(run: RunId) -> DocumentId {
    run.document_id()
}

#[test]
fn a_read_grant_syncs_but_may_not_write_and_nothing_is_spent() {
    let run = RunId::random();
    let mut session = Admission::new(user(&[(run, Access::Read)]), 10);
    assert_eq!(
        session.sync(doc(run), &empty(), |_| panic!("no changes")),
        Ok(())
    );
    let mut spent = 0;
    let why = session
        .sync(doc(run), &with_change(), |n| {
            spent += n;
            Ok(())
        })
        .unwrap_err();
    assert!(
        why.starts_with("changes refused, nothing applied: this token grants read"),
        "{why}"
    );
    assert_eq!(spent, 0);
    let other = RunId::random();
    let why = session.sync(doc(other), &empty(), |_| Ok(())).unwrap_err();
    assert!(
        why.starts_with("forbidden: this token grants no access"),
        "{why}"
    );
    assert!(session.ephemeral(doc(other), 1, 0).is_err());
    assert_eq!(session.attached().count(), 1);
}

#[test]
fn a_session_syncs_at_most_its_limit_of_runs_and_spends_per_change() {
    let mut session = Admission::new(Grants::Open, 2);
    let runs: Vec<RunId> = (0..3).map(|_| RunId::random()).collect();
    for run in &runs[..2] {
        session.sync(doc(*run), &empty(), |_| Ok(())).unwrap();
    }
    let why = session
        .sync(doc(runs[2]), &empty(), |_| Ok(()))
        .unwrap_err();
    assert!(why.contains("--max-runs-per-connection"), "{why}");
    // A run it syncs already stays open to it; its changes spend the allowance.
    let mut spent = 0;
    session
        .sync(doc(runs[0]), &with_change(), |n| {
            spent += n;
            Ok(())
        })
        .unwrap();
    assert_eq!(spent, 1);
    let why = session
        .sync(doc(runs[0]), &with_change(), |_| Err("rate limit".into()))
        .unwrap_err();
    assert_eq!(why, "changes refused, nothing applied: rate limit");
}

#[test]
fn a_mesh_link_is_not_limited() {
    let mut link = Admission::new(Grants::Mesh, 1);
    assert_eq!(link.kind(), PeerKind::Mesh);
    for _ in 0..3 {
        let run = RunId::random();
        link.sync(doc(run), &with_change(), |_| {
            panic!("mesh changes are not rate limited")
        })
        .unwrap();
    }
}

#[test]
fn frames_route_by_who_sent_them() {
    let peer = PeerId::from("client");
    let run = RunId::random();
    let ephemeral = || WireMessage::Ephemeral {
        sender_id: PeerId::from("someone-else"),
        target_id: PeerId::from("relay"),
        count: 1,
        session_id: "s".into(),
        document_id: doc(run),
        data: vec![1],
    };
    // A client speaks for itself; a relay passes on what others said.
    match route(ephemeral(), &peer, PeerKind::Client).unwrap() {
        Routed::Ephemeral { presence, .. } => assert_eq!(presence.sender, peer),
        other => panic!("{other:?}"),
    }
    match route(ephemeral(), &peer, PeerKind::Mesh).unwrap() {
        Routed::Ephemeral { presence, .. } => {
            assert_eq!(presence.sender, PeerId::from("someone-else"))
        }
        other => panic!("{other:?}"),
    }
    let sync = WireMessage::Sync {
        sender_id: peer.clone(),
        target_id: PeerId::from("relay"),
        document_id: doc(run),
        data: vec![0x42, 0, 0],
    };
    assert!(matches!(
        route(sync, &peer, PeerKind::Client),
        Err(RouteError::BadSync(_))
    ));
    let join = WireMessage::Leave {
        sender_id: peer.clone(),
    };
    assert!(matches!(
        route(join, &peer, PeerKind::Client),
        Ok(Routed::End(None))
    ));
}

/// The eleventh attack's E34: presence frames of 15 MB, copied to every other peer of
/// the run, took a relay to 3.6 GB. An ephemeral message over 64 KiB is refused by
/// name, from a client or a relay.
#[test]
fn ephemeral_data_over_the_limit_is_refused_naming_it() {
    use runmesh_core::node::MAX_PRESENCE_BYTES;
    let peer = PeerId::from("client");
    let run = RunId::random();
    let ephemeral = |len: usize| WireMessage::Ephemeral {
        sender_id: peer.clone(),
        target_id: PeerId::from("relay"),
        count: 1,
        session_id: "s".into(),
        document_id: doc(run),
        data: vec![7; len],
    };
    for kind in [PeerKind::Client, PeerKind::Mesh] {
        assert!(route(ephemeral(MAX_PRESENCE_BYTES), &peer, kind).is_ok());
        let err = route(ephemeral(MAX_PRESENCE_BYTES + 1), &peer, kind).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ephemeral data of 65537 bytes is over the limit of 65536 bytes"
        );
    }
}

/// A client may send so many ephemeral bytes a second; past that they are dropped
/// (`false`), not refused, and the next second starts afresh. A relay is not limited:
/// it carries many clients' presence.
#[test]
fn a_client_s_presence_past_its_allowance_is_dropped_for_the_rest_of_the_second() {
    use runmesh_core::node::PRESENCE_BYTES_PER_SEC;
    let run = RunId::random();
    let mut session = Admission::new(user(&[(run, Access::Read)]), 10);
    let piece = PRESENCE_BYTES_PER_SEC / 4;
    for _ in 0..4 {
        assert_eq!(session.ephemeral(doc(run), piece, 5_000), Ok(true));
    }
    assert_eq!(session.ephemeral(doc(run), 1, 5_999), Ok(false));
    assert_eq!(session.ephemeral(doc(run), piece, 6_000), Ok(true));
    let other = RunId::random();
    assert!(
        session
            .ephemeral(doc(other), 1, 6_000)
            .unwrap_err()
            .starts_with("forbidden")
    );
    let mut link = Admission::new(Grants::Mesh, 1);
    for _ in 0..8 {
        assert_eq!(link.ephemeral(doc(run), piece, 5_000), Ok(true));
    }
}

/// The twelfth attack's E37: four links sent 116,000 small digest messages in 20 s and
/// kept both cores busy. A link's digests are handled so many a second; the rest wait for
/// the next second (the link is not read meanwhile).
#[test]
fn a_mesh_link_s_digests_are_handled_so_many_a_second() {
    use runmesh_core::node::DIGESTS_PER_SEC;
    let mut link = Admission::new(Grants::Mesh, 1);
    for _ in 0..DIGESTS_PER_SEC {
        assert_eq!(link.digest(7_250), 7_250);
    }
    assert_eq!(link.digest(7_300), 8_000, "the next second");
    for _ in 1..DIGESTS_PER_SEC {
        assert_eq!(link.digest(7_301), 8_000);
    }
    assert_eq!(link.digest(7_302), 9_000);
    assert_eq!(link.digest(20_000), 20_000, "a quiet link starts afresh");
}
