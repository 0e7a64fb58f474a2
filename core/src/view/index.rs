//! [`ViewIndex`]: the materialised run, kept up to date from Automerge patches.
//!
//! Loading reads the whole document once; after that every change (local or remote)
//! arrives as patches and touches only the entries it names, so the cost of a change does
//! not grow with the size of the run. Data that some other client wrote in a shape we do
//! not understand is skipped and listed in `issues`, never a panic.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::{AutoCommit, ObjId, Patch, PatchAction, ROOT, ReadDoc, Value};

use crate::error::RunError;
use crate::flag::FlagValue;
use crate::id::NodeId;
use crate::record::{GraftRecord, PruneRecord, keys};
use crate::view::containers::Containers;
use crate::view::model::{Graft, PruneMark, SortKey, Step};

/// The run as of the document's current heads, indexed for cheap updates.
#[derive(Clone, Debug, Default)]
pub(crate) struct ViewIndex {
    pub title: String,
    pub steps: Vec<Step>,
    pub grafts: HashMap<NodeId, Graft>,
    /// anchor id → the grafts after it, in pipeline order.
    pub children: HashMap<NodeId, BTreeSet<SortKey>>,
    pub pruned: BTreeMap<NodeId, PruneMark>,
    /// key → values, the winning value first, then any concurrent ones.
    pub flags: BTreeMap<String, Vec<FlagValue>>,
    /// Data skipped because it was malformed, keyed by where it sits.
    pub issues: BTreeMap<String, String>,
    /// The largest lamport timestamp of any graft or prune mark.
    pub lamport: u64,
}

/// What the caller must do after patches were applied.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Applied {
    /// The index is up to date.
    Done,
    /// A container itself was replaced (some other client rewrote a root key): re-read all.
    Rebuild,
}

impl ViewIndex {
    /// Reads the whole document.
    pub fn build(doc: &AutoCommit, c: &Containers) -> Result<Self, RunError> {
        let mut index = Self::default();
        index.reload_title(doc);
        index.reload_steps(doc, c);
        for item in doc.map_range(&c.grafts, ..) {
            let value: Value<'_> = item.value.into();
            index.put_graft(&item.key, &value);
        }
        for item in doc.map_range(&c.pruned, ..) {
            let value: Value<'_> = item.value.into();
            index.put_prune(&item.key, &value);
        }
        let flag_keys: Vec<String> = doc.keys(&c.flags).collect();
        for key in flag_keys {
            index.reload_flag(doc, c, &key);
        }
        Ok(index)
    }

    /// Applies the patches of one or more changes.
    pub fn apply(&mut self, doc: &AutoCommit, c: &Containers, patches: &[Patch]) -> Applied {
        let mut steps_dirty = false;
        for patch in patches {
            if patch.obj == c.grafts {
                match &patch.action {
                    PatchAction::PutMap { key, value, .. } => self.put_graft(key, &value.0),
                    PatchAction::DeleteMap { key } => self.remove_graft(key),
                    _ => {}
                }
            } else if patch.obj == c.pruned {
                match &patch.action {
                    PatchAction::PutMap { key, value, .. } => self.put_prune(key, &value.0),
                    PatchAction::DeleteMap { key } => self.remove_prune(key),
                    _ => {}
                }
            } else if patch.obj == c.flags {
                match &patch.action {
                    PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
                        self.reload_flag(doc, c, key)
                    }
                    PatchAction::Conflict { prop } => self.reload_flag(doc, c, &prop.to_string()),
                    _ => {}
                }
            } else if patch.obj == ROOT {
                match &patch.action {
                    PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key }
                        if Containers::is_container_key(key) =>
                    {
                        return Applied::Rebuild;
                    }
                    PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key }
                        if key == keys::TITLE =>
                    {
                        self.reload_title(doc)
                    }
                    _ => {}
                }
            } else if patch.obj == c.steps || patch.path.iter().any(|(o, _)| *o == c.steps) {
                steps_dirty = true;
            }
        }
        if steps_dirty {
            self.reload_steps(doc, c);
        }
        Applied::Done
    }

    fn reload_title(&mut self, doc: &AutoCommit) {
        self.issues.remove("title");
        self.title = match doc.get(ROOT, keys::TITLE) {
            Ok(Some((v, _))) => match v.as_str() {
                Some(s) => s.to_owned(),
                None => {
                    self.issues
                        .insert("title".into(), format!("title is {v}, expected text"));
                    String::new()
                }
            },
            _ => String::new(),
        };
    }

    fn reload_steps(&mut self, doc: &AutoCommit, c: &Containers) {
        self.issues.retain(|k, _| !k.starts_with("steps/"));
        self.steps.clear();
        let mut seen = BTreeSet::new();
        for item in doc.list_range(&c.steps, ..) {
            let at = format!("steps/{}", item.index);
            let obj = item.id();
            let value: Value<'_> = item.value.into();
            match read_step(doc, &value, obj) {
                Ok(step) if seen.insert(step.id.clone()) => self.steps.push(step),
                Ok(step) => {
                    self.issues
                        .insert(at, format!("step id {:?} appears twice", step.id.as_str()));
                }
                Err(why) => {
                    self.issues.insert(at, why);
                }
            }
        }
    }

    fn put_graft(&mut self, key: &str, value: &Value<'_>) {
        self.remove_graft(key);
        let at = format!("grafts/{key}");
        match read_graft(key, value) {
            Ok(graft) => {
                self.lamport = self.lamport.max(graft.lamport);
                self.children
                    .entry(graft.after.clone())
                    .or_default()
                    .insert(graft.sort_key());
                self.grafts.insert(graft.id.clone(), graft);
            }
            Err(why) => {
                self.issues.insert(at, why);
            }
        }
    }

    fn remove_graft(&mut self, key: &str) {
        self.issues.remove(&format!("grafts/{key}"));
        let Ok(id) = key.parse::<NodeId>() else {
            return;
        };
        if let Some(old) = self.grafts.remove(&id) {
            if let Some(siblings) = self.children.get_mut(&old.after) {
                siblings.remove(&old.sort_key());
                if siblings.is_empty() {
                    self.children.remove(&old.after);
                }
            }
        }
    }

    fn put_prune(&mut self, key: &str, value: &Value<'_>) {
        self.remove_prune(key);
        match read_prune(key, value) {
            Ok(mark) => {
                self.lamport = self.lamport.max(mark.lamport);
                self.pruned.insert(mark.id.clone(), mark);
            }
            Err(why) => {
                self.issues.insert(format!("pruned/{key}"), why);
            }
        }
    }

    fn remove_prune(&mut self, key: &str) {
        self.issues.remove(&format!("pruned/{key}"));
        if let Ok(id) = key.parse::<NodeId>() {
            self.pruned.remove(&id);
        }
    }

    fn reload_flag(&mut self, doc: &AutoCommit, c: &Containers, key: &str) {
        let at = format!("flags/{key}");
        self.issues.remove(&at);
        self.flags.remove(key);
        let winner = doc.get(&c.flags, key).ok().flatten();
        let all = doc.get_all(&c.flags, key).unwrap_or_default();
        let Some((winner, winner_id)) = winner else {
            return;
        };
        let mut values = Vec::with_capacity(all.len());
        let mut bad = Vec::new();
        let ordered = std::iter::once((winner, winner_id.clone()))
            .chain(all.into_iter().filter(|(_, id)| *id != winner_id));
        for (value, _) in ordered {
            match value.as_scalar().and_then(FlagValue::from_scalar) {
                Some(flag) => values.push(flag),
                None => bad.push(value.to_string()),
            }
        }
        if !bad.is_empty() {
            self.issues.insert(
                at,
                format!(
                    "flag {key:?} holds values that are not JSON scalars: {}",
                    bad.join(", ")
                ),
            );
        }
        if !values.is_empty() {
            self.flags.insert(key.to_owned(), values);
        }
    }
}

fn read_step(doc: &AutoCommit, value: &Value<'_>, obj: ObjId) -> Result<Step, String> {
    if !matches!(value, Value::Object(automerge::ObjType::Map)) {
        return Err(format!("step is {value}, expected a map"));
    }
    let text = |key: &str| -> Option<String> {
        doc.get(&obj, key)
            .ok()
            .flatten()
            .and_then(|(v, _)| v.as_str().map(str::to_owned))
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

fn read_graft(key: &str, value: &Value<'_>) -> Result<Graft, String> {
    let id = key
        .parse::<NodeId>()
        .map_err(|e| format!("graft key: {e}"))?;
    let text = value
        .as_str()
        .ok_or_else(|| format!("graft {key:?} is {value}, expected a JSON string"))?;
    let record: GraftRecord = serde_json::from_str(text)
        .map_err(|e| format!("graft {key:?} is not a graft record: {e}"))?;
    let after = record
        .after
        .parse::<NodeId>()
        .map_err(|e| format!("graft {key:?} anchor: {e}"))?;
    if after == id {
        return Err(format!("graft {key:?} is anchored to itself"));
    }
    if record.agent_name.trim().is_empty() {
        return Err(format!("graft {key:?} has an empty agent name"));
    }
    Ok(Graft {
        id,
        after,
        agent_name: record.agent_name,
        by: record.by,
        region: record.region,
        lamport: record.lamport,
        at: record.at,
    })
}

fn read_prune(key: &str, value: &Value<'_>) -> Result<PruneMark, String> {
    let id = key
        .parse::<NodeId>()
        .map_err(|e| format!("pruned key: {e}"))?;
    let text = value
        .as_str()
        .ok_or_else(|| format!("prune mark {key:?} is {value}, expected a JSON string"))?;
    let record: PruneRecord = serde_json::from_str(text)
        .map_err(|e| format!("prune mark {key:?} is not a prune record: {e}"))?;
    Ok(PruneMark {
        id,
        by: record.by,
        region: record.region,
        lamport: record.lamport,
        at: record.at,
    })
}
