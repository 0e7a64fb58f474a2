//! The changes a byte string holds, read without applying it: what a relay that hears
//! of bytes another relay stored may count as durable.
//!
//! Applying bytes can make more changes visible than the bytes hold: Automerge queues a
//! change whose dependencies it lacks (one a peer sent by sync, say) and applies it once
//! they arrive. Such a change is not stored just because its dependency is.

use std::collections::HashSet;

use automerge::{AutoCommit, Change, ChangeHash};

use crate::chunk::{DOCUMENT, split_chunk};

/// The hashes of the changes in `bytes` (document and change chunks, concatenated), or
/// `None` if they are not a sequence of such chunks.
pub(crate) fn change_hashes(mut bytes: &[u8]) -> Option<HashSet<ChangeHash>> {
    let mut hashes = HashSet::new();
    while !bytes.is_empty() {
        let (kind, chunk, rest) = split_chunk(bytes)?;
        if kind == DOCUMENT {
            let mut doc = AutoCommit::load(chunk).ok()?;
            hashes.extend(doc.get_changes_meta(&[]).iter().map(|c| c.hash));
        } else {
            hashes.insert(Change::try_from(chunk).ok()?.hash());
        }
        bytes = rest;
    }
    Some(hashes)
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use super::*;

    fn doc_with(keys: &[&str]) -> AutoCommit {
        let mut doc = AutoCommit::new();
        for key in keys {
            doc.put(automerge::ROOT, *key, 1).unwrap();
            doc.commit();
        }
        doc
    }

    #[test]
    fn names_the_changes_of_a_save_and_of_incremental_chunks() {
        let mut doc = doc_with(&["a", "b"]);
        let saved = doc.save();
        let first: HashSet<_> = doc.get_heads().into_iter().collect();
        doc.put(automerge::ROOT, "c", 1).unwrap();
        doc.commit();
        doc.put(automerge::ROOT, "d", 1).unwrap();
        doc.commit();
        let after = doc.save_after(&first.iter().copied().collect::<Vec<_>>());
        let all: HashSet<_> = doc.get_changes_meta(&[]).iter().map(|c| c.hash).collect();
        let later: HashSet<_> = all
            .difference(&change_hashes(&saved).unwrap())
            .copied()
            .collect();
        assert_eq!(change_hashes(&after), Some(later.clone()));
        assert_eq!(later.len(), 2);
        let mut both = saved.clone();
        both.extend_from_slice(&after);
        assert_eq!(change_hashes(&both), Some(all));
    }

    #[test]
    fn refuses_what_is_not_chunks() {
        let saved = doc_with(&["a"]).save();
        assert_eq!(change_hashes(b"not automerge"), None);
        assert_eq!(change_hashes(&saved[..saved.len() - 1]), None);
        let mut trailing = saved.clone();
        trailing.push(0);
        assert_eq!(change_hashes(&trailing), None);
    }
}
