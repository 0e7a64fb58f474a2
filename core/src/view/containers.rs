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
        let buckets = (0..GRAFT_BUCKETS)
            .map(|b| container(doc, &grafts, &bucket_key(b), ObjType::Map))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            steps: container(doc, &ROOT, keys::STEPS, ObjType::List)?,
            grafts,
            buckets,
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
    let key_path = if *parent == ROOT {
        key.to_owned()
    } else {
        format!("grafts/{key}")
    };
    let key = &key_path[key_path.rfind('/').map_or(0, |i| i + 1)..];
    match doc.get(parent, key)? {
        Some((Value::Object(found), id)) if found == expected => Ok(id),
        Some((Value::Object(found), _)) => Err(RunError::NotARun(format!(
            "{key_path:?} is a {found:?}, expected a {expected:?}"
        ))),
        Some((scalar @ Value::Scalar(_), _)) => Err(RunError::NotARun(format!(
            "{key_path:?} holds {}, expected a {expected:?}",
            described(&scalar)
        ))),
        None => Err(RunError::NotARun(format!("{key_path:?} is missing"))),
    }
}
