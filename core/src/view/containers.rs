//! [`Containers`]: where a run document keeps its steps, grafts, prune marks and flags.

use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};

use crate::error::RunError;
use crate::record::keys;

/// The object ids of the four containers the genesis change creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Containers {
    pub steps: ObjId,
    pub grafts: ObjId,
    pub pruned: ObjId,
    pub flags: ObjId,
}

impl Containers {
    /// Finds the containers, or says which one is missing or of the wrong type.
    pub fn find(doc: &AutoCommit) -> Result<Self, RunError> {
        Ok(Self {
            steps: container(doc, keys::STEPS, ObjType::List)?,
            grafts: container(doc, keys::GRAFTS, ObjType::Map)?,
            pruned: container(doc, keys::PRUNED, ObjType::Map)?,
            flags: container(doc, keys::FLAGS, ObjType::Map)?,
        })
    }

    /// Whether a root key names one of the containers.
    pub fn is_container_key(key: &str) -> bool {
        matches!(key, keys::STEPS | keys::GRAFTS | keys::PRUNED | keys::FLAGS)
    }
}

fn container(doc: &AutoCommit, key: &str, expected: ObjType) -> Result<ObjId, RunError> {
    match doc.get(ROOT, key)? {
        Some((Value::Object(found), id)) if found == expected => Ok(id),
        Some((Value::Object(found), _)) => Err(RunError::NotARun(format!(
            "root key {key:?} is a {found:?}, expected a {expected:?}"
        ))),
        Some((Value::Scalar(v), _)) => Err(RunError::NotARun(format!(
            "root key {key:?} holds the scalar {v}, expected a {expected:?}"
        ))),
        None => Err(RunError::NotARun(format!("root key {key:?} is missing"))),
    }
}
