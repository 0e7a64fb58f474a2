//! Changes another relay stored in a shared store: applied, passed on, never written
//! again.

use runmesh_core::RunDoc;
use runmesh_core::hub::{Effect, Input};
use runmesh_core::sync::WireMessage;

use runmesh_testkit::fixtures::{run_id, who};
use runmesh_testkit::run_hub::*;

/// What another relay appended: a graft of `agent` on its own replica of the base run.
fn appended_elsewhere(agent: &str) -> Vec<u8> {
    let mut other = RunDoc::load(run_id(), who(7, "us", "other"), &base_run().save()).unwrap();
    other.graft("step1", agent, 4_000).unwrap();
    other.save_incremental()
}

fn persists(effects: &[Effect<u64>]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::Persist(_)))
        .count()
}

fn synced_to(effects: &[Effect<u64>]) -> Vec<String> {
    sends(effects)
        .into_iter()
        .filter(|(_, m)| matches!(m, WireMessage::Sync { .. }))
        .map(|(to, _)| to.peer.to_string())
        .collect()
}

#[test]
fn changes_stored_elsewhere_reach_the_peers_without_being_stored_again() {
    let mut hub = TestHub::with_run();
    let b = client("b", 2);
    hub.join(&b);
    let effects = hub.handle(Input::StoredElsewhere(appended_elsewhere("Elsewhere")));
    assert_eq!(persists(&effects), 0, "{effects:?}");
    assert_eq!(synced_to(&effects), ["b"], "{effects:?}");
    assert!(hub.names().contains(&"Elsewhere".to_owned()));
    // Taking in the same bytes again changes nothing and tells no one.
    let effects = hub.handle(Input::StoredElsewhere(appended_elsewhere("Elsewhere")));
    assert!(effects.is_empty(), "{effects:?}");
}

#[test]
fn changes_stored_elsewhere_during_a_persist_are_not_written_again() {
    let mut hub = TestHub::with_run();
    let b = client("b", 2);
    hub.join(&b);
    let first = persist_of(&hub.handle(op(1, graft("step1", "One")))).unwrap();
    let effects = hub.handle(Input::StoredElsewhere(appended_elsewhere("Elsewhere")));
    assert_eq!(persists(&effects), 0, "one persist at a time: {effects:?}");
    assert!(
        synced_to(&effects).is_empty(),
        "nothing leaves while a persist is in flight: {effects:?}"
    );
    let effects = hub.handle(Input::Stored(first));
    assert_eq!(replies(&effects), vec![(1, Ok(true))]);
    assert_eq!(
        persists(&effects),
        0,
        "what is unstored is all in the store already: {effects:?}"
    );
    assert_eq!(synced_to(&effects), ["b"], "{effects:?}");
    let names = hub.names();
    assert!(
        names.contains(&"One".to_owned()) && names.contains(&"Elsewhere".to_owned()),
        "{names:?}"
    );
}

#[test]
fn a_local_change_mixed_with_changes_stored_elsewhere_is_still_stored() {
    let mut hub = TestHub::with_run();
    let first = persist_of(&hub.handle(op(1, graft("step1", "One")))).unwrap();
    hub.handle(op(2, graft("step1", "Two")));
    hub.handle(Input::StoredElsewhere(appended_elsewhere("Elsewhere")));
    let effects = hub.handle(Input::Stored(first));
    let second = persist_of(&effects).expect("the second graft is stored");
    let effects = hub.handle(Input::Stored(second));
    assert_eq!(replies(&effects), vec![(2, Ok(true))]);
    assert_eq!(persists(&effects), 0, "then all is stored: {effects:?}");
}

#[test]
fn a_run_absent_here_appears_when_another_relay_stores_it() {
    let mut hub = TestHub::empty();
    let effects = hub.handle(Input::StoredElsewhere(base_run().save()));
    assert_eq!(persists(&effects), 0, "{effects:?}");
    assert_eq!(hub.names(), ["step1", "step2", "step3"]);
}

#[test]
fn changes_stored_elsewhere_while_loading_wait_for_the_load() {
    let mut hub = TestHub::loading();
    let effects = hub.handle(Input::StoredElsewhere(appended_elsewhere("Elsewhere")));
    assert!(effects.is_empty(), "{effects:?}");
    let stored = runmesh_core::hub::Stored {
        bytes: base_run().save(),
        chunks: 0,
    };
    let effects = hub.handle(Input::Loaded(Ok(Some(stored))));
    assert_eq!(persists(&effects), 0, "{effects:?}");
    assert!(hub.names().contains(&"Elsewhere".to_owned()));
}

#[test]
fn corrupt_bytes_change_nothing() {
    let mut hub = TestHub::with_run();
    let b = client("b", 2);
    hub.join(&b);
    let mut bytes = appended_elsewhere("Corrupt");
    // Past the magic bytes: the chunk's checksum no longer matches.
    bytes[5] ^= 0xff;
    let effects = hub.handle(Input::StoredElsewhere(bytes));
    assert_eq!(persists(&effects), 0, "{effects:?}");
    assert!(synced_to(&effects).is_empty(), "{effects:?}");
    assert_eq!(hub.names(), ["step1", "step2", "step3"]);
}

/// Seed 147 of the shared-store simulation: a peer's change waits in Automerge for a
/// dependency; bytes another relay stored bring the dependency, and both changes become
/// visible. Only the stored one may count as durable: the other must be stored here
/// before anyone hears of it.
#[test]
fn a_change_released_by_bytes_stored_elsewhere_is_stored_before_it_is_passed_on() {
    use automerge::sync::{Message, MessageVersion};

    let mut hub = TestHub::with_run();
    let (b, c) = (client("b", 2), client("c", 3));
    hub.join(&b);
    hub.join(&c);
    let mut other = RunDoc::load(run_id(), who(7, "us", "other"), &base_run().save()).unwrap();
    other.graft("step1", "Stored", 4_000).unwrap();
    let stored = other.save_incremental();
    other.graft("step1", "Waiting", 4_001).unwrap();
    let waiting = other.save_incremental();
    let message = Message {
        heads: other.heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: vec![waiting].into(),
        flags: None,
        version: MessageVersion::V1,
    };
    hub.handle(Input::Sync {
        from: c.clone(),
        message,
        request: false,
    });
    assert!(!hub.names().contains(&"Waiting".to_owned()), "it waits");
    let effects = hub.handle(Input::StoredElsewhere(stored));
    let names = hub.names();
    assert!(
        names.contains(&"Stored".to_owned()) && names.contains(&"Waiting".to_owned()),
        "{names:?}"
    );
    let id = persist_of(&effects).expect("the released change is stored here");
    assert!(
        synced_to(&effects).is_empty(),
        "nothing is passed on before it is stored: {effects:?}"
    );
    let effects = hub.handle(Input::Stored(id));
    assert!(synced_to(&effects).contains(&"b".to_owned()), "{effects:?}");
}
