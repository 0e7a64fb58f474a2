//! The genesis change: the byte-identical first change of every run document.
//!
//! If two replicas each created a run from scratch, each would make its own `grafts` map;
//! on merge one object would win the root key and the other side's grafts would vanish.
//! So every replica starts a run from the same constant change (containers only, a fixed
//! actor, time 0): all creations of run R share one first change and merge into one.
//! [`GENESIS`] is kept as bytes, not rebuilt at run time, so an Automerge upgrade cannot
//! silently change it; a test rebuilds it and compares.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjType, ROOT};

use crate::record::keys;

/// The actor of the genesis change. No live replica ever writes with it.
pub const GENESIS_ACTOR: [u8; 16] = *b"runmesh/genesis\0";

/// The genesis change, as built by [`build_genesis`] with automerge 0.12.
pub const GENESIS: &[u8] = &[
    133, 111, 74, 131, 75, 17, 65, 25, 1, 70, 0, 16, 114, 117, 110, 109, 101, 115, 104, 47, 103,
    101, 110, 101, 115, 105, 115, 0, 1, 1, 0, 0, 0, 5, 21, 27, 52, 1, 66, 4, 86, 2, 112, 2, 124, 5,
    115, 116, 101, 112, 115, 6, 103, 114, 97, 102, 116, 115, 6, 112, 114, 117, 110, 101, 100, 5,
    102, 108, 97, 103, 115, 4, 127, 2, 3, 0, 4, 0, 4, 0,
];

/// Builds the genesis change from scratch. Only the test calls this: runtime code loads
/// [`GENESIS`].
pub fn build_genesis() -> Vec<u8> {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(&GENESIS_ACTOR[..]));
    for (key, kind) in [
        (keys::STEPS, ObjType::List),
        (keys::GRAFTS, ObjType::Map),
        (keys::PRUNED, ObjType::Map),
        (keys::FLAGS, ObjType::Map),
    ] {
        doc.put_object(ROOT, key, kind)
            .expect("root of a new document accepts any key");
    }
    doc.commit_with(CommitOptions::default().with_time(0));
    doc.get_last_local_change()
        .expect("the genesis document has one change")
        .raw_bytes()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_bytes_are_stable() {
        let built = build_genesis();
        assert_eq!(
            GENESIS,
            &built[..],
            "the genesis change changed (an Automerge upgrade?). Runs created before and \
             after would no longer merge safely. Built bytes: {built:?}"
        );
    }
}
