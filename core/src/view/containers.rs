//! [`Containers`]: where a run document keeps its steps, grafts, prune marks and flags.

use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};

use crate::error::RunError;
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
    /// Finds the containers, or says which one is missing or of the wrong type.
    pub fn find(doc: &AutoCommit) -> Result<Self, RunError> {
        let grafts = container(doc, &ROOT, keys::GRAFTS, ObjType::Map)?;
        Ok(Self {
            buckets: buckets(doc, &grafts)?,
            steps: container(doc, &ROOT, keys::STEPS, ObjType::List)?,
            grafts,
            pruned: container(doc, &ROOT, keys::PRUNED, ObjType::Map)?,
            flags: container(doc, &ROOT, keys::FLAGS, ObjType::Map)?,
        })
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

fn container(
    doc: &AutoCommit,
    parent: &ObjId,
    key: &str,
    expected: ObjType,
) -> Result<ObjId, RunError> {
    judged(key, doc.get(parent, key)?, expected)
}

/// The bucket maps under `grafts`, read in one pass over it: a lookup by key is a seek
/// through the document's operations, and a run has 64 buckets. The first bucket, in
/// order, that is missing or not a map is the one named.
fn buckets(doc: &AutoCommit, grafts: &ObjId) -> Result<Vec<ObjId>, RunError> {
    let mut found: Vec<Option<(Value<'static>, ObjId)>> = vec![None; GRAFT_BUCKETS];
    for item in doc.map_range(grafts, ..) {
        if let Some(bucket) = bucket_number(&item.key) {
            let id = item.id();
            found[bucket] = Some((Value::from(item.value).into_owned(), id));
        }
    }
    found
        .into_iter()
        .enumerate()
        .map(|(bucket, value)| {
            judged(
                &format!("grafts/{}", bucket_key(bucket)),
                value,
                ObjType::Map,
            )
        })
        .collect()
}

/// The bucket a key of `grafts` names, if it names one (`00` … `3f`).
fn bucket_number(key: &str) -> Option<usize> {
    let number = usize::from(u8::from_str_radix(key, 16).ok()?);
    (number < GRAFT_BUCKETS && bucket_key(number) == key).then_some(number)
}

/// The container found at `path`, or why what is there is not one.
fn judged(
    path: &str,
    found: Option<(Value<'_>, ObjId)>,
    expected: ObjType,
) -> Result<ObjId, RunError> {
    match found {
        Some((Value::Object(kind), id)) if kind == expected => Ok(id),
        Some((Value::Object(kind), _)) => Err(RunError::NotARun(format!(
            "{path:?} is a {kind:?}, expected a {expected:?}"
        ))),
        Some((scalar @ Value::Scalar(_), _)) => Err(RunError::NotARun(format!(
            "{path:?} holds {}, expected a {expected:?}",
            described(&scalar)
        ))),
        None => Err(RunError::NotARun(format!("{path:?} is missing"))),
    }
}

#[cfg(test)]
mod tests;
