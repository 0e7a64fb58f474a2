//! [`Shell`]: a run's [`RunShard`] and the I/O it asks for. The shard decides (core's
//! `node::run_shard`); the shell turns commands into the shard's and performs its
//! effects, in order: loads and persists on the blocking pool (their outcomes go straight
//! back to the shard), frames to the peers' queues, answers to the HTTP handlers, the
//! run's stored heads to the digest index and the change feed.

mod reports;
mod storage;

use std::collections::VecDeque;
use std::sync::Arc;

use runmesh_core::node::{self, Command, Effect, Overflow, RunShard};
use runmesh_core::sync::WireMessage;
use runmesh_core::{ChangeHash, DocumentId, RunId};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{oneshot, watch};

use crate::runs::command::{DocCmd, OpAnswer};
use crate::runs::env::TaskEnv;
use crate::runs::link::PeerLink;

/// One run's shard with the I/O it asks for.
#[derive(Debug)]
pub(crate) struct Shell {
    env: Arc<TaskEnv>,
    id: DocumentId,
    /// The run id as metrics label it.
    label: String,
    shard: RunShard<OpAnswer, oneshot::Sender<()>, PeerLink>,
    /// The run's stored heads, for whoever follows the run (the change feed).
    followers: watch::Sender<Vec<ChangeHash>>,
}

impl Shell {
    /// Loads the run and attaches the live mesh links.
    pub(crate) async fn start(env: Arc<TaskEnv>, id: DocumentId) -> Self {
        let (shard, first) = RunShard::new(env.hub.clone(), id, env.now(), env.idle);
        let mut shell = Self {
            shard,
            env,
            id,
            label: RunId::from(id).to_string(),
            followers: watch::Sender::new(Vec::new()),
        };
        // Loading is CPU work on this thread: a few at a time (see `TaskEnv::loads`).
        let permit = shell.env.loads.clone().acquire_owned().await;
        shell.perform(first).await;
        drop(permit);
        shell.mesh_changed().await;
        shell
    }

    /// The run id as metrics label it.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// When the task must wake: for the hub, or for the run to leave memory.
    pub(crate) fn next_wake(&self) -> runmesh_core::hub::Millis {
        self.shard.next_wake(self.followed())
    }

    /// Whether only other relays have touched the run since it was loaded.
    pub(crate) fn mesh_only(&self) -> bool {
        self.shard.mesh_only(self.followed())
    }

    /// Whether the run may leave memory when asked (core's `RunShard::may_leave`).
    pub(crate) fn may_leave(&mut self) -> bool {
        let followed = self.followed();
        self.shard.may_leave(followed)
    }

    /// Whether the relay's memory was found full (a change or a load refused) since
    /// this was last asked: runs nobody holds open should then leave memory.
    pub(crate) fn take_memory_full(&mut self) -> bool {
        self.shard.take_memory_full()
    }

    /// Whether the run was not loaded for want of memory: the task leaves at once, so
    /// the next request tries again.
    pub(crate) fn refused_for_memory(&self) -> bool {
        self.shard.refused_for_memory()
    }

    /// What the run's document takes in memory, roughly.
    pub(crate) fn memory(&mut self) -> usize {
        self.shard.hub().memory()
    }

    /// Whether someone follows the run's changes (the change feed).
    pub(crate) fn followed(&self) -> bool {
        self.followers.receiver_count() > 0
    }

    /// Handles a batch of commands: one shard batch (one persist), then the reads.
    pub(crate) async fn commands(&mut self, batch: Vec<DocCmd>) {
        let mut commands = Vec::with_capacity(batch.len());
        let mut reads = Vec::new();
        // Events other relays appended, for one read (`Some(empty)`: read the run).
        let mut elsewhere: Option<Vec<i64>> = None;
        for cmd in batch {
            match cmd {
                DocCmd::Read(read) => {
                    reads.push(read);
                    commands.push(Command::Read);
                }
                DocCmd::StoredElsewhere { events } => match &mut elsewhere {
                    Some(all) if all.is_empty() => {}
                    Some(all) if events.is_empty() => all.clear(),
                    Some(all) => all.extend(events),
                    None => elsewhere = Some(events),
                },
                cmd => commands.push(command(cmd)),
            }
        }
        if let Some(events) = elsewhere {
            let read = self.read_elsewhere(&events).await;
            commands.insert(0, Command::StoredElsewhere(read));
        }
        let syncs = commands
            .iter()
            .filter(|c| matches!(c, Command::Sync { .. }))
            .count();
        self.env.metrics.sync_batch(syncs);
        let effects = self.shard.handle_batch(self.env.now(), commands);
        self.perform(effects).await;
        for read in reads {
            self.read(read);
        }
    }

    /// The mesh links changed.
    pub(crate) async fn mesh_changed(&mut self) {
        let live = self.env.mesh.borrow().as_ref().clone();
        let effects = self.shard.handle(self.env.now(), Command::Mesh(live));
        self.perform(effects).await;
    }

    /// A wake-up: time passed for the hub. Says whether the run leaves memory now.
    pub(crate) async fn wake(&mut self) -> bool {
        let followed = self.followed();
        let (effects, leave) = self.shard.wake(self.env.now(), followed, followed);
        self.perform(effects).await;
        leave
    }

    /// Performs the shard's effects in order, handing each outcome back to it.
    async fn perform(&mut self, effects: Vec<Effect<OpAnswer, oneshot::Sender<()>, PeerLink>>) {
        let mut queue = VecDeque::from(effects);
        while let Some(effect) = queue.pop_front() {
            let next = match effect {
                Effect::Load => Some(Command::Loaded(self.load().await)),
                Effect::Persist(persist) => Some(self.persist(persist).await),
                Effect::Send { to, message } => {
                    if matches!(message, WireMessage::Sync { .. }) {
                        self.env.metrics.sync_generated();
                    }
                    self.send(&to, message)
                }
                Effect::Reply { to, result } => {
                    let _ = to.send(result);
                    None
                }
                Effect::Divergence { peer, differs } => {
                    self.env.divergence.set(&peer, self.id, differs);
                    None
                }
                Effect::Settled(waiter) => {
                    let _ = waiter.send(());
                    None
                }
                Effect::Titled(title) => {
                    self.env.titles.note(self.id, title);
                    None
                }
                Effect::StoredHeads { heads, known } => {
                    if known {
                        self.env.reconciler.stored(self.id, &heads);
                    }
                    if !heads.is_empty() {
                        self.env
                            .reach
                            .stored_here(self.env.now(), self.id, heads.clone());
                    }
                    if self.followers.receiver_count() > 0 {
                        self.followers.send_if_modified(|followed| {
                            let changed = *followed != heads;
                            *followed = heads;
                            changed
                        });
                    }
                    None
                }
                Effect::Event(event) => {
                    self.event(&event);
                    None
                }
            };
            if let Some(command) = next {
                queue.extend(self.shard.handle(self.env.now(), command));
            }
        }
    }

    /// Sends to the peer's queue. A frame the queue cannot take meets core's
    /// [`node::overflow`] rule: presence is dropped; otherwise the peer is not keeping up
    /// and is cut off (it resyncs from scratch when it reconnects) rather than buffered
    /// without bound, and the shard hears it is gone.
    fn send(&self, peer: &PeerLink, message: WireMessage) -> Option<ShardCommand> {
        let to = &peer.link;
        if matches!(message, WireMessage::Sync { .. }) {
            self.env.metrics.sync_message();
        }
        let overflow = node::overflow(&message);
        let frame = message.encode();
        let len = frame.len();
        if !peer.outbox.take(overflow, len) {
            if overflow == Overflow::Drop {
                return None;
            }
            tracing::warn!(doc = %self.id, peer = %to.peer, "peer leaves too many bytes unread; disconnecting it");
            peer.close.cancel();
            return Some(Command::Gone(to.clone()));
        }
        match peer.tx.try_send(frame) {
            Ok(()) => None,
            Err(TrySendError::Full(_)) if overflow == Overflow::Drop => {
                peer.outbox.sent(len);
                None
            }
            Err(TrySendError::Full(_)) => {
                peer.outbox.sent(len);
                tracing::warn!(doc = %self.id, peer = %to.peer, "peer is not keeping up; disconnecting it");
                peer.close.cancel();
                Some(Command::Gone(to.clone()))
            }
            Err(TrySendError::Closed(_)) => {
                peer.outbox.sent(len);
                Some(Command::Gone(to.clone()))
            }
        }
    }
}

type ShardCommand = Command<OpAnswer, oneshot::Sender<()>, PeerLink>;

/// A run command as the shard takes it (reads and what other relays stored are taken
/// out of the batch before).
fn command(cmd: DocCmd) -> ShardCommand {
    match cmd {
        DocCmd::Sync {
            from,
            message,
            request,
        } => Command::Sync {
            from,
            message,
            request,
        },
        DocCmd::Ephemeral { from, presence } => Command::Ephemeral { from, presence },
        DocCmd::Detach(link) => Command::Detach(link),
        DocCmd::Unavailable { from } => Command::Unavailable { from },
        DocCmd::Offer { to, fresh, settled } => Command::Offer { to, fresh, settled },
        DocCmd::Op { op, user, reply } => Command::Op {
            op,
            user,
            at_ms: crate::runs::link::epoch_millis(),
            reply,
        },
        DocCmd::Read(_) | DocCmd::StoredElsewhere { .. } | DocCmd::Shed | DocCmd::Leave => {
            unreachable!("taken out of the batch before")
        }
    }
}
