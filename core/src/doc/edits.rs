//! The run's operations: graft, prune, restore, set and clear flags. Each checks its
//! input, writes one Automerge change, and updates the view from that change's patches.

use automerge::ChangeHash;
use automerge::transaction::{CommitOptions, Transactable};

use crate::doc::RunDoc;
use crate::error::RunError;
use crate::flag::{self, FlagValue};
use crate::id::{GraftId, NodeId};
use crate::record::{GraftRecord, PruneRecord, encode, graft_bucket};
use crate::text;
use crate::view::reader::Now;

/// The longest agent name accepted, in characters.
pub const MAX_AGENT_NAME_CHARS: usize = 200;

/// The operation a change made, as written in its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Op {
    /// Title and base steps written.
    Create,
    /// An agent grafted in.
    Graft,
    /// A node marked pruned.
    Prune,
    /// A prune mark removed.
    Restore,
    /// A flag set.
    SetFlag,
    /// A flag removed.
    ClearFlag,
    /// A graft taken out of the pipeline by an undo (it stays in the history).
    Retract,
    /// A retracted graft put back (an undo of a retraction).
    Reinstate,
    /// The first change of a fork: the new run's id and where it came from.
    Fork,
    /// Another run's changes taken in (a fork merged back, or its parent merged in).
    Merge,
}

impl Op {
    /// The name the change message gives it (its serde name).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Graft => "graft",
            Self::Prune => "prune",
            Self::Restore => "restore",
            Self::SetFlag => "setFlag",
            Self::ClearFlag => "clearFlag",
            Self::Retract => "retract",
            Self::Reinstate => "reinstate",
            Self::Fork => "fork",
            Self::Merge => "merge",
        }
    }
}

/// The change message: who, where, what. Kept short: it is stored with every change.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct ChangeNote {
    pub by: String,
    pub region: String,
    pub op: Op,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default)]
    pub detail: String,
    /// The change this one undoes (hex), for an undo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
}

impl RunDoc {
    /// Grafts `agent_name` into the run right after `after` (a step or a graft).
    pub fn graft(
        &mut self,
        after: &str,
        agent_name: &str,
        now_ms: u64,
    ) -> Result<GraftId, RunError> {
        let after: NodeId = after.parse().map_err(|e| RunError::node_id("anchor", e))?;
        let agent_name = agent_name.trim();
        if agent_name.is_empty() {
            return Err(RunError::EmptyAgentName);
        }
        let len = agent_name.chars().count();
        if len > MAX_AGENT_NAME_CHARS {
            return Err(RunError::AgentNameTooLong {
                len,
                max: MAX_AGENT_NAME_CHARS,
            });
        }
        text::check(|| "agent name".into(), agent_name)?;
        if !self.anchor_exists(&after) {
            return Err(RunError::UnknownAnchor { anchor: after });
        }
        if self
            .view()
            .index
            .grafts
            .get(&after)
            .is_some_and(|g| !g.is_live())
        {
            return Err(RunError::RetractedAnchor { node: after });
        }
        let lamport = self.lamport + 1;
        let id = GraftId::mint(lamport, self.identity.actor());
        let record = GraftRecord {
            after: after.as_str().into(),
            agent_name: agent_name.into(),
            by: self.identity.user().into(),
            region: self.identity.region().into(),
            lamport,
            at: now_ms,
            retracted: None,
        };
        let bucket = self.view().containers.buckets[graft_bucket(lamport)].clone();
        let encoded = encode(&record);
        self.doc.put(&bucket, id.as_str(), encoded.as_str())?;
        self.commit(
            Op::Graft,
            Some(id.as_str()),
            &format!("{agent_name} after {after}"),
            now_ms,
        );
        let at = graft_bucket(lamport);
        self.view_mut()
            .0
            .index
            .put_graft(at, id.as_str(), Ok(&encoded));
        Ok(id)
    }

    /// Marks a step or graft as pruned. Returns `false` (and writes nothing) if it already was.
    ///
    /// Prune marks form a set with "prune wins": a restore removes only the marks its
    /// replica had seen, so a prune concurrent with a restore survives on every replica.
    pub fn prune(&mut self, node: &str, now_ms: u64) -> Result<bool, RunError> {
        let node = self.existing_node(node)?;
        if self.view().index.pruned.contains_key(&node) {
            return Ok(false);
        }
        let record = PruneRecord {
            by: self.identity.user().into(),
            region: self.identity.region().into(),
            lamport: self.lamport + 1,
            at: now_ms,
        };
        let pruned = self.view().containers.pruned.clone();
        let encoded = encode(&record);
        self.doc.put(&pruned, node.as_str(), encoded.as_str())?;
        self.commit(Op::Prune, Some(node.as_str()), "", now_ms);
        self.view_mut()
            .0
            .index
            .put_prune(node.as_str(), &automerge::Value::str(&encoded));
        Ok(true)
    }

    /// Removes a node's prune mark. Returns `false` (and writes nothing) if it was not pruned.
    pub fn restore(&mut self, node: &str, now_ms: u64) -> Result<bool, RunError> {
        let node = self.existing_node(node)?;
        if !self.view().index.pruned.contains_key(&node) {
            return Ok(false);
        }
        let pruned = self.view().containers.pruned.clone();
        self.doc.delete(&pruned, node.as_str())?;
        self.commit(Op::Restore, Some(node.as_str()), "", now_ms);
        self.view_mut().0.index.remove_prune(node.as_str());
        Ok(true)
    }

    /// Sets a flag. Concurrent writes to one key resolve by Automerge's rule (the same
    /// winner everywhere) and stay visible in the view as conflicts.
    pub fn set_flag(&mut self, key: &str, value: FlagValue, now_ms: u64) -> Result<(), RunError> {
        flag::validate_key(key)?;
        // Only on set: a key written before the check can still be cleared.
        text::check(|| "flag key".into(), key)?;
        value.validate(key)?;
        let flags = self.view().containers.flags.clone();
        self.doc.put(&flags, key, value.to_scalar())?;
        let detail = serde_json::to_string(&value).unwrap_or_default();
        self.commit(Op::SetFlag, Some(key), &detail, now_ms);
        let (view, doc) = self.view_mut();
        view.index.reload_flag(Now(doc), &view.containers, key);
        Ok(())
    }

    /// Removes a flag. Returns `false` (and writes nothing) if it was not set.
    pub fn clear_flag(&mut self, key: &str, now_ms: u64) -> Result<bool, RunError> {
        flag::validate_key(key)?;
        if !self.view().index.flags.contains_key(key) {
            return Ok(false);
        }
        let flags = self.view().containers.flags.clone();
        self.doc.delete(&flags, key)?;
        self.commit(Op::ClearFlag, Some(key), "", now_ms);
        let (view, doc) = self.view_mut();
        view.index.reload_flag(Now(doc), &view.containers, key);
        Ok(true)
    }

    /// Whether `id` can anchor a graft: a step or graft; in a run that lists no steps
    /// (steps managed elsewhere), any step id.
    fn anchor_exists(&self, id: &NodeId) -> bool {
        let index = &self.view().index;
        index.steps.is_empty()
            || index.grafts.contains_key(id)
            || index.steps.iter().any(|s| &s.id == id)
    }

    fn existing_node(&self, node: &str) -> Result<NodeId, RunError> {
        let node: NodeId = node.parse().map_err(|e| RunError::node_id("node", e))?;
        if self.anchor_exists(&node) {
            Ok(node)
        } else {
            Err(RunError::UnknownNode { node })
        }
    }

    /// Commits the pending operations as one change. The caller updates the view itself:
    /// it knows what it wrote, and asking Automerge for patches of a local change costs
    /// more than the change (finding each patch's path walks the parent map). The patch
    /// log is cleared so the next remote change is diffed from here.
    pub(crate) fn commit(&mut self, op: Op, node: Option<&str>, detail: &str, now_ms: u64) {
        let note = self.note(op, node, detail);
        self.commit_note(&note, now_ms);
        self.doc.update_diff_cursor();
        self.update_lamport();
    }

    /// The note of a change this replica makes now.
    pub(crate) fn note(&self, op: Op, node: Option<&str>, detail: &str) -> ChangeNote {
        ChangeNote {
            by: self.identity.user().to_owned(),
            region: self.identity.region().to_owned(),
            op,
            node: node.map(str::to_owned),
            detail: detail.to_owned(),
            undoes: None,
        }
    }

    /// Commits what the transaction holds with `note`; the view is the caller's to update.
    pub(crate) fn commit_note(&mut self, note: &ChangeNote, now_ms: u64) -> Option<ChangeHash> {
        let message = serde_json::to_string(note).expect("a change note is plain data");
        let time = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
        self.doc.commit_with(
            CommitOptions::default()
                .with_message(message)
                .with_time(time),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Op;

    #[test]
    fn each_op_is_named_as_its_change_message_writes_it() {
        use Op::*;
        let all = [
            Create, Graft, Prune, Restore, SetFlag, ClearFlag, Retract, Reinstate, Fork, Merge,
        ];
        for op in all {
            assert_eq!(serde_json::to_value(op).unwrap(), op.name(), "{op:?}");
        }
    }
}
