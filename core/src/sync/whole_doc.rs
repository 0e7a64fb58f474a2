//! Taking in a peer's whole document at the speed of a load.
//!
//! Automerge sends a peer its whole document, saved, when the peer lacks more than a
//! third of its changes: a browser opening a run it holds only the genesis of, say.
//! Automerge loads it as a document into an empty one, but applied to a document that is
//! not empty (`load_incremental`), the save is taken apart into changes applied one by one;
//! loaded as a document, its columns are read at once. When the save holds every change
//! the replica has, and the replica waits on no change, both give the same document, so
//! the replica takes the loaded one.

use automerge::AutoCommit;

use crate::chunk::{DOCUMENT, split_chunk};

/// Replaces `doc` with the document `changes` carries when they are exactly one whole
/// document that holds every change `doc` has, and `doc` holds no change waiting for its
/// dependencies. Returns whether it did; otherwise `doc` is untouched and the changes are
/// for `load_incremental` (which also reports what is wrong with bytes that do not load).
///
/// The loaded document keeps `doc`'s actor. It has no diff cursor and no save cursor: a
/// view kept up to date by patches is read afresh ([`crate::RunDoc::refresh`]), and the
/// next incremental save holds every change.
pub(crate) fn adopt_whole(doc: &mut AutoCommit, changes: &[&[u8]]) -> bool {
    let [bytes] = changes else {
        return false;
    };
    if !matches!(split_chunk(bytes), Some((DOCUMENT, _, rest)) if rest.is_empty()) {
        return false;
    }
    if !doc.get_missing_deps(&[]).is_empty() {
        return false;
    }
    let Ok(mut loaded) = AutoCommit::load(bytes) else {
        return false;
    };
    let covers = doc
        .get_heads()
        .iter()
        .all(|head| loaded.get_change_meta_by_hash(head).is_some());
    if !covers {
        return false;
    }
    loaded.set_actor(doc.get_actor().clone());
    *doc = loaded;
    true
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ReadDoc};

    use super::*;

    fn doc(actor: &str, keys: &[&str]) -> AutoCommit {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(actor.as_bytes()));
        for key in keys {
            doc.put(automerge::ROOT, *key, 1).unwrap();
            doc.commit();
        }
        doc
    }

    #[test]
    fn takes_a_save_that_covers_everything_and_keeps_the_actor() {
        let mut source = doc("source", &["a", "b", "c"]);
        let mut mine = doc("mine", &[]);
        mine.merge(&mut doc("source", &["a"])).unwrap();
        let saved = source.save();
        assert!(adopt_whole(&mut mine, &[&saved]));
        assert_eq!(mine.get_heads(), source.get_heads());
        assert_eq!(mine.get_actor(), &ActorId::from(&b"mine"[..]));
        assert!(mine.get(automerge::ROOT, "c").unwrap().is_some());
    }

    #[test]
    fn leaves_a_document_with_changes_the_save_lacks() {
        let mut mine = doc("mine", &["mine"]);
        let before = mine.get_heads();
        let saved = doc("source", &["a"]).save();
        assert!(!adopt_whole(&mut mine, &[&saved]));
        assert_eq!(mine.get_heads(), before);
    }

    #[test]
    fn leaves_changes_and_bytes_that_are_not_one_whole_document() {
        let mut source = doc("source", &["a", "b"]);
        let saved = source.save();
        let change = source.get_last_local_change().unwrap().raw_bytes().to_vec();
        let mut mine = doc("mine", &[]);
        assert!(!adopt_whole(&mut mine, &[&change]));
        assert!(!adopt_whole(&mut mine, &[&saved, &saved]));
        assert!(!adopt_whole(&mut mine, &[&saved[..saved.len() - 1]]));
        let mut trailing = saved.clone();
        trailing.push(0);
        assert!(!adopt_whole(&mut mine, &[&trailing]));
        assert!(mine.get_heads().is_empty());
    }

    #[test]
    fn leaves_a_document_that_waits_on_a_change() {
        let mut source = doc("source", &["a"]);
        let saved = source.save();
        source.put(automerge::ROOT, "b", 1).unwrap();
        source.commit();
        source.put(automerge::ROOT, "c", 1).unwrap();
        source.commit();
        // The last change alone: it waits on "b", which the replica never got.
        let last = source.get_last_local_change().unwrap().raw_bytes().to_vec();
        let mut mine = doc("mine", &[]);
        mine.load_incremental(&last).unwrap();
        assert!(!mine.get_missing_deps(&[]).is_empty());
        assert!(!adopt_whole(&mut mine, &[&saved]));
    }
}
