//! The task that owns one run: it waits for commands, a mesh change or the hub's next
//! wake-up, hands each batch to its [`Shell`], and leaves memory when the run's
//! shard says (idle for `--idle-unload-secs`, or `--mesh-idle-unload-ms` if only other
//! relays touched it since it was loaded: core's `Residency`). While only other relays have
//! touched it, it counts among the mesh's residents (`--mesh-catch-up-bytes`), and
//! leaves at once when they weigh too much and it is idle ([`DocCmd::Leave`]).

use std::sync::Arc;

use runmesh_core::{DocumentId, RunId};
use tokio::sync::mpsc;

use crate::runs::command::DocCmd;
use crate::runs::env::TaskEnv;
use crate::runs::shell::Shell;
use crate::runs::slots::Slots;

/// Most commands handled in one batch (one persist, one fsync).
const BATCH: usize = 128;

/// Runs the task for `id` until it is idle and leaves `slots`. Returns the commands that
/// reached its queue after it left, for a fresh task.
pub(crate) async fn run(
    env: Arc<TaskEnv>,
    slots: Slots,
    id: DocumentId,
    generation: u64,
    mut rx: mpsc::Receiver<DocCmd>,
) -> Vec<DocCmd> {
    let mut mesh = env.mesh.clone();
    mesh.mark_unchanged();
    let mut shell = Shell::start(env.clone(), id).await;
    // Counted once loaded (a task may wait for its turn to load: `TaskEnv::loads`).
    env.metrics.runs_loaded(1);
    let run = RunId::from(id);
    let mut resident = false;
    let mut mesh_open = true;
    loop {
        // The relay-wide set is locked only for runs in it or joining it, not on every
        // batch of a run people use.
        let only = shell.mesh_only();
        if only || resident {
            let weight = if only { shell.memory() } else { 0 };
            env.mesh_residents().mesh_only(run, only, weight);
            resident = only;
        }
        if shell.refused_for_memory() && slots.leave(&id, generation, &rx) {
            break; // the next request loads it again
        }
        let wake_at = env.instant(shell.next_wake());
        tokio::select! {
            biased;
            cmd = rx.recv() => {
                let Some(first) = cmd else { break };
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(cmd) => batch.push(cmd),
                        Err(_) => break,
                    }
                }
                let shed = batch.iter().any(|cmd| matches!(cmd, DocCmd::Shed));
                let leave = batch.iter().any(|cmd| matches!(cmd, DocCmd::Leave));
                batch.retain(|cmd| !matches!(cmd, DocCmd::Shed | DocCmd::Leave));
                if !batch.is_empty() {
                    shell.commands(batch).await;
                }
                if shell.take_memory_full() {
                    slots.shed(env.now());
                }
                if (shed || leave) && shell.may_leave() && slots.leave(&id, generation, &rx) {
                    if shed {
                        env.metrics.run_shed();
                    }
                    break;
                }
            }
            changed = mesh.changed(), if mesh_open => match changed {
                Ok(()) => shell.mesh_changed().await,
                Err(_) => mesh_open = false, // the relay is shutting down
            },
            () = tokio::time::sleep_until(wake_at.into()) => {
                let due = shell.wake().await;
                if shell.take_memory_full() {
                    slots.shed(env.now());
                }
                if due && slots.leave(&id, generation, &rx) {
                    break;
                }
            }
        }
    }
    if resident {
        env.mesh_residents().left(run);
    }
    env.metrics.runs_loaded(-1);
    env.metrics.forget_run(shell.label());
    // Anything sent after the task left its slot goes to a fresh task.
    rx.close();
    let mut leftovers = Vec::new();
    while let Ok(cmd) = rx.try_recv() {
        leftovers.push(cmd);
    }
    leftovers
}
