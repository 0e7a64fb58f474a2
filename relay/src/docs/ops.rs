//! REST operations on a document task's run.

use runmesh_core::{Identity, RunDoc, RunId};

use crate::docs::actor::new_run;
use crate::docs::command::{OpError, OpReply, RunOp};
use crate::docs::doc::Doc;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Applies `op` to the document (creating the run when the operation allows it).
/// Nothing is written when an error is returned.
pub(crate) fn apply_op(
    doc: &mut Option<Doc>,
    run_id: RunId,
    identity: &Identity,
    op: RunOp,
    user: &str,
) -> Result<OpReply, OpError> {
    let now = now_ms();
    match op {
        RunOp::Create { title, steps } => {
            if doc.is_some() {
                return Err(OpError::Exists);
            }
            let mut who = identity.clone();
            if !user.is_empty() {
                who = Identity::with_actor(identity.actor().clone(), identity.region(), user)?;
            }
            let run = RunDoc::create(run_id, who, &title, &steps, now)?;
            let state = run.state();
            *doc = Some(Doc::Run(Box::new(run)));
            Ok(OpReply {
                state,
                graft: None,
                changed: true,
            })
        }
        RunOp::ApplyBytes { bytes, .. } => match doc {
            None => {
                let run = RunDoc::load(run_id, identity.clone(), &bytes)?;
                let state = run.state();
                *doc = Some(Doc::Run(Box::new(run)));
                Ok(OpReply {
                    state,
                    graft: None,
                    changed: true,
                })
            }
            Some(Doc::Plain(_)) => Err(OpError::NotARun("it has no run containers".into())),
            Some(Doc::Run(run)) => {
                let changed = run.apply_bytes(&bytes)?;
                Ok(OpReply {
                    state: run.state(),
                    graft: None,
                    changed,
                })
            }
        },
        op => {
            // A graft (or prune, flag…) on a run never seen here creates it from the
            // shared genesis, so it merges with every other relay's creation of it.
            let was_absent = doc.is_none();
            let result = edit(doc, run_id, identity, op, user, now);
            if result.is_err() && was_absent {
                *doc = None;
            }
            result
        }
    }
}

fn edit(
    doc: &mut Option<Doc>,
    run_id: RunId,
    identity: &Identity,
    op: RunOp,
    user: &str,
    now: u64,
) -> Result<OpReply, OpError> {
    let run = match doc.get_or_insert_with(|| Doc::Run(Box::new(new_run(run_id, identity)))) {
        Doc::Run(run) => run,
        Doc::Plain(_) => return Err(OpError::NotARun("it has no run containers".into())),
    };
    run.act_as(user)?;
    let before = run.heads();
    let graft = match op {
        RunOp::Graft { after, agent_name } => Some(run.graft(&after, &agent_name, now)?),
        RunOp::Prune { node } => {
            run.prune(&node, now)?;
            None
        }
        RunOp::Restore { node } => {
            run.restore(&node, now)?;
            None
        }
        RunOp::SetFlag { key, value } => {
            run.set_flag(&key, value, now)?;
            None
        }
        RunOp::ClearFlag { key } => {
            run.clear_flag(&key, now)?;
            None
        }
        RunOp::Create { .. } | RunOp::ApplyBytes { .. } => unreachable!("handled above"),
    };
    let changed = run.heads() != before;
    Ok(OpReply {
        state: run.state(),
        graft,
        changed,
    })
}
