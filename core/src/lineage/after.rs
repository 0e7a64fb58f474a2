//! [`AfterCache`]: the changes a document holds after a sender's heads, kept from one
//! check of the lineage rule to the next (`seen.rs` asks for them once per message).
//!
//! Automerge's only public answer, `get_changes_meta(heads)`, builds the full metadata of
//! every such change from its compressed columns. A writer that is behind the relay by
//! *n* changes made each of its messages cost *n* of those: under the load bench's flood
//! (10 writers, each behind by up to 2,700 grafts) that was 63 % of the relay's CPU, and
//! the relay reached 42–57 % of what bare Automerge needs for the same traffic; with
//! these sets kept, 96–104 % (docs/benchmarks.md, "The hot-run ceiling").
//!
//! A writer's next message usually names its previous change as its heads, and that
//! change is among the ones kept for its previous heads. So the set for the new heads is
//! derived from the kept one: walk down from the new heads through the kept changes;
//! every change walked is now seen. Like Automerge's, "after" is by each writer's
//! sequence numbers (a writer's change counts as seen once a later one of its changes
//! is), which is exact when a writer's changes each depend on its previous one, as the
//! lineage rule has every admitted change do. When the walk does not reach all the old
//! heads, or a head is not in the document, Automerge is asked as before.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::ops::RangeInclusive;

use automerge::{ActorId, AutoCommit, ChangeHash};

/// Sets kept per document.
const ENTRIES: usize = 16;
/// Changes kept in all the sets of one document (each about a hundred bytes: at most a
/// few MiB for a run many writers flood, outside the memory budget, gone when the run
/// leaves memory); a set that would pass it is used once and not kept.
const MAX_KEPT: usize = 1 << 15;

/// One change after the heads.
#[derive(Clone, Debug)]
struct Meta {
    actor: ActorId,
    seq: u64,
    deps: Vec<ChangeHash>,
}

/// The changes of a document after some heads, by writer.
#[derive(Clone, Debug, Default)]
pub(crate) struct After {
    by_hash: HashMap<ChangeHash, Meta>,
    /// Per writer, by sequence number: the change's op counters and hash.
    by_actor: HashMap<ActorId, BTreeMap<u64, (RangeInclusive<u64>, ChangeHash)>>,
}

impl After {
    fn insert(&mut self, hash: ChangeHash, meta: Meta, ops: RangeInclusive<u64>) {
        self.by_actor
            .entry(meta.actor.clone())
            .or_default()
            .insert(meta.seq, (ops, hash));
        self.by_hash.insert(hash, meta);
    }

    fn of(doc: &mut AutoCommit, heads: &[ChangeHash]) -> Self {
        let mut after = Self::default();
        after.extend(doc, heads);
        after
    }

    /// Adds the changes of `doc` after `heads`.
    fn extend(&mut self, doc: &mut AutoCommit, heads: &[ChangeHash]) {
        for m in doc.get_changes_meta(heads) {
            let meta = Meta {
                actor: m.actor.clone().into_owned(),
                seq: m.seq,
                deps: m.deps.clone(),
            };
            self.insert(m.hash, meta, m.start_op..=m.max_op);
        }
    }

    /// Forgets `actor`'s changes up to sequence number `seq`: they are seen.
    fn seen_through(&mut self, actor: &ActorId, seq: u64) {
        let Some(changes) = self.by_actor.get_mut(actor) else {
            return;
        };
        let later = changes.split_off(&(seq + 1));
        for (_, hash) in std::mem::replace(changes, later).values() {
            self.by_hash.remove(hash);
        }
        if changes.is_empty() {
            self.by_actor.remove(actor);
        }
    }

    fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether one of `actor`'s changes here (sequence number, op counters) is `hit`.
    pub(crate) fn any(
        &self,
        actor: &ActorId,
        hit: impl Fn(u64, &RangeInclusive<u64>) -> bool,
    ) -> bool {
        self.by_actor
            .get(actor)
            .is_some_and(|changes| changes.iter().any(|(seq, (ops, _))| hit(*seq, ops)))
    }
}

/// A kept set: the changes after `heads`, as of the document's heads `at`.
#[derive(Debug)]
struct Entry {
    heads: Vec<ChangeHash>,
    at: Vec<ChangeHash>,
    after: After,
}

/// The sets of changes after recent senders' heads, for one document.
#[derive(Debug, Default)]
pub struct AfterCache {
    entries: VecDeque<Entry>,
    /// The last set that was not kept.
    scratch: After,
    /// The document's heads at the last call: every set was brought up to them or to
    /// heads before them.
    last: Vec<ChangeHash>,
}

impl AfterCache {
    /// Forgets every set (the document was loaded again).
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }

    /// The changes of `doc` after `heads`, as `doc.get_changes_meta(heads)` has them.
    pub(crate) fn after(&mut self, doc: &mut AutoCommit, heads: &[ChangeHash]) -> &After {
        let mut heads = heads.to_vec();
        heads.sort_unstable();
        heads.dedup();
        let now = doc.get_heads();
        // A document that lacks the heads it had at the last call was loaded again
        // (the hub also says so, by `clear`): the sets are not of it. A look-up of
        // hashes, not of metadata.
        if !self.last.is_empty() && !doc.get_missing_deps(&self.last).is_empty() {
            self.entries.clear();
        }
        self.last.clone_from(&now);
        let found = self.entries.iter().position(|e| e.heads == heads);
        let derived = found
            .is_none()
            .then(|| self.derive(doc, &heads, &now))
            .flatten();
        let entry = match found {
            Some(i) => self.entries.remove(i).map(|e| catch_up(e, doc, &now)),
            None => derived,
        };
        let entry = entry.or_else(|| {
            let known = heads
                .iter()
                .all(|h| doc.get_change_meta_by_hash(h).is_some());
            known.then(|| Entry {
                after: After::of(doc, &heads),
                heads: heads.clone(),
                at: now.clone(),
            })
        });
        let Some(entry) = entry.filter(|e| e.after.len() <= MAX_KEPT) else {
            self.scratch = After::of(doc, &heads);
            return &self.scratch;
        };
        self.entries.push_front(entry);
        let mut kept = 0;
        let keep = self
            .entries
            .iter()
            .take_while(|e| {
                kept += e.after.len();
                kept <= MAX_KEPT
            })
            .count()
            .clamp(1, ENTRIES);
        self.entries.truncate(keep);
        &self.entries[0].after
    }

    /// A kept set turned into the set after `heads`, if one can be. Only the sets kept
    /// for heads that `heads` or their dependencies hold are tried (a writer's next
    /// message names its previous change, whose dependency was the heads before): a walk
    /// that fails costs as much as one that succeeds, and most sets would fail.
    fn derive(
        &mut self,
        doc: &mut AutoCommit,
        heads: &[ChangeHash],
        now: &[ChangeHash],
    ) -> Option<Entry> {
        let mut near: HashSet<ChangeHash> = heads.iter().copied().collect();
        for head in heads {
            if let Some(m) = doc.get_change_meta_by_hash(head) {
                near.extend(m.deps);
            }
        }
        let mut i = 0;
        while i < self.entries.len() {
            if !self.entries[i].heads.iter().all(|h| near.contains(h)) {
                i += 1;
                continue;
            }
            let Some(entry) = self.entries.remove(i) else {
                break;
            };
            let mut entry = catch_up(entry, doc, now);
            // Walk down from `heads` through the changes after the entry's heads: each
            // one walked is seen; where the walk leaves them, it is at changes the
            // entry's heads have seen (or not in the document at all).
            let mut next: Vec<ChangeHash> = heads.to_vec();
            let mut walked = HashSet::new();
            let mut left_at = HashSet::new();
            let mut seen: HashMap<ActorId, u64> = HashMap::new();
            while let Some(hash) = next.pop() {
                if !walked.insert(hash) {
                    continue;
                }
                match entry.after.by_hash.get(&hash) {
                    Some(m) => {
                        let top = seen.entry(m.actor.clone()).or_default();
                        *top = (*top).max(m.seq);
                        next.extend(m.deps.iter().copied());
                    }
                    None => {
                        left_at.insert(hash);
                    }
                }
            }
            let reaches_old = entry.heads.iter().all(|h| left_at.contains(h));
            let mut in_doc = || {
                heads
                    .iter()
                    .filter(|h| left_at.contains(*h))
                    .all(|h| doc.get_change_meta_by_hash(h).is_some())
            };
            if reaches_old && in_doc() {
                for (actor, seq) in &seen {
                    entry.after.seen_through(actor, *seq);
                }
                entry.heads = heads.to_vec();
                return Some(entry);
            }
            self.entries.insert(i, entry);
            i += 1;
        }
        None
    }
}

/// `entry` brought up to the document's heads `now`: the changes since it was made are
/// after its heads too (they came after everything its heads have seen). The document
/// holds what it was made from (see [`AfterCache::after`]).
fn catch_up(mut entry: Entry, doc: &mut AutoCommit, now: &[ChangeHash]) -> Entry {
    if entry.at != now {
        let at = std::mem::take(&mut entry.at);
        entry.after.extend(doc, &at);
        entry.at = now.to_vec();
    }
    entry
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use runmesh_testkit::rng::Rng;

    use super::*;

    fn writer(i: u8) -> AutoCommit {
        AutoCommit::new().with_actor(ActorId::from(vec![i + 1; 16]))
    }

    fn write(doc: &mut AutoCommit, key: usize) {
        doc.put(automerge::ROOT, format!("k{key}"), key as i64)
            .unwrap();
        doc.commit();
    }

    /// What Automerge says: (writer, seq, ops) of every change after `heads`.
    fn expected(doc: &mut AutoCommit, heads: &[ChangeHash]) -> Vec<(ActorId, u64, u64, u64)> {
        let mut all: Vec<_> = doc
            .get_changes_meta(heads)
            .iter()
            .map(|m| (m.actor.clone().into_owned(), m.seq, m.start_op, m.max_op))
            .collect();
        all.sort();
        all
    }

    fn kept(after: &After) -> Vec<(ActorId, u64, u64, u64)> {
        let mut all: Vec<_> = after
            .by_actor
            .iter()
            .flat_map(|(a, changes)| {
                changes
                    .iter()
                    .map(|(seq, (ops, _))| (a.clone(), *seq, *ops.start(), *ops.end()))
            })
            .collect();
        all.sort();
        assert_eq!(all.len(), after.by_hash.len(), "both indexes agree");
        all
    }

    #[test]
    fn gives_what_automerge_gives_for_writers_behind_in_step_and_merged() {
        for seed in 0..20u64 {
            let mut rng = Rng(seed);
            let mut relay = writer(100);
            let mut writers: Vec<AutoCommit> = (0..4).map(writer).collect();
            let mut cache = AfterCache::default();
            for key in 0..200 {
                let i = rng.below(writers.len());
                if rng.chance(20) {
                    writers[i].merge(&mut relay).unwrap();
                }
                write(&mut writers[i], key);
                // The relay checks the writer's change against the changes after the
                // writer's heads before it, as the lineage rule does.
                let change = writers[i].get_last_local_change().unwrap();
                let heads = change.deps().to_vec();
                let want = expected(&mut relay, &heads);
                assert_eq!(
                    kept(cache.after(&mut relay, &heads)),
                    want,
                    "seed {seed}, key {key}"
                );
                relay.apply_changes([change]).unwrap();
            }
            assert!(!cache.entries.is_empty(), "seed {seed}: sets were kept");
        }
    }

    #[test]
    fn heads_the_document_lacks_and_a_document_loaded_again_are_asked_of_automerge() {
        let mut relay = writer(100);
        let mut a = writer(0);
        let mut cache = AfterCache::default();
        for key in 0..5 {
            write(&mut a, key);
        }
        let early = a.get_heads();
        relay.merge(&mut a).unwrap();
        let saved = relay.save();
        for key in 5..10 {
            write(&mut a, key);
        }
        relay.merge(&mut a).unwrap();
        let want = expected(&mut relay, &early);
        assert_eq!(kept(cache.after(&mut relay, &early)), want);
        // A hash the relay does not hold.
        let mut b = writer(1);
        write(&mut b, 99);
        let unknown = b.get_heads();
        let want = expected(&mut relay, &unknown);
        assert_eq!(kept(cache.after(&mut relay, &unknown)), want);
        // The relay loaded again from an older save (a failed store): what was kept for
        // the newer document does not apply.
        let mut reloaded = AutoCommit::load(&saved).unwrap();
        let heads = reloaded.get_heads();
        let want = expected(&mut reloaded, &heads);
        assert_eq!(kept(cache.after(&mut reloaded, &heads)), want);
        let want = expected(&mut reloaded, &early);
        assert_eq!(kept(cache.after(&mut reloaded, &early)), want);
    }
}
