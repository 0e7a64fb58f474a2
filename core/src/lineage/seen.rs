//! An op may name only ops its change has seen: every object, list element and
//! overwritten op it names belongs to a change in its history (or to itself), and a
//! writer's change N comes after its change N-1.
//!
//! Automerge 0.12 takes a change that breaks this without an error, and the run reads,
//! but applying the same changes again (loading the run from its store after a restart)
//! fails ("assertion failed: self.entry.is_empty()", "invalid changes: missing ops"): an
//! outside attack bricked runs so with two changes of about 120 bytes, each inserting
//! into a list after the other's element without depending on it.

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, AutoCommit, ChangeHash};

use super::writers::Written;
use crate::error::RunError;

/// A change the one being checked has not seen: its writer and op counters.
#[derive(Clone)]
struct Unseen {
    actor: ActorId,
    seq: u64,
    ops: std::ops::RangeInclusive<u64>,
}

/// Checks each of `taken` (the changes applied together, in order) against the changes
/// of `doc` and of `taken` outside its history. The error names the change, and whether
/// it was queued.
pub(super) fn check_seen(
    doc: &mut AutoCommit,
    taken: &[(&Written, bool)],
) -> Result<(), (RunError, bool)> {
    let pool: HashMap<ChangeHash, &Written> = taken.iter().map(|(w, _)| (w.hash, *w)).collect();
    // The document's changes after a set of heads, once per set (changes sent together
    // mostly reach the document at the same heads).
    let mut after: HashMap<Vec<ChangeHash>, Vec<Unseen>> = HashMap::new();
    for (w, queued) in taken {
        let unseen = unseen_by(doc, w, &pool, &mut after);
        let fault = |e| (e, *queued);
        if w.seq > 1
            && unseen
                .iter()
                .any(|u| u.actor == w.actor && u.seq == w.seq - 1)
        {
            return Err(fault(RunError::SkipsOwnChange {
                writer: w.actor.to_hex_string(),
                seq: w.seq,
            }));
        }
        let named = w.refs.iter().find(|(ctr, actor)| {
            unseen
                .iter()
                .any(|u| u.actor == *actor && u.ops.contains(ctr))
        });
        if let Some((ctr, actor)) = named {
            return Err(fault(RunError::UnseenOp {
                writer: w.actor.to_hex_string(),
                seq: w.seq,
                op: format!("{ctr}@{}", actor.to_hex_string()),
            }));
        }
    }
    Ok(())
}

/// The changes outside `w`'s history: those of `doc` after its dependencies, and those
/// of `pool` that it does not descend from.
fn unseen_by(
    doc: &mut AutoCommit,
    w: &Written,
    pool: &HashMap<ChangeHash, &Written>,
    after: &mut HashMap<Vec<ChangeHash>, Vec<Unseen>>,
) -> Vec<Unseen> {
    // Its history within the pool, up its dependencies through the changes in the pool,
    // and where that history reaches the document.
    let mut seen: HashSet<ChangeHash> = HashSet::new();
    let mut in_doc: Vec<ChangeHash> = Vec::new();
    let mut next: Vec<ChangeHash> = w.deps.clone();
    while let Some(h) = next.pop() {
        match pool.get(&h) {
            Some(d) => {
                if seen.insert(h) {
                    next.extend(d.deps.iter().copied());
                }
            }
            None => in_doc.push(h),
        }
    }
    in_doc.sort_unstable();
    in_doc.dedup();
    let mut unseen: Vec<Unseen> = after
        .entry(in_doc)
        .or_insert_with_key(|heads| {
            doc.get_changes_meta(heads)
                .iter()
                .map(|m| Unseen {
                    actor: m.actor.clone().into_owned(),
                    seq: m.seq,
                    ops: m.start_op..=m.max_op,
                })
                .collect()
        })
        .clone();
    unseen.extend(
        pool.values()
            .filter(|p| p.hash != w.hash && !seen.contains(&p.hash))
            .map(|p| Unseen {
                actor: p.actor.clone(),
                seq: p.seq,
                ops: p.start_op..=p.max_op,
            }),
    );
    unseen
}
