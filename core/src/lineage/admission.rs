//! What changes from outside may do to a document, checked before any is applied:
//! Automerge must know every actor they name and every object they write into, each
//! change's ops come after those of its dependencies, objects nest at most [`MAX_DEPTH`]
//! deep, a write leaves at most [`MAX_HEADS`] heads, and at most [`MAX_WAITING`] changes
//! wait for dependencies that have not come.
//!
//! Automerge applies the changes whose dependencies it holds, in the order they come,
//! queues the others, then applies each queued change that the new ones release, until
//! none is. The check replays that order on the changes' headers and the objects they
//! make, so a queued change is checked again when it would be released: a change forged
//! to wait on another writer's change passes when it is queued (its writer's first
//! change could still come first), and would panic Automerge when that change comes.
//! Such a change is dropped from the queue then (`queue.rs`), and the input that would
//! have released it applies alone.
//!
//! Why each limit:
//! - Writers and objects: Automerge 0.12 panics mid-apply on an actor it does not know
//!   (`insert_new_actors` in `op_set2/change/batch.rs` adds only the writers of seq-1
//!   changes applied together, then unwraps every look-up) and on an op in an object
//!   nobody made ("Missing from Index"), leaving the live document half-changed.
//! - Op order: Automerge's saves order ops by counter; a change whose ops do not come
//!   after its dependencies' gives a save that no replica can load.
//! - Depth: a change making thousands of maps one inside another has every replica that
//!   applies it build patches whose paths grow with the square of the depth (about 12 KB
//!   of input exhausted a 4 GiB relay). A run's own objects are 2 deep. Automerge takes
//!   all the objects of the changes it applies together before it links them, so the
//!   depth is reckoned over all of them at once, in whatever order they are made.
//! - Heads: each change-feed event names the heads after it, so thousands of concurrent
//!   changes sent at once made every event thousands of hashes long.
//! - Waiting: Automerge keeps queued changes in memory (and in saves) until released.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use automerge::{AutoCommit, ChangeHash, ReadDoc};

use super::after::AfterCache;
use super::queue;
use super::writers::{Obj, Written, knows};
use crate::error::RunError;

/// How deep objects may nest below the root.
pub const MAX_DEPTH: usize = 32;
/// The most heads a write may leave a document with (unless it had more before).
pub const MAX_HEADS: usize = 256;
/// The most changes that may wait in a document for missing dependencies.
pub const MAX_WAITING: usize = 256;
/// The most bytes those changes may take.
pub const MAX_WAITING_BYTES: usize = 8 << 20;
/// The most bytes a change may carry after its ops (Automerge writes an author footer
/// there, a few dozen bytes; one compressed change once carried 180 MB).
pub const MAX_EXTRA_BYTES: usize = 4096;

/// Refuses `input` (the changes of one input, in the order it carries them) if applying
/// it to `doc` would break a rule above. Nothing of the input is applied; `doc` changes
/// only by losing queued changes that the input would release and that break a rule.
pub(crate) fn admit(input: &[Written], doc: &mut AutoCommit) -> Result<(), RunError> {
    admit_with(input, doc, Rules::All, &mut AfterCache::default())
}

/// [`admit`], with the changes after earlier senders' heads kept in `after` from one
/// input to the next (what a document that takes many inputs uses: `after.rs`).
pub(crate) fn admit_kept(
    input: &[Written],
    doc: &mut AutoCommit,
    after: &mut AfterCache,
) -> Result<(), RunError> {
    admit_with(input, doc, Rules::All, after)
}

/// Refuses `input` if loading it into a new document would meet an actor Automerge does
/// not know (it panics then, which a wasm build cannot catch). The other rules are for
/// what comes from outside into a held document, not for loading what was stored.
#[cfg(any(not(target_arch = "wasm32"), feature = "wasm"))]
pub(crate) fn admit_writers(input: &[Written]) -> Result<(), RunError> {
    admit_with(
        input,
        &mut AutoCommit::new(),
        Rules::Writers,
        &mut AfterCache::default(),
    )
}

/// Which rules a check applies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rules {
    All,
    Writers,
}

fn admit_with(
    input: &[Written],
    doc: &mut AutoCommit,
    rules: Rules,
    after: &mut AfterCache,
) -> Result<(), RunError> {
    if input.is_empty() {
        return Ok(());
    }
    let missing: HashSet<ChangeHash> = doc.get_missing_deps(&[]).into_iter().collect();
    let releases = input.iter().any(|w| missing.contains(&w.hash));
    let queued = if releases || waits(input, doc) {
        queue::queued(doc)?
    } else {
        Vec::new()
    };
    match check(input, &queued, doc, rules, after) {
        Err(Fault::Queued(_)) => {
            queue::drop_queued(doc)?;
            check(input, &[], doc, rules, after).map_err(Fault::into_error)
        }
        other => other.map_err(Fault::into_error),
    }
}

/// Which part of the changes broke a rule.
enum Fault {
    /// One of the input's own changes: the input is refused.
    Input(RunError),
    /// A queued change the input would release.
    Queued(RunError),
}

impl Fault {
    fn into_error(self) -> RunError {
        match self {
            Self::Input(e) | Self::Queued(e) => e,
        }
    }
}

fn fault(e: RunError, queued: bool) -> Fault {
    if queued {
        Fault::Queued(e)
    } else {
        Fault::Input(e)
    }
}

/// Whether some change of `input` would wait (its dependencies are neither in `doc` nor
/// in `input`).
fn waits(input: &[Written], doc: &mut AutoCommit) -> bool {
    let carried: HashSet<&ChangeHash> = input.iter().map(|w| &w.hash).collect();
    input.iter().any(|w| {
        w.deps
            .iter()
            .any(|d| !carried.contains(d) && doc.get_change_meta_by_hash(d).is_none())
    })
}

fn check(
    input: &[Written],
    queued: &[Written],
    doc: &mut AutoCommit,
    rules: Rules,
    after: &mut AfterCache,
) -> Result<(), Fault> {
    let mut pass = Pass {
        doc,
        after,
        here: HashSet::new(),
        fresh: HashSet::new(),
        taken: Vec::new(),
        depths: HashMap::new(),
        covered: HashSet::new(),
    };
    let mut pending: Vec<(&Written, bool)> = Vec::new();
    for w in input {
        if pass.ready(w) {
            pass.take(w, false).map_err(Fault::Input)?;
        } else {
            pending.push((w, false));
        }
    }
    pending.extend(queued.iter().map(|w| (w, true)));
    // The changes that wait, released as what they wait for is taken: each is looked at
    // once per dependency, not once per change taken (inputs in reverse order).
    // (The first in order among those ready goes first, as before.)
    let mut waiting_on: HashMap<ChangeHash, Vec<usize>> = HashMap::new();
    let mut ready: BinaryHeap<Reverse<usize>> = BinaryHeap::new();
    for (i, (w, _)) in pending.iter().enumerate() {
        if pass.ready(w) {
            ready.push(Reverse(i));
        } else {
            for d in &w.deps {
                waiting_on.entry(*d).or_default().push(i);
            }
        }
    }
    let mut done = vec![false; pending.len()];
    while let Some(Reverse(i)) = ready.pop() {
        let (w, was_queued) = pending[i];
        if done[i] || !pass.ready(w) {
            continue;
        }
        done[i] = true;
        pass.take(w, was_queued).map_err(|e| fault(e, was_queued))?;
        ready.extend(
            waiting_on
                .remove(&w.hash)
                .into_iter()
                .flatten()
                .map(Reverse),
        );
    }
    let pending: Vec<(&Written, bool)> = pending
        .into_iter()
        .zip(done)
        .filter_map(|(p, done)| (!done).then_some(p))
        .collect();
    if rules == Rules::Writers {
        return Ok(());
    }
    pass.shape()?;
    let adds_waiting = pending.iter().any(|(_, q)| !q);
    let bytes: usize = pending.iter().map(|(w, _)| w.len).sum();
    if adds_waiting && (pending.len() > MAX_WAITING || bytes > MAX_WAITING_BYTES) {
        return Err(Fault::Input(RunError::TooManyWaiting {
            changes: pending.len(),
            bytes,
            limit: MAX_WAITING,
            limit_bytes: MAX_WAITING_BYTES,
        }));
    }
    pass.heads().map_err(Fault::Input)
}

/// The changes taken so far, as Automerge would apply them.
struct Pass<'a, 'w> {
    doc: &'a mut AutoCommit,
    /// The document's changes after senders' heads, kept between checks.
    after: &'a mut AfterCache,
    here: HashSet<ChangeHash>,
    /// The changes taken, in order, and whether each was queued.
    taken: Vec<(&'w Written, bool)>,
    /// Writers whose change 1 was taken.
    fresh: HashSet<automerge::ActorId>,
    /// Depths of the document's objects looked up so far (`None`: no such object).
    depths: HashMap<Obj, Option<usize>>,
    /// Dependencies of the changes taken: no longer heads.
    covered: HashSet<ChangeHash>,
}

impl<'w> Pass<'_, 'w> {
    fn ready(&mut self, w: &Written) -> bool {
        !self.here.contains(&w.hash)
            && w.deps
                .iter()
                .all(|d| self.here.contains(d) || self.doc.get_change_meta_by_hash(d).is_some())
    }

    fn take(&mut self, w: &'w Written, queued: bool) -> Result<(), RunError> {
        if self.doc.get_change_meta_by_hash(&w.hash).is_some() {
            return Ok(()); // held already: Automerge skips it
        }
        let fresh = &self.fresh;
        let doc = &mut *self.doc;
        let mut known = |a: &automerge::ActorId| fresh.contains(a) || knows(doc, a);
        if !(w.seq == 1 || known(&w.actor)) {
            return Err(RunError::UnknownWriter {
                actor: w.actor.to_hex_string(),
                seq: w.seq,
            });
        }
        let unsupported = if w.marks {
            Some("mark ops (rich-text formatting; no run writes them)".to_owned())
        } else if w.extra > MAX_EXTRA_BYTES {
            Some(format!(
                "{} bytes after its ops, more than the {MAX_EXTRA_BYTES} Automerge's own footers need",
                w.extra
            ))
        } else {
            None
        };
        if let Some(what) = unsupported {
            return Err(RunError::Unsupported {
                writer: w.actor.to_hex_string(),
                seq: w.seq,
                what,
            });
        }
        if let Some(other) = w.others.iter().find(|a| **a != w.actor && !known(a)) {
            return Err(RunError::UnknownActor {
                actor: other.to_hex_string(),
                writer: w.actor.to_hex_string(),
                seq: w.seq,
            });
        }
        self.here.insert(w.hash);
        self.taken.push((w, queued));
        self.covered.extend(w.deps.iter().copied());
        if w.seq == 1 {
            self.fresh.insert(w.actor.clone());
        }
        Ok(())
    }

    /// Checks the changes taken, all at once as Automerge applies them: each one's ops
    /// come after its dependencies', each object it writes into exists (in the document
    /// or made by one of them), and no object lies deeper than [`MAX_DEPTH`].
    fn shape(&mut self) -> Result<(), Fault> {
        let taken = std::mem::take(&mut self.taken);
        super::seen::check_seen(self.doc, &taken, self.after)
            .map_err(|(e, queued)| fault(e, queued))?;
        let mut made: HashMap<&Obj, (Option<&Obj>, usize)> = HashMap::new();
        let mut max_ops: HashMap<ChangeHash, u64> = HashMap::new();
        for (i, (w, _)) in taken.iter().enumerate() {
            max_ops.insert(w.hash, w.max_op);
            for m in &w.made {
                made.insert(&m.id, (m.parent.as_ref(), i));
            }
        }
        for (w, queued) in &taken {
            // Automerge starts a change right after its dependencies' ops: no overlap,
            // and no gap (a change without ops starting later saves, but does not load).
            let mut deps_max = Some(0);
            for d in &w.deps {
                let dep_max = match max_ops.get(d) {
                    Some(m) => Some(*m),
                    None => self.doc.get_change_meta_by_hash(d).map(|m| m.max_op),
                };
                if let Some(dep_max_op) = dep_max.filter(|m| *m >= w.start_op) {
                    let e = RunError::OpsOutOfOrder {
                        writer: w.actor.to_hex_string(),
                        seq: w.seq,
                        start_op: w.start_op,
                        dep_max_op,
                    };
                    return Err(fault(e, *queued));
                }
                deps_max = deps_max.zip(dep_max).map(|(a, b)| a.max(b));
            }
            if let Some(dep_max_op) = deps_max.filter(|m| w.start_op != m + 1) {
                let e = RunError::OpsSkipped {
                    writer: w.actor.to_hex_string(),
                    seq: w.seq,
                    start_op: w.start_op,
                    dep_max_op,
                };
                return Err(fault(e, *queued));
            }
            for obj in &w.uses {
                if !made.contains_key(obj) && self.in_doc(obj).is_none() {
                    let e = RunError::UnknownObject {
                        writer: w.actor.to_hex_string(),
                        seq: w.seq,
                        object: format!("{}@{}", obj.0, obj.1.to_hex_string()),
                    };
                    return Err(fault(e, *queued));
                }
            }
        }
        // Each made object's depth: up its parents through the objects made, to one the
        // document holds (or the root), at most one step past the limit.
        for (obj, (_, at)) in &made {
            let mut depth = 1;
            let mut parent = made[obj].0;
            while let Some(p) = parent {
                if depth > MAX_DEPTH {
                    break;
                }
                match made.get(p) {
                    Some((up, _)) => {
                        depth += 1;
                        parent = *up;
                    }
                    None => {
                        depth += self.in_doc(p).unwrap_or(0);
                        parent = None;
                    }
                }
            }
            if depth > MAX_DEPTH {
                let (w, queued) = taken[*at];
                let e = RunError::TooDeep {
                    writer: w.actor.to_hex_string(),
                    seq: w.seq,
                    limit: MAX_DEPTH,
                };
                return Err(fault(e, queued));
            }
        }
        Ok(())
    }

    /// How deep `obj` lies below the root in the document (counted up to one past the
    /// limit), or `None` if the document has no such object.
    fn in_doc(&mut self, obj: &Obj) -> Option<usize> {
        if let Some(d) = self.depths.get(obj) {
            return *d;
        }
        let id = format!("{}@{}", obj.0, obj.1.to_hex_string());
        let depth = match self.doc.document().import_obj(&id) {
            Ok(exid) if self.doc.object_type(&exid).is_ok() => self
                .doc
                .parents(&exid)
                .ok()
                .map(|p| p.take(MAX_DEPTH + 1).count()),
            _ => None,
        };
        self.depths.insert(obj.clone(), depth);
        depth
    }

    /// Refuses the changes taken if they leave more heads than [`MAX_HEADS`] (and more
    /// than the document had).
    fn heads(&mut self) -> Result<(), RunError> {
        if self.here.is_empty() {
            return Ok(());
        }
        let before = self.doc.get_heads();
        let after = before
            .iter()
            .chain(&self.here)
            .filter(|h| !self.covered.contains(h))
            .collect::<HashSet<_>>()
            .len();
        if after > MAX_HEADS && after > before.len() {
            return Err(RunError::TooManyHeads {
                heads: after,
                limit: MAX_HEADS,
            });
        }
        Ok(())
    }
}
