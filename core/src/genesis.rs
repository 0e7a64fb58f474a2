//! The genesis change: the byte-identical first change of every run document.
//!
//! The change creates the four containers and the graft buckets inside `grafts`.
//! If two replicas each created a run from scratch, each would make its own `grafts` map;
//! on merge one object would win the root key and the other side's grafts would vanish.
//! So every replica starts a run from the same constant change (containers only, a fixed
//! actor, time 0): all creations of run R share one first change and merge into one.
//! [`GENESIS`] is kept as bytes, not rebuilt at run time, so an Automerge upgrade cannot
//! silently change it; a test rebuilds it and compares.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjType, ROOT};

use crate::record::{GRAFT_BUCKETS, bucket_key, keys};

/// The actor of the genesis change. No live replica ever writes with it.
pub const GENESIS_ACTOR: [u8; 16] = *b"runmesh/genesis\0";

/// The genesis change, as built by [`build_genesis`] with automerge 0.12.
pub const GENESIS: &[u8] = &[
    133, 111, 74, 131, 231, 207, 239, 141, 1, 222, 6, 0, 16, 114, 117, 110, 109, 101, 115, 104, 47,
    103, 101, 110, 101, 115, 105, 115, 0, 1, 1, 0, 0, 0, 7, 1, 7, 2, 7, 21, 156, 6, 52, 2, 66, 5,
    86, 3, 112, 3, 0, 2, 128, 2, 0, 0, 2, 0, 2, 128, 2, 2, 0, 2, 252, 125, 5, 115, 116, 101, 112,
    115, 6, 103, 114, 97, 102, 116, 115, 2, 48, 48, 2, 48, 49, 2, 48, 50, 2, 48, 51, 2, 48, 52, 2,
    48, 53, 2, 48, 54, 2, 48, 55, 2, 48, 56, 2, 48, 57, 2, 48, 97, 2, 48, 98, 2, 48, 99, 2, 48,
    100, 2, 48, 101, 2, 48, 102, 2, 49, 48, 2, 49, 49, 2, 49, 50, 2, 49, 51, 2, 49, 52, 2, 49, 53,
    2, 49, 54, 2, 49, 55, 2, 49, 56, 2, 49, 57, 2, 49, 97, 2, 49, 98, 2, 49, 99, 2, 49, 100, 2, 49,
    101, 2, 49, 102, 2, 50, 48, 2, 50, 49, 2, 50, 50, 2, 50, 51, 2, 50, 52, 2, 50, 53, 2, 50, 54,
    2, 50, 55, 2, 50, 56, 2, 50, 57, 2, 50, 97, 2, 50, 98, 2, 50, 99, 2, 50, 100, 2, 50, 101, 2,
    50, 102, 2, 51, 48, 2, 51, 49, 2, 51, 50, 2, 51, 51, 2, 51, 52, 2, 51, 53, 2, 51, 54, 2, 51,
    55, 2, 51, 56, 2, 51, 57, 2, 51, 97, 2, 51, 98, 2, 51, 99, 2, 51, 100, 2, 51, 101, 2, 51, 102,
    2, 52, 48, 2, 52, 49, 2, 52, 50, 2, 52, 51, 2, 52, 52, 2, 52, 53, 2, 52, 54, 2, 52, 55, 2, 52,
    56, 2, 52, 57, 2, 52, 97, 2, 52, 98, 2, 52, 99, 2, 52, 100, 2, 52, 101, 2, 52, 102, 2, 53, 48,
    2, 53, 49, 2, 53, 50, 2, 53, 51, 2, 53, 52, 2, 53, 53, 2, 53, 54, 2, 53, 55, 2, 53, 56, 2, 53,
    57, 2, 53, 97, 2, 53, 98, 2, 53, 99, 2, 53, 100, 2, 53, 101, 2, 53, 102, 2, 54, 48, 2, 54, 49,
    2, 54, 50, 2, 54, 51, 2, 54, 52, 2, 54, 53, 2, 54, 54, 2, 54, 55, 2, 54, 56, 2, 54, 57, 2, 54,
    97, 2, 54, 98, 2, 54, 99, 2, 54, 100, 2, 54, 101, 2, 54, 102, 2, 55, 48, 2, 55, 49, 2, 55, 50,
    2, 55, 51, 2, 55, 52, 2, 55, 53, 2, 55, 54, 2, 55, 55, 2, 55, 56, 2, 55, 57, 2, 55, 97, 2, 55,
    98, 2, 55, 99, 2, 55, 100, 2, 55, 101, 2, 55, 102, 2, 56, 48, 2, 56, 49, 2, 56, 50, 2, 56, 51,
    2, 56, 52, 2, 56, 53, 2, 56, 54, 2, 56, 55, 2, 56, 56, 2, 56, 57, 2, 56, 97, 2, 56, 98, 2, 56,
    99, 2, 56, 100, 2, 56, 101, 2, 56, 102, 2, 57, 48, 2, 57, 49, 2, 57, 50, 2, 57, 51, 2, 57, 52,
    2, 57, 53, 2, 57, 54, 2, 57, 55, 2, 57, 56, 2, 57, 57, 2, 57, 97, 2, 57, 98, 2, 57, 99, 2, 57,
    100, 2, 57, 101, 2, 57, 102, 2, 97, 48, 2, 97, 49, 2, 97, 50, 2, 97, 51, 2, 97, 52, 2, 97, 53,
    2, 97, 54, 2, 97, 55, 2, 97, 56, 2, 97, 57, 2, 97, 97, 2, 97, 98, 2, 97, 99, 2, 97, 100, 2, 97,
    101, 2, 97, 102, 2, 98, 48, 2, 98, 49, 2, 98, 50, 2, 98, 51, 2, 98, 52, 2, 98, 53, 2, 98, 54,
    2, 98, 55, 2, 98, 56, 2, 98, 57, 2, 98, 97, 2, 98, 98, 2, 98, 99, 2, 98, 100, 2, 98, 101, 2,
    98, 102, 2, 99, 48, 2, 99, 49, 2, 99, 50, 2, 99, 51, 2, 99, 52, 2, 99, 53, 2, 99, 54, 2, 99,
    55, 2, 99, 56, 2, 99, 57, 2, 99, 97, 2, 99, 98, 2, 99, 99, 2, 99, 100, 2, 99, 101, 2, 99, 102,
    2, 100, 48, 2, 100, 49, 2, 100, 50, 2, 100, 51, 2, 100, 52, 2, 100, 53, 2, 100, 54, 2, 100, 55,
    2, 100, 56, 2, 100, 57, 2, 100, 97, 2, 100, 98, 2, 100, 99, 2, 100, 100, 2, 100, 101, 2, 100,
    102, 2, 101, 48, 2, 101, 49, 2, 101, 50, 2, 101, 51, 2, 101, 52, 2, 101, 53, 2, 101, 54, 2,
    101, 55, 2, 101, 56, 2, 101, 57, 2, 101, 97, 2, 101, 98, 2, 101, 99, 2, 101, 100, 2, 101, 101,
    2, 101, 102, 2, 102, 48, 2, 102, 49, 2, 102, 50, 2, 102, 51, 2, 102, 52, 2, 102, 53, 2, 102,
    54, 2, 102, 55, 2, 102, 56, 2, 102, 57, 2, 102, 97, 2, 102, 98, 2, 102, 99, 2, 102, 100, 2,
    102, 101, 2, 102, 102, 6, 112, 114, 117, 110, 101, 100, 5, 102, 108, 97, 103, 115, 132, 2, 127,
    2, 131, 2, 0, 132, 2, 0, 132, 2, 0,
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
        let obj = doc
            .put_object(ROOT, key, kind)
            .expect("root of a new document accepts any key");
        if key == keys::GRAFTS {
            for bucket in 0..GRAFT_BUCKETS {
                doc.put_object(&obj, bucket_key(bucket), ObjType::Map)
                    .expect("a new map accepts any key");
            }
        }
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
