//! [`SavedRun`]: the run saved for readers (`GET …/changes`), made once and extended.
//! One whole save, then the changes each later read found, each saved once: a reader
//! who changes the run before every read costs the save of its change, not of the run
//! (tenth attack, E28: a graft before each GET made every GET a second of CPU and a
//! 30 MB answer of its own).

use std::sync::Arc;

use automerge::{AutoCommit, ChangeHash};

/// How many parts a saved run may have before it is saved whole again.
pub const MAX_PARTS: usize = 1024;

/// The change parts a saved run may have whatever its size (half of the whole save
/// past 128 KiB).
pub const MIN_ROOM: usize = 64 * 1024;

/// A saved run: Automerge bytes in parts (a document chunk, then change chunks) that
/// load as one document when put end to end.
#[derive(Debug, Clone)]
pub struct SavedRun {
    parts: Vec<Arc<[u8]>>,
}

impl SavedRun {
    /// The parts, in order.
    pub fn parts(&self) -> &[Arc<[u8]>] {
        &self.parts
    }

    /// The parts, in order, for whoever sends them.
    pub fn into_parts(self) -> Vec<Arc<[u8]>> {
        self.parts
    }

    /// How many bytes the parts hold together.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum()
    }

    /// Whether there are no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The parts, put end to end.
    pub fn to_vec(&self) -> Vec<u8> {
        self.parts.concat()
    }
}

/// The last [`SavedRun`] and the heads it holds.
#[derive(Debug)]
pub(super) struct SaveMemo {
    heads: Vec<ChangeHash>,
    parts: Vec<Arc<[u8]>>,
    /// Bytes of the whole save (the first part).
    whole: usize,
    /// Bytes of the change parts after it.
    after: usize,
}

impl SaveMemo {
    /// What the memo holds in memory.
    pub(super) fn bytes(&self) -> usize {
        self.whole + self.after
    }

    /// `doc` saved: from the memo if it holds `doc`'s heads, the memo extended by the
    /// changes since if they weigh at most half of the whole save (or [`MIN_ROOM`]),
    /// else saved whole again by `save_whole`.
    pub(super) fn saved(
        memo: &mut Option<SaveMemo>,
        doc: &mut AutoCommit,
        save_whole: impl FnOnce(&mut AutoCommit) -> Vec<u8>,
    ) -> SavedRun {
        let heads = doc.get_heads();
        if let Some(memo) = memo.as_mut() {
            if memo.heads == heads {
                return memo.run();
            }
            if memo.extend(doc, heads.clone()) {
                return memo.run();
            }
        }
        let whole: Arc<[u8]> = save_whole(doc).into();
        let fresh = SaveMemo {
            heads,
            whole: whole.len(),
            parts: vec![whole],
            after: 0,
        };
        let run = fresh.run();
        *memo = Some(fresh);
        run
    }

    fn run(&self) -> SavedRun {
        SavedRun {
            parts: self.parts.clone(),
        }
    }

    /// Appends the changes of `doc` since the memo's heads; false (the memo unchanged)
    /// when they cannot or should not be appended.
    fn extend(&mut self, doc: &mut AutoCommit, heads: Vec<ChangeHash>) -> bool {
        if self.parts.len() >= MAX_PARTS {
            return false;
        }
        // Heads only grow while a run is in memory; if one is missing, save it whole.
        if self
            .heads
            .iter()
            .any(|h| doc.get_change_by_hash(h).is_none())
        {
            return false;
        }
        let changes = doc.save_after(&self.heads);
        let room = (self.whole / 2).max(MIN_ROOM);
        if changes.is_empty() || self.after + changes.len() > room {
            return false;
        }
        self.after += changes.len();
        self.parts.push(changes.into());
        self.heads = heads;
        true
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    use super::*;

    fn save(doc: &mut AutoCommit) -> Vec<u8> {
        doc.save()
    }

    fn doc_with_blob(len: usize) -> AutoCommit {
        let mut doc = AutoCommit::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let blob: String = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'a' + (x % 26) as u8)
            })
            .collect();
        doc.put(ROOT, "blob", blob).unwrap();
        doc.commit();
        doc
    }

    #[test]
    fn a_change_before_each_read_is_saved_alone_and_the_parts_load_as_the_document() {
        let mut doc = doc_with_blob(10_000);
        let mut memo = None;
        let first = SaveMemo::saved(&mut memo, &mut doc, save);
        assert_eq!(first.parts().len(), 1);
        let mut whole_saves = 0;
        for i in 0..20 {
            doc.put(ROOT, format!("k{i}"), i as u64).unwrap();
            doc.commit();
            let read = SaveMemo::saved(&mut memo, &mut doc, |d| {
                whole_saves += 1;
                d.save()
            });
            assert_eq!(read.parts().len(), i + 2, "one part per change");
            assert!(Arc::ptr_eq(&read.parts()[0], &first.parts()[0]));
            let mut loaded = AutoCommit::load(&read.to_vec()).unwrap();
            assert_eq!(loaded.get_heads(), doc.get_heads());
        }
        assert_eq!(whole_saves, 0);
        assert_eq!(
            memo.as_ref().unwrap().bytes(),
            first.len() + memo.as_ref().unwrap().after
        );
    }

    #[test]
    fn the_same_heads_share_the_same_parts() {
        let mut doc = doc_with_blob(100);
        let mut memo = None;
        let a = SaveMemo::saved(&mut memo, &mut doc, save);
        let b = SaveMemo::saved(&mut memo, &mut doc, |_| panic!("saved again"));
        assert!(Arc::ptr_eq(&a.parts()[0], &b.parts()[0]));
    }

    #[test]
    fn changes_past_half_the_whole_save_or_too_many_parts_save_it_whole_again() {
        let mut doc = doc_with_blob(1_000);
        let mut memo = None;
        SaveMemo::saved(&mut memo, &mut doc, save);
        let whole = memo.as_ref().unwrap().whole;
        let big: String = (0..(whole * 2).max(MIN_ROOM * 2))
            .map(|i| char::from(b'a' + (i * 11 % 26) as u8))
            .collect();
        doc.put(ROOT, "big", big).unwrap();
        doc.commit();
        let read = SaveMemo::saved(&mut memo, &mut doc, save);
        assert_eq!(read.parts().len(), 1, "saved whole");

        let mut memo = Some(SaveMemo {
            heads: Vec::new(),
            parts: vec![Arc::from(vec![0u8; 8]); MAX_PARTS],
            whole: usize::MAX / 4,
            after: 0,
        });
        let read = SaveMemo::saved(&mut memo, &mut doc, save);
        assert_eq!(read.parts().len(), 1, "too many parts: saved whole");
        assert_eq!(
            AutoCommit::load(&read.to_vec()).unwrap().get_heads(),
            doc.get_heads()
        );
    }
}
