//! Reading one record of the run into the view's model: a step, a graft, a prune
//! mark. A record some other writer left in a shape we do not understand is an error
//! that names it (the index lists it in `issues`), never a panic.

use std::borrow::Cow;

use automerge::{ObjId, Value};
use rustc_hash::FxHashMap;

use crate::id::NodeId;
use crate::record::{GraftRecord, PruneRecord, keys};
use crate::text::shown;
use crate::view::described::described;
use crate::view::model::{Graft, PruneMark, Retraction, Step};
use crate::view::names::{Field, Names};
use crate::view::reader::Reader;
use crate::view::siblings::Sibling;

pub(super) fn read_step<'a>(
    doc: impl Reader<'a>,
    value: &Value<'_>,
    obj: ObjId,
) -> Result<Step, String> {
    if !matches!(value, Value::Object(automerge::ObjType::Map)) {
        return Err(format!("step is {}, expected a map", described(value)));
    }
    let text = |key: &str| -> Option<String> {
        doc.get(&obj, key)
            .ok()
            .flatten()
            .and_then(|(v, _)| v.as_str().map(|s| shown(s).into_owned()))
    };
    let id = text(keys::STEP_ID).ok_or("step has no text \"id\"")?;
    let id = id.parse::<NodeId>().map_err(|e| format!("step id: {e}"))?;
    let name = text(keys::STEP_NAME).unwrap_or_else(|| id.to_string());
    Ok(Step {
        id,
        name,
        agent: text(keys::STEP_AGENT),
    })
}

/// The index's copy of node id `text` if it holds one (as an anchor or a graft): ids are
/// shared, not allocated again for every graft that names them.
pub(super) fn shared_id(
    anchors: &FxHashMap<NodeId, Vec<Sibling>>,
    grafts: &FxHashMap<NodeId, Graft>,
    text: &str,
) -> Option<NodeId> {
    anchors
        .get_key_value(text)
        .map(|(id, _)| id)
        .or_else(|| grafts.get_key_value(text).map(|(id, _)| id))
        .cloned()
}

/// Reads a graft record. `known` gives the index's copy of an anchor's id, if any.
pub(super) fn read_graft(
    key: &str,
    text: Result<&str, String>,
    names: &mut Names,
    known: impl FnOnce(&str) -> Option<NodeId>,
) -> Result<Graft, String> {
    let id = key
        .parse::<NodeId>()
        .map_err(|e| format!("graft key: {e}"))?;
    let text = text.map_err(|value| format!("graft {key:?} is {value}, expected a JSON string"))?;
    let record = GraftRecord::parse(text)
        .map_err(|e| format!("graft {key:?} is not a graft record: {e}"))?;
    let after = match known(&record.after) {
        Some(after) => after,
        None => {
            NodeId::try_from(&*record.after).map_err(|e| format!("graft {key:?} anchor: {e}"))?
        }
    };
    if after == id {
        return Err(format!("graft {key:?} is anchored to itself"));
    }
    if record.agent_name.trim().is_empty() {
        return Err(format!("graft {key:?} has an empty agent name"));
    }
    Ok(Graft {
        id,
        after,
        agent_name: match shown(&record.agent_name) {
            Cow::Borrowed(_) => record.agent_name.into_owned(),
            Cow::Owned(escaped) => escaped,
        },
        by: names.intern(Field::User, &shown(&record.by)),
        region: names.intern(Field::Region, &shown(&record.region)),
        lamport: record.lamport,
        at: record.at,
        retracted: record.retracted.map(|r| Retraction {
            by: shown(&r.by).into_owned(),
            region: shown(&r.region).into_owned(),
            at: r.at,
        }),
    })
}

pub(super) fn read_prune(key: &str, value: &Value<'_>) -> Result<PruneMark, String> {
    let id = key
        .parse::<NodeId>()
        .map_err(|e| format!("pruned key: {e}"))?;
    let text = value.as_str().ok_or_else(|| {
        format!(
            "prune mark {key:?} is {}, expected a JSON string",
            described(value)
        )
    })?;
    let record: PruneRecord<'_> = serde_json::from_str(text)
        .map_err(|e| format!("prune mark {key:?} is not a prune record: {e}"))?;
    Ok(PruneMark {
        id,
        by: shown(&record.by).into_owned(),
        region: shown(&record.region).into_owned(),
        lamport: record.lamport,
        at: record.at,
    })
}
