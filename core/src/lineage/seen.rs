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
use std::ops::RangeInclusive;
use std::rc::Rc;

use automerge::{ActorId, AutoCommit, ChangeHash};

use super::after::AfterCache;
use super::writers::Written;
use crate::error::RunError;

/// Checks each of `taken` (the changes applied together, in order) against the changes
/// of `doc` and of `taken` outside its history. The error names the change, and whether
/// it was queued. The document's changes after each change's history come from
/// `after` (kept from one check to the next: `after.rs`).
///
/// Linear in the changes for the usual shapes (a chain, changes from many writers on
/// the same heads): where each change's history reaches the document is carried down
/// from its dependencies, the document's later changes are read once per such place,
/// and a change of `taken` is looked up in a change's history only when one of its ops
/// names it (a search that stops where it finds it). Checking every change against all
/// the others made 10,000 one-op changes in one body take 18 s.
pub(super) fn check_seen(
    doc: &mut AutoCommit,
    taken: &[(&Written, bool)],
    after: &mut AfterCache,
) -> Result<(), (RunError, bool)> {
    let pool: HashMap<ChangeHash, &Written> = taken.iter().map(|(w, _)| (w.hash, *w)).collect();
    // The changes of `taken` by writer, to find the one an op id belongs to.
    let mut by_actor: HashMap<&ActorId, Vec<&Written>> = HashMap::new();
    for (w, _) in taken {
        by_actor.entry(&w.actor).or_default().push(w);
    }
    // Where each change's history reaches the document.
    let mut reaches: HashMap<ChangeHash, Rc<Vec<ChangeHash>>> = HashMap::new();
    // The searches up the changes' histories may visit this many changes in all: the
    // usual shapes need about one a change; a chain of 64,000 whose every change names
    // the first one's ops would need two billion (a 640-byte body stalled a relay).
    let steps = std::cell::Cell::new(SEARCH_STEPS_PER_CHANGE * taken.len() + SEARCH_STEPS_BASE);
    let mut searches = Searches::default();
    for (w, queued) in taken {
        let fault = |e| (e, *queued);
        let heads = reach(w, &pool, &reaches);
        reaches.insert(w.hash, heads.clone());
        let later = after.after(doc, &heads);
        let unseen_in_doc = |actor: &ActorId, hit: &dyn Fn(u64, &RangeInclusive<u64>) -> bool| {
            later.any(actor, hit)
        };
        let mut unseen_in_pool = |p: &Written| -> Result<bool, (RunError, bool)> {
            if p.hash == w.hash {
                return Ok(false);
            }
            searches
                .descends(w, &p.hash, &pool, &steps)
                .map(|found| !found)
                .ok_or_else(|| {
                    fault(RunError::TooTangled {
                        changes: taken.len(),
                    })
                })
        };
        if w.seq > 1 {
            let prev = w.seq - 1;
            let in_pool = by_actor
                .get(&w.actor)
                .and_then(|ws| ws.iter().find(|p| p.seq == prev));
            let skips = match in_pool {
                Some(p) => unseen_in_pool(p)?,
                None => unseen_in_doc(&w.actor, &|seq, _| seq == prev),
            };
            if skips {
                return Err(fault(RunError::SkipsOwnChange {
                    writer: w.actor.to_hex_string(),
                    seq: w.seq,
                }));
            }
        }
        for (ctr, actor) in &w.refs {
            let owner = by_actor
                .get(actor)
                .and_then(|ws| ws.iter().find(|p| (p.start_op..=p.max_op).contains(ctr)));
            let unseen = match owner {
                Some(p) => unseen_in_pool(p)?,
                None => unseen_in_doc(actor, &|_, ops| ops.contains(ctr)),
            };
            if unseen {
                return Err(fault(RunError::UnseenOp {
                    writer: w.actor.to_hex_string(),
                    seq: w.seq,
                    op: format!("{ctr}@{}", actor.to_hex_string()),
                }));
            }
        }
    }
    Ok(())
}

/// Where `w`'s history reaches the document: its dependencies outside `pool`, and those
/// of its dependencies in `pool` (taken before it, so already in `reaches`).
fn reach(
    w: &Written,
    pool: &HashMap<ChangeHash, &Written>,
    reaches: &HashMap<ChangeHash, Rc<Vec<ChangeHash>>>,
) -> Rc<Vec<ChangeHash>> {
    let mut from_pool = w.deps.iter().filter_map(|d| reaches.get(d));
    let outside = w.deps.iter().filter(|d| !pool.contains_key(*d));
    // The usual case, a chain: the one dependency's heads, shared.
    if w.deps.len() == 1
        && let Some(only) = from_pool.next()
    {
        return only.clone();
    }
    let mut heads: Vec<ChangeHash> = w
        .deps
        .iter()
        .filter_map(|d| reaches.get(d))
        .flat_map(|r| r.iter().copied())
        .chain(outside.copied())
        .collect();
    heads.sort_unstable();
    heads.dedup();
    Rc::new(heads)
}

/// What the searches of one check may visit: per change taken, and in any case.
const SEARCH_STEPS_PER_CHANGE: usize = 64;
const SEARCH_STEPS_BASE: usize = 1 << 16;

/// The searches of one check: a change named from far down its descendants has them
/// found once (a chain whose every change inserts into a list the first one made names
/// the first change 64,000 times).
#[derive(Default)]
struct Searches {
    /// The descendants, in the pool, of changes looked for more than once.
    descendants: HashMap<ChangeHash, HashSet<ChangeHash>>,
    /// The pool's changes by dependency, built on first need.
    children: Option<HashMap<ChangeHash, Vec<ChangeHash>>>,
}

impl Searches {
    /// Whether `target` is in `w`'s history within `pool`. `None` once `steps` are spent.
    fn descends(
        &mut self,
        w: &Written,
        target: &ChangeHash,
        pool: &HashMap<ChangeHash, &Written>,
        steps: &std::cell::Cell<usize>,
    ) -> Option<bool> {
        if let Some(below) = self.descendants.get(target) {
            return Some(below.contains(&w.hash));
        }
        // Most changes named are close by (a dependency, a few changes back): a short
        // search up finds them. A change named from far away has its descendants found
        // once, for every later change that names it.
        if let Some(found) = search_up(w, target, pool, NEAR, steps)? {
            return Some(found);
        }
        let children = self.children.get_or_insert_with(|| {
            let mut children: HashMap<ChangeHash, Vec<ChangeHash>> = HashMap::new();
            for (hash, p) in pool {
                for d in &p.deps {
                    children.entry(*d).or_default().push(*hash);
                }
            }
            children
        });
        let mut below = HashSet::new();
        let mut next = vec![*target];
        while let Some(h) = next.pop() {
            for c in children.get(&h).into_iter().flatten() {
                if below.insert(*c) {
                    steps.set(steps.get().checked_sub(1)?);
                    next.push(*c);
                }
            }
        }
        let found = below.contains(&w.hash);
        self.descendants.insert(*target, below);
        Some(found)
    }
}

/// How many changes a search up visits before the descendants of the change it looks
/// for are found instead.
const NEAR: usize = 32;

/// Whether `target` is in `w`'s history within `pool`: a search up its dependencies
/// that stops where it finds it, or (`Some(None)`) after visiting `near` changes.
/// `None` once `steps` are spent.
fn search_up(
    w: &Written,
    target: &ChangeHash,
    pool: &HashMap<ChangeHash, &Written>,
    near: usize,
    steps: &std::cell::Cell<usize>,
) -> Option<Option<bool>> {
    let mut seen: HashSet<ChangeHash> = HashSet::new();
    let mut next: Vec<ChangeHash> = w.deps.clone();
    while let Some(h) = next.pop() {
        if h == *target {
            return Some(Some(true));
        }
        if let Some(d) = pool.get(&h)
            && seen.insert(h)
        {
            if seen.len() > near {
                return Some(None);
            }
            steps.set(steps.get().checked_sub(1)?);
            next.extend(d.deps.iter().copied());
        }
    }
    Some(Some(false))
}
