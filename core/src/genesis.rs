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
use std::sync::OnceLock;

use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ROOT};
use sha2::{Digest, Sha256};

use crate::record::{GRAFT_BUCKETS, bucket_key, keys};

/// The actor of the genesis change. No live replica ever writes with it.
pub const GENESIS_ACTOR: [u8; 16] = *b"runmesh/genesis\0";

/// The genesis change, as built by [`build_genesis`] with automerge 0.12.
pub const GENESIS: &[u8] = &[
    133, 111, 74, 131, 12, 5, 168, 125, 1, 157, 2, 0, 16, 114, 117, 110, 109, 101, 115, 104, 47,
    103, 101, 110, 101, 115, 105, 115, 0, 1, 1, 0, 0, 0, 7, 1, 7, 2, 7, 21, 220, 1, 52, 1, 66, 5,
    86, 3, 112, 3, 0, 2, 192, 0, 0, 0, 2, 0, 2, 192, 0, 2, 0, 2, 188, 127, 5, 115, 116, 101, 112,
    115, 6, 103, 114, 97, 102, 116, 115, 2, 48, 48, 2, 48, 49, 2, 48, 50, 2, 48, 51, 2, 48, 52, 2,
    48, 53, 2, 48, 54, 2, 48, 55, 2, 48, 56, 2, 48, 57, 2, 48, 97, 2, 48, 98, 2, 48, 99, 2, 48,
    100, 2, 48, 101, 2, 48, 102, 2, 49, 48, 2, 49, 49, 2, 49, 50, 2, 49, 51, 2, 49, 52, 2, 49, 53,
    2, 49, 54, 2, 49, 55, 2, 49, 56, 2, 49, 57, 2, 49, 97, 2, 49, 98, 2, 49, 99, 2, 49, 100, 2, 49,
    101, 2, 49, 102, 2, 50, 48, 2, 50, 49, 2, 50, 50, 2, 50, 51, 2, 50, 52, 2, 50, 53, 2, 50, 54,
    2, 50, 55, 2, 50, 56, 2, 50, 57, 2, 50, 97, 2, 50, 98, 2, 50, 99, 2, 50, 100, 2, 50, 101, 2,
    50, 102, 2, 51, 48, 2, 51, 49, 2, 51, 50, 2, 51, 51, 2, 51, 52, 2, 51, 53, 2, 51, 54, 2, 51,
    55, 2, 51, 56, 2, 51, 57, 2, 51, 97, 2, 51, 98, 2, 51, 99, 2, 51, 100, 2, 51, 101, 2, 51, 102,
    6, 112, 114, 117, 110, 101, 100, 5, 102, 108, 97, 103, 115, 68, 127, 2, 195, 0, 0, 196, 0, 0,
    196, 0, 0,
];

/// A document holding only the genesis change. Natively it is loaded once per thread and
/// cloned after: a clone costs a fraction of parsing and checking the change again, and a
/// relay starts one for every run a peer asks it about. In wasm it is loaded each time:
/// cloning a document would add 3.3 KB gzip to the app, which opens few runs. Each caller
/// sets its own actor.
pub(crate) fn genesis_doc() -> AutoCommit {
    #[cfg(not(target_arch = "wasm32"))]
    {
        thread_local! {
            static DOC: AutoCommit = load_genesis();
        }
        DOC.with(AutoCommit::clone)
    }
    #[cfg(target_arch = "wasm32")]
    load_genesis()
}

/// The genesis change's hash: Automerge's, SHA-256 of the chunk after its magic bytes
/// and checksum (computed once rather than kept as a constant, so it cannot disagree
/// with [`GENESIS`]).
pub(crate) fn genesis_hash() -> ChangeHash {
    static HASH: OnceLock<ChangeHash> = OnceLock::new();
    *HASH.get_or_init(|| ChangeHash(Sha256::digest(&GENESIS[8..]).into()))
}

fn load_genesis() -> AutoCommit {
    AutoCommit::load(GENESIS).expect("the genesis constant is a valid change")
}

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
    fn the_hash_is_automerge_s() {
        assert_eq!(genesis_doc().get_heads(), vec![genesis_hash()]);
    }

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
