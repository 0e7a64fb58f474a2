//! The change feed's question through the hub (`changes_since`): followers woken by one
//! stored change ask it together, and each gets the answer the run's history gives,
//! however often it is asked and whatever was stored in between.

use runmesh_core::hub::Input;

use runmesh_testkit::run_hub::*;

#[test]
fn the_same_question_gets_the_same_answer_until_a_change_is_stored() {
    let mut hub = TestHub::with_run();
    let start = hub.hub.heads();
    let (stored, events) = hub.hub.changes_since(Some(&start), 256).unwrap();
    assert_eq!((stored.clone(), events.len()), (start.clone(), 0));
    for (n, name) in [(1, "First"), (2, "Second")] {
        let effects = hub.handle(op(n, graft("step1", name)));
        let persist = persist_of(&effects).unwrap();
        // Not stored yet: the feed does not see it.
        let (stored, events) = hub.hub.changes_since(Some(&start), 256).unwrap();
        assert_eq!(events.len(), n as usize - 1);
        hub.handle(Input::Stored(persist));
        let (now, events) = hub.hub.changes_since(Some(&start), 256).unwrap();
        assert_ne!(now, stored, "the stored heads moved");
        assert_eq!(events.len(), n as usize, "{events:?}");
        assert_eq!(
            hub.hub.changes_since(Some(&start), 256).unwrap(),
            (now.clone(), events.clone())
        );
        // At most one: the first of them, and its id is where to go on from.
        let (_, one) = hub.hub.changes_since(Some(&start), 1).unwrap();
        assert_eq!(one[..], events[..1]);
    }
}
