//! A client's change that names an actor Automerge would not find (a new actor's change 2
//! without its change 1: the attack's A01 over `POST …/sync`, A02 over a WebSocket) is
//! refused with an error naming actor and seq; nothing is stored and the run stays
//! readable and savable.

use runmesh_core::hub::{Input, RunOp};

use crate::lineage::{carrying, errors};
use runmesh_testkit::chunks::{change_by, forge, hash_of};
use runmesh_testkit::run_hub::*;

/// The hub's run still reads, saves and takes a graft.
fn still_sound(hub: &mut TestHub, heads: &[automerge::ChangeHash]) {
    assert_eq!(hub.hub.heads(), heads, "nothing applied");
    assert_eq!(hub.names(), ["step1", "step2", "step3"]);
    hub.hub.save().unwrap();
    let effects = hub.handle(op(9, graft("step1", "After")));
    let persist = persist_of(&effects).unwrap();
    assert_eq!(
        replies(&hub.handle(Input::Stored(persist))),
        [(9, Ok(true))]
    );
}

#[test]
fn rest_sync_of_a_new_actor_s_change_2_is_refused() {
    let mut hub = TestHub::with_run();
    let heads = hub.hub.heads();
    let change = change_by(Peer::new(&client("a", 1), 3).doc(), 0xee, "zz");
    let apply = RunOp::ApplyBytes {
        bytes: forge(&change, &heads, 2),
        source_region: "elsewhere".into(),
    };
    let effects = hub.handle(op(1, apply));
    assert!(persist_of(&effects).is_none(), "{effects:?}");
    let answered = replies(&effects);
    let actor = "ee".repeat(16);
    assert!(
        matches!(&answered[..], [(1, Err(e))] if e.contains(&format!("change 2 of actor {actor}"))),
        "{answered:?}"
    );
    still_sound(&mut hub, &heads);
}

#[test]
fn a_socket_message_of_a_valid_change_and_a_new_actor_s_change_2_applies_neither() {
    let mut hub = TestHub::with_run();
    let a = client("a", 1);
    let mut peer = Peer::new(&a, 3);
    hub.connect(&mut peer, &a);
    let heads = hub.hub.heads();
    let good = change_by(peer.doc(), 0xaa, "a");
    let evil = forge(&change_by(peer.doc(), 0xbb, "b"), &[hash_of(&good)], 2);
    let effects = hub.handle(carrying(&a, vec![good, evil]));
    assert!(persist_of(&effects).is_none(), "{effects:?}");
    let errors = errors(&effects);
    let actor = "bb".repeat(16);
    assert!(
        matches!(&errors[..], [e] if e.contains(&format!("change 2 of actor {actor}"))),
        "{errors:?}"
    );
    still_sound(&mut hub, &heads);
}
