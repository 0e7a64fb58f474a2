//! Local operations on a hub's run ([`RunOp`]), what they answer, and why they fail.

use crate::error::RunError;
use crate::flag::FlagValue;
use crate::hub::content::Content;
use automerge::ChangeHash;

use crate::id::{GraftId, RunId};
use crate::identity::Identity;
use crate::{RunDoc, StepSpec};

/// A change to a run made through the REST API.
#[derive(Debug)]
pub enum RunOp {
    /// Create the run with a title and base steps.
    Create {
        /// Title.
        title: String,
        /// Base steps.
        steps: Vec<StepSpec>,
    },
    /// Graft an agent after a node.
    Graft {
        /// The anchor.
        after: String,
        /// The agent.
        agent_name: String,
    },
    /// Mark a node pruned.
    Prune {
        /// The node.
        node: String,
    },
    /// Remove a prune mark.
    Restore {
        /// The node.
        node: String,
    },
    /// Set a flag.
    SetFlag {
        /// The key.
        key: String,
        /// The value.
        value: FlagValue,
    },
    /// Remove a flag.
    ClearFlag {
        /// The key.
        key: String,
    },
    /// Reverse one earlier change with a new one.
    Undo {
        /// The change to undo.
        change: ChangeHash,
    },
    /// Take in every change of another run that shares this run's history (a fork, or
    /// the run it was forked from).
    Merge {
        /// The other run.
        from: RunId,
        /// Its whole document, saved.
        bytes: Vec<u8>,
    },
    /// Create the run from a whole saved document made elsewhere (a fork); refused if the
    /// run exists.
    Adopt {
        /// The document, saved.
        bytes: Vec<u8>,
    },
    /// Merge Automerge bytes (a save or changes) from another relay or a backup.
    ApplyBytes {
        /// The bytes.
        bytes: Vec<u8>,
        /// The region they came from.
        source_region: String,
    },
}

impl RunOp {
    /// About how many bytes the operation adds to the stored run (what the size limit
    /// weighs before applying it).
    pub(crate) fn weight(&self) -> usize {
        match self {
            Self::ApplyBytes { bytes, .. } | Self::Merge { bytes, .. } | Self::Adopt { bytes } => {
                crate::bounds::weight(bytes)
            }
            _ => 1024,
        }
    }
}

/// What an operation did: what it made and where it left the run, not the whole run (a
/// `state()` of a 10,000-graft run takes 3.3 ms, more than the operation; a caller that
/// wants it reads it).
#[derive(Debug)]
pub struct OpReply {
    /// The document's heads afterwards.
    pub heads: Vec<ChangeHash>,
    /// The run's lamport clock afterwards.
    pub lamport: u64,
    /// The graft made, for `Graft`.
    pub graft: Option<GraftId>,
    /// The change made, for `Undo`.
    pub change: Option<ChangeHash>,
    /// Whether the document changed.
    pub changed: bool,
}

/// Why an operation or read failed. Nothing was applied when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// No such run here.
    #[error("run not found")]
    NotFound,
    /// The run already exists (create).
    #[error("run already exists")]
    Exists,
    /// The document exists but is not a run.
    #[error("document is not a run: it has no run containers")]
    NotARun,
    /// The run refused the operation.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The change could not be made durable, so it was dropped, not acknowledged.
    #[error("storage failed: {0}")]
    Storage(String),
    /// The stored document could not be loaded.
    #[error("stored document is unreadable: {0}")]
    Unreadable(String),
    /// The relay's runs in memory together are at their limit (`--max-loaded-bytes`):
    /// the change (or the load) waits for memory to free.
    #[error("{0}")]
    MemoryFull(String),
    /// The change would make the run larger than its size limit.
    #[error(
        "run {run} holds {stored} bytes; this change would pass the limit of {max} bytes (--max-document-bytes)"
    )]
    TooLarge {
        /// The run.
        run: RunId,
        /// What it holds now.
        stored: usize,
        /// The limit.
        max: usize,
    },
}

/// Applies `op` to `content` (creating the run when the operation allows it), acting for
/// `user` at `now`. Nothing is changed when an error is returned.
pub(crate) fn apply(
    content: &mut Option<Content>,
    run_id: RunId,
    identity: &Identity,
    op: RunOp,
    user: &str,
    now: u64,
) -> Result<OpReply, OpError> {
    match op {
        RunOp::Create { title, steps } => {
            if content.is_some() {
                return Err(OpError::Exists);
            }
            let mut who = identity.clone();
            if !user.is_empty() {
                who = Identity::with_actor(identity.actor().clone(), identity.region(), user)?;
            }
            let run = RunDoc::create(run_id, who, &title, &steps, now)?;
            Ok(created(content, run))
        }
        RunOp::Adopt { bytes } => match content {
            Some(_) => Err(OpError::Exists),
            None => Ok(created(
                content,
                RunDoc::load(run_id, identity.clone(), &bytes)?,
            )),
        },
        RunOp::Merge { from, bytes } => {
            let Some(Content::Run(run)) = content else {
                return Err(match content {
                    None => OpError::NotFound,
                    Some(_) => OpError::NotARun,
                });
            };
            let mut other = RunDoc::load(from, identity.clone(), &bytes)?;
            run.act_as(user)?;
            let changed = run.merge_from(&mut other, now)?;
            Ok(OpReply::after(run, changed))
        }
        RunOp::ApplyBytes { bytes, .. } => match content {
            None => Ok(created(
                content,
                RunDoc::load_checked(run_id, identity.clone(), &bytes)?,
            )),
            Some(Content::Plain(_)) => Err(OpError::NotARun),
            Some(Content::Run(run)) => {
                let changed = run.apply_bytes(&bytes)?;
                Ok(OpReply::after(run, changed))
            }
        },
        // Nothing to undo in a run never seen here (it is not created for it).
        RunOp::Undo { .. } if content.is_none() => Err(OpError::NotFound),
        op => {
            // A graft (or prune, flag…) on a run never seen here creates it from the
            // shared genesis, so it merges with every other replica's creation of it.
            let was_absent = content.is_none();
            let result = edit(content, run_id, identity, op, user, now);
            if result.is_err() && was_absent {
                *content = None;
            }
            result
        }
    }
}

impl OpReply {
    /// What `run` is now, after a change that made nothing with an id of its own.
    fn after(run: &mut RunDoc, changed: bool) -> Self {
        Self {
            heads: run.heads(),
            lamport: run.lamport(),
            graft: None,
            change: None,
            changed,
        }
    }
}

fn created(content: &mut Option<Content>, mut run: RunDoc) -> OpReply {
    let reply = OpReply::after(&mut run, true);
    *content = Some(Content::Run(Box::new(run)));
    reply
}

fn edit(
    content: &mut Option<Content>,
    run_id: RunId,
    identity: &Identity,
    op: RunOp,
    user: &str,
    now: u64,
) -> Result<OpReply, OpError> {
    let fresh = || Content::Run(Box::new(RunDoc::genesis(run_id, identity.clone())));
    let Content::Run(run) = content.get_or_insert_with(fresh) else {
        return Err(OpError::NotARun);
    };
    run.act_as(user)?;
    let before = run.heads();
    let mut change = None;
    let graft = match op {
        RunOp::Graft { after, agent_name } => Some(run.graft(&after, &agent_name, now)?),
        RunOp::Prune { node } => run.prune(&node, now).map(|_| None)?,
        RunOp::Restore { node } => run.restore(&node, now).map(|_| None)?,
        RunOp::SetFlag { key, value } => run.set_flag(&key, value, now).map(|()| None)?,
        RunOp::ClearFlag { key } => run.clear_flag(&key, now).map(|_| None)?,
        RunOp::Undo { change: undone } => {
            change = Some(run.undo(&undone, now)?);
            None
        }
        RunOp::Create { .. }
        | RunOp::ApplyBytes { .. }
        | RunOp::Merge { .. }
        | RunOp::Adopt { .. } => unreachable!("handled by apply"),
    };
    let heads = run.heads();
    Ok(OpReply {
        changed: heads != before,
        lamport: run.lamport(),
        heads,
        graft,
        change,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_on_a_run_never_seen_here_is_not_found_and_creates_nothing() {
        let identity = Identity::random("eu", "relay").unwrap();
        let mut content = None;
        let undo = RunOp::Undo {
            change: ChangeHash([7; 32]),
        };
        let result = apply(&mut content, RunId::random(), &identity, undo, "ada", 1);
        assert!(matches!(result, Err(OpError::NotFound)), "{result:?}");
        assert!(content.is_none());
    }
}
