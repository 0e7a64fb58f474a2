use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT};

use super::*;
use crate::genesis::genesis_doc;

fn actor(n: u8) -> ActorId {
    ActorId::from(&[n; 16][..])
}

#[test]
fn writers_known_to_automerge() {
    let mut doc = genesis_doc();
    let mut fork = doc.fork().with_actor(actor(5));
    fork.put(ROOT, "k", 1).unwrap();
    fork.commit();
    assert!(!knows(&mut doc, &actor(5)));
    doc.merge(&mut fork).unwrap();
    assert!(knows(&mut doc, &actor(5)));
    assert!(!knows(&mut doc, &actor(6)));
}

#[test]
fn a_plain_header_gives_writer_seq_deps_and_other_actors() {
    let mut x = genesis_doc().with_actor(actor(1));
    let map = x.put_object(ROOT, "m", ObjType::Map).unwrap();
    x.commit();
    let mut y = x.fork().with_actor(actor(2));
    y.put(&map, "k", 1).unwrap();
    y.commit();
    y.put(&map, "k", 2).unwrap();
    y.commit();
    let change = y.get_last_local_change().unwrap();
    let chunk = change.raw_bytes();
    let (_, body) = crate::lineage::leb128(&chunk[9..]).unwrap();
    let w = Written::of_plain(body, change.hash()).unwrap();
    assert_eq!((w.actor, w.seq), (actor(2), 2));
    assert_eq!(w.deps, change.deps());
    assert_eq!(w.others, [actor(1)]);
}

#[test]
fn only_a_ready_change_1_introduces_its_writer() {
    let mut doc = genesis_doc();
    let at = doc.get_heads();
    let w = |actor_n: u8, seq: u64, deps: Vec<ChangeHash>, hash: u8| Written {
        hash: ChangeHash([hash; 32]),
        deps,
        actor: actor(actor_n),
        seq,
        others: Vec::new(),
    };
    assert!(matches!(
        admit(&[w(3, 2, at.clone(), 1)], &mut doc),
        Err(RunError::UnknownWriter { seq: 2, .. })
    ));
    admit(
        &[
            w(3, 1, at.clone(), 1),
            w(3, 2, vec![ChangeHash([1; 32])], 2),
        ],
        &mut doc,
    )
    .unwrap();
    // Change 1 waits for a dependency the document lacks: it does not vouch for change 2,
    // which Automerge could apply before it.
    let missing = vec![ChangeHash([9; 32])];
    assert!(matches!(
        admit(&[w(3, 1, missing.clone(), 1), w(3, 2, at, 2)], &mut doc),
        Err(RunError::UnknownWriter { seq: 2, .. })
    ));
    // A change that waits is Automerge's to queue.
    admit(&[w(3, 2, missing, 1)], &mut doc).unwrap();
}
