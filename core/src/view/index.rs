//! [`ViewIndex`]: the materialised run, kept up to date from Automerge patches.
//!
//! Loading reads the whole document once; after that every change (local or remote)
//! arrives as patches and touches only the entries it names, so the cost of a change does
//! not grow with the size of the run. Data that some other client wrote in a shape we do
//! not understand is skipped and listed in `issues`, never a panic.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use automerge::{AutoCommit, Patch, PatchAction, ROOT, ReadDoc, ScalarValueRef, Value, ValueRef};

use crate::flag::FlagValue;
use crate::id::NodeId;
use crate::record::{bucket_key, keys};
use crate::text::shown;
use crate::view::containers::Containers;
use crate::view::described::described;
use crate::view::model::{Graft, PruneMark, Step};
use crate::view::names::Names;
use crate::view::reader::{Now, Reader};
use crate::view::records::{read_graft, read_prune, read_step, shared_id};
use crate::view::siblings::{Sibling, order};
use crate::view::touched::Touched;

/// The run as of the document's current heads, indexed for cheap updates.
#[derive(Clone, Debug, Default)]
pub(crate) struct ViewIndex {
    pub title: String,
    pub steps: Vec<Step>,
    pub grafts: FxHashMap<NodeId, Graft>,
    /// anchor id → the grafts after it, in pipeline order ([`order`]; no repeats). A
    /// sorted Vec rather than a set: a full read sorts each once, and a new graft, whose
    /// lamport is the largest its writer has seen, lands at or near the end of its siblings.
    pub children: FxHashMap<NodeId, Vec<Sibling>>,
    names: Names,
    pub pruned: BTreeMap<NodeId, PruneMark>,
    /// key → values, the winning value first, then any concurrent ones.
    pub flags: BTreeMap<String, Vec<FlagValue>>,
    /// Data skipped because it was malformed, keyed by where it sits.
    pub issues: BTreeMap<String, String>,
    /// What changed since a state was last brought up to date from this index.
    pub touched: Touched,
}

/// How [`ViewIndex::index_graft`] files a graft among its siblings.
#[derive(Clone, Copy, Debug)]
enum Siblings {
    /// Appended: a full read sorts every list once at the end.
    Unsorted,
    /// At its place in [`order`].
    Sorted,
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
    /// Reads the whole document (now, or as it was at some heads).
    pub fn build<'a>(doc: impl Reader<'a>, c: &Containers) -> Self {
        let mut index = Self::default();
        index.reload_title(doc);
        index.reload_steps(doc, c);
        for item in doc.map_range(&c.grafts) {
            if !matches!(u8::from_str_radix(&item.key, 16), Ok(b) if item.key.len() == 2 && usize::from(b) < c.buckets.len())
            {
                index.issues.insert(
                    format!("grafts/{}", item.key),
                    "not a graft bucket: grafts live in the maps grafts/00 … grafts/3f".into(),
                );
            }
        }
        let grafts: usize = c.buckets.iter().map(|b| doc.length(b)).sum();
        index.grafts.reserve(grafts);
        for (at, bucket) in c.buckets.iter().enumerate() {
            for item in doc.map_range(bucket) {
                // Borrow the record's text: a full read touches every graft.
                let text = match &item.value {
                    ValueRef::Scalar(ScalarValueRef::Str(text)) => Ok(&**text),
                    _ => Err(described(&Value::from(item.value))),
                };
                index.index_graft(at, &item.key, text, Siblings::Unsorted);
            }
        }
        // Sorted once all are in: cheaper than keeping them sorted.
        for siblings in index.children.values_mut() {
            siblings.sort_unstable_by(|a, b| order(&index.grafts, a, b));
        }
        for item in doc.map_range(&c.pruned) {
            let value: Value<'_> = item.value.into();
            index.put_prune(&item.key, &value);
        }
        index.reload_flags(doc, c);
        index
    }

    /// Applies the patches of one or more changes.
    pub fn apply(&mut self, doc: &AutoCommit, c: &Containers, patches: &[Patch]) -> Applied {
        let mut steps_dirty = false;
        for patch in patches {
            // A patch names the key that changed. Its value is the winner unless the key
            // is in conflict (or lost a value): then the winner is read back from the
            // document, because such patches do not always carry it.
            let changed = match &patch.action {
                PatchAction::PutMap {
                    key,
                    value,
                    conflict: false,
                } => Some((key.clone(), Some(value.0.clone()))),
                PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
                    Some((key.clone(), None))
                }
                PatchAction::Conflict { prop } => Some((prop.to_string(), None)),
                _ => None,
            };
            // Some(bucket) for a graft bucket, None for the prune marks.
            let target = match c.bucket_of(&patch.obj) {
                Some(at) => Some(Some(at)),
                None if patch.obj == c.pruned => Some(None),
                None => None,
            };
            if let Some(bucket) = target {
                if let Some((key, value)) = changed {
                    let value = value.or_else(|| {
                        doc.get(&patch.obj, &key)
                            .ok()
                            .flatten()
                            .map(|(v, _)| v.into_owned())
                    });
                    match (value, bucket) {
                        (Some(value), Some(at)) if self.is_new_graft(&key) => {
                            let text = value.as_str().ok_or_else(|| described(&value));
                            self.index_graft(at, &key, text, Siblings::Sorted);
                        }
                        // Grafts are written once and never removed, so only a foreign
                        // writer gets here: read every stored copy as a full read would.
                        (_, Some(_)) => self.read_graft(Now(doc), c, &key),
                        (Some(value), None) => self.put_prune(&key, &value),
                        (None, None) => self.remove_prune(&key),
                    }
                }
            } else if patch.obj == c.grafts {
                // Some other client replaced or removed a bucket: read everything again.
                if changed.is_some() {
                    return Applied::Rebuild;
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
                        self.reload_title(Now(doc))
                    }
                    _ => {}
                }
            } else if patch.obj == c.steps || patch.path.iter().any(|(o, _)| *o == c.steps) {
                steps_dirty = true;
            }
        }
        if steps_dirty {
            self.reload_steps(Now(doc), c);
        }
        self.reload_flags(Now(doc), c);
        Applied::Done
    }

    pub fn reload_title<'a>(&mut self, doc: impl Reader<'a>) {
        self.touched.title = true;
        self.issues.remove("title");
        self.title = match title_in(doc) {
            Ok(title) => title,
            Err(issue) => {
                self.issues.insert("title".into(), issue);
                String::new()
            }
        };
    }

    pub fn reload_steps<'a>(&mut self, doc: impl Reader<'a>, c: &Containers) {
        self.touched.all();
        self.issues.retain(|k, _| !k.starts_with("steps/"));
        self.steps.clear();
        let mut seen = BTreeSet::new();
        for item in doc.list_range(&c.steps) {
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

    /// Indexes a graft this replica just wrote under the new key `key` in bucket `at`.
    pub fn put_graft(&mut self, at: usize, key: &str, text: Result<&str, String>) {
        self.remove_graft(key);
        self.index_graft(at, key, text, Siblings::Sorted);
    }

    /// Whether `key` names no graft and no skipped data yet: the common case of a patch.
    fn is_new_graft(&self, key: &str) -> bool {
        !self.grafts.contains_key(key)
            && (self.issues.is_empty() || !self.issues.contains_key(&format!("grafts/{key}")))
    }

    /// Indexes one stored copy of the graft `key`, read from bucket `at`: its record's
    /// text, or what the value was instead of text. A key already indexed from an earlier
    /// bucket (only a foreign writer stores one key twice) is skipped and reported.
    fn index_graft(&mut self, at: usize, key: &str, text: Result<&str, String>, mode: Siblings) {
        let read = read_graft(key, text, &mut self.names, |after| {
            shared_id(&self.children, &self.grafts, after)
        });
        let graft = match read {
            Ok(graft) => graft,
            Err(why) => {
                self.issues.insert(format!("grafts/{key}"), why);
                return;
            }
        };
        let slot = match self.grafts.entry(graft.id.clone()) {
            Entry::Vacant(slot) => slot,
            Entry::Occupied(_) => {
                self.issues.insert(
                    format!("grafts/{key}"),
                    format!(
                        "graft {key:?} is stored in more than one bucket: the copy in bucket {} is skipped, an earlier one is read",
                        bucket_key(at)
                    ),
                );
                return;
            }
        };
        let sibling = Sibling::of(&graft);
        // The anchor's id is cloned only for a new entry: each clone and drop of an id is
        // an atomic count, and a full read does this for every graft.
        let siblings = match self.children.get_mut(&graft.after) {
            Some(siblings) => siblings,
            None => self.children.entry(graft.after.clone()).or_default(),
        };
        slot.insert(graft);
        match mode {
            Siblings::Unsorted => siblings.push(sibling),
            Siblings::Sorted => {
                self.touched.new_graft(&sibling.id);
                if let Err(at) = siblings.binary_search_by(|s| order(&self.grafts, s, &sibling)) {
                    siblings.insert(at, sibling);
                }
            }
        }
    }

    /// Forgets the graft `key` and reads it again from every bucket that holds it, in
    /// bucket order, exactly as a full read does.
    pub fn read_graft<'a>(&mut self, doc: impl Reader<'a>, c: &Containers, key: &str) {
        self.remove_graft(key);
        for (at, bucket) in c.buckets.iter().enumerate() {
            if let Ok(Some((value, _))) = doc.get(bucket, key) {
                self.index_graft(
                    at,
                    key,
                    value.as_str().ok_or_else(|| described(&value)),
                    Siblings::Sorted,
                );
            }
        }
    }

    /// Reads the graft `key` from the bucket a runmesh replica files it in (by the lamport
    /// in its id), falling back to every bucket for an id of another shape.
    pub fn read_own_graft<'a>(&mut self, doc: impl Reader<'a>, c: &Containers, key: &str) {
        let lamport = key
            .strip_prefix('g')
            .and_then(|rest| rest.split('-').next())
            .and_then(|digits| digits.parse::<u64>().ok());
        let Some(at) = lamport.map(crate::record::graft_bucket) else {
            return self.read_graft(doc, c, key);
        };
        if let Ok(Some((value, _))) = doc.get(&c.buckets[at], key) {
            let text = value.as_str().ok_or_else(|| described(&value));
            self.index_graft(at, key, text, Siblings::Sorted);
        } else {
            self.read_graft(doc, c, key);
        }
    }

    fn remove_graft(&mut self, key: &str) {
        if !self.issues.is_empty() {
            self.issues.remove(&format!("grafts/{key}"));
        }
        let Some(old) = self.grafts.get(key) else {
            return;
        };
        self.touched.all();
        if let Some(siblings) = self.children.get_mut(&old.after) {
            let sibling = Sibling::of(old);
            if let Ok(at) = siblings.binary_search_by(|s| order(&self.grafts, s, &sibling)) {
                siblings.remove(at);
            }
            if siblings.is_empty() {
                self.children.remove(&old.after);
            }
        }
        self.grafts.remove(key);
    }

    pub fn put_prune(&mut self, key: &str, value: &Value<'_>) {
        self.remove_prune(key);
        match read_prune(key, value) {
            Ok(mark) => {
                self.pruned.insert(mark.id.clone(), mark);
            }
            Err(why) => {
                self.issues.insert(format!("pruned/{key}"), why);
            }
        }
    }

    pub fn remove_prune(&mut self, key: &str) {
        self.issues.remove(&format!("pruned/{key}"));
        if let Ok(id) = key.parse::<NodeId>() {
            self.touched.prune(&id);
            self.pruned.remove(&id);
        }
    }

    /// Re-reads every flag. Flags are few, and a value that joins a key's conflict set
    /// without winning does not always arrive as a patch, so flags are re-read whole
    /// after every change rather than patched.
    pub fn reload_flags<'a>(&mut self, doc: impl Reader<'a>, c: &Containers) {
        self.flags.clear();
        self.issues.retain(|k, _| !k.starts_with("flags/"));
        let keys: Vec<String> = doc.keys(&c.flags).collect();
        for key in keys {
            self.reload_flag(doc, c, &key);
        }
    }

    pub fn reload_flag<'a>(&mut self, doc: impl Reader<'a>, c: &Containers, key: &str) {
        let at = format!("flags/{key}");
        self.issues.remove(&at);
        self.flags.remove(key);
        // `get_all` lists the values in op order; the winner (what `get` returns) is last.
        let mut all = doc.get_all(&c.flags, key).unwrap_or_default();
        if let Some(winner) = all.pop() {
            all.insert(0, winner);
        }
        let mut values = Vec::with_capacity(all.len());
        let mut bad = Vec::new();
        for (value, _) in all {
            match value.as_scalar().and_then(FlagValue::from_scalar) {
                Some(flag) => values.push(flag),
                None => bad.push(described(&value)),
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

/// The run's title as the document holds it (empty if it has none), or what is wrong
/// with it: read alone, without the rest of the view.
pub fn title_in<'a>(doc: impl Reader<'a>) -> Result<String, String> {
    match doc.get(&ROOT, keys::TITLE) {
        Ok(Some((v, _))) => match v.as_str() {
            Some(s) => Ok(shown(s).into_owned()),
            None => Err(format!("title is {}, expected text", described(&v))),
        },
        _ => Ok(String::new()),
    }
}
