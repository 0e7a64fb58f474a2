//! [`Containers`]: where a run document keeps its steps, grafts, prune marks and flags.
//!
//! They are the objects the genesis change made, read by their ids (counter and the
//! genesis actor, the same in every run), never by where a root key points now: any
//! writer can put something else under `grafts` or `steps`, and a view that followed the
//! key would lose the run (or, as before, refuse it). A key that no longer leads to its
//! container is reported in the view's `issues`.

use automerge::{ActorId, AutoCommit, ObjId, ROOT, ReadDoc, Value};

use crate::error::RunError;
use crate::genesis::GENESIS_ACTOR;
use crate::lineage::holds_genesis;
use crate::record::{GRAFT_BUCKETS, bucket_key, keys};
use crate::view::described::described;

/// The object ids of the containers the genesis change creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Containers {
    pub steps: ObjId,
    pub grafts: ObjId,
    /// The graft bucket maps, by bucket number.
    pub buckets: Vec<ObjId>,
    pub pruned: ObjId,
    pub flags: ObjId,
}

impl Containers {
    /// The containers of every run. The genesis makes `steps`, `grafts`, the buckets in
    /// order, `pruned` and `flags`, as its operations 1, 2, 3…66, 67 and 68 (a test
    /// checks this against the genesis). The actor index is a hint Automerge corrects.
    pub fn genesis() -> Self {
        let actor = ActorId::from(&GENESIS_ACTOR[..]);
        let id = |counter: usize| ObjId::Id(counter as u64, actor.clone(), 0);
        Self {
            steps: id(1),
            grafts: id(2),
            buckets: (0..GRAFT_BUCKETS).map(|bucket| id(3 + bucket)).collect(),
            pruned: id(3 + GRAFT_BUCKETS),
            flags: id(4 + GRAFT_BUCKETS),
        }
    }

    /// The containers, if `doc` holds a run (its genesis change).
    pub fn find(doc: &mut AutoCommit) -> Result<Self, RunError> {
        if holds_genesis(doc) {
            Ok(Self::genesis())
        } else {
            Err(RunError::NotARun(
                "it does not hold the genesis change every run starts from".into(),
            ))
        }
    }

    /// The keys that no longer lead to their container (some writer replaced or removed
    /// them), each with what it holds instead. Automerge sends no patches for an object
    /// no key leads to, so a view with any of these is read again after every change.
    pub fn detached(&self, doc: &AutoCommit) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for (key, id, kind) in [
            (keys::STEPS, &self.steps, "list"),
            (keys::GRAFTS, &self.grafts, "map"),
            (keys::PRUNED, &self.pruned, "map"),
            (keys::FLAGS, &self.flags, "map"),
        ] {
            let now = doc.get(ROOT, key).ok().flatten();
            if let Some(what) = replaced(now, id) {
                found.push((key.to_owned(), why(key, kind, &what)));
            }
        }
        let mut seen = [false; GRAFT_BUCKETS];
        for item in doc.map_range(&self.grafts, ..) {
            let Some(bucket) = bucket_number(&item.key) else {
                continue;
            };
            seen[bucket] = true;
            let id = item.id();
            let now = Some((Value::from(item.value).into_owned(), id));
            if let Some(what) = replaced(now, &self.buckets[bucket]) {
                let at = format!("grafts/{}", item.key);
                found.push((at.clone(), why(&at, "map", &what)));
            }
        }
        for (bucket, _) in seen.iter().enumerate().filter(|(_, seen)| !**seen) {
            let at = format!("grafts/{}", bucket_key(bucket));
            found.push((at.clone(), why(&at, "map", "nothing")));
        }
        found
    }

    /// Which graft bucket `obj` is, if it is one.
    pub fn bucket_of(&self, obj: &ObjId) -> Option<usize> {
        self.buckets.iter().position(|b| b == obj)
    }

    /// Whether a root key names one of the containers.
    pub fn is_container_key(key: &str) -> bool {
        matches!(key, keys::STEPS | keys::GRAFTS | keys::PRUNED | keys::FLAGS)
    }
}

/// What a key holds instead of the container `id`, if it does not lead to it.
fn replaced(now: Option<(Value<'_>, ObjId)>, id: &ObjId) -> Option<String> {
    match now {
        Some((Value::Object(_), found)) if found == *id => None,
        Some((Value::Object(kind), found)) => {
            Some(format!("{} ({found})", described(&Value::Object(kind))))
        }
        Some((scalar, _)) => Some(described(&scalar)),
        None => Some("nothing".into()),
    }
}

fn why(at: &str, kind: &str, what: &str) -> String {
    format!(
        "{at:?} holds {what}, not the run's {kind}; the run's own {kind} (made by its \
         genesis) is read instead"
    )
}

/// The bucket a key of `grafts` names, if it names one (`00` … `3f`).
fn bucket_number(key: &str) -> Option<usize> {
    let number = usize::from(u8::from_str_radix(key, 16).ok()?);
    (number < GRAFT_BUCKETS && bucket_key(number) == key).then_some(number)
}

#[cfg(test)]
mod tests;
