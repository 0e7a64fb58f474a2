//! [`RunShard`]: one run's part of the relay node. The relay is sharded by run: each
//! loaded run is one shard, and shards share nothing but the relay-wide rules around
//! them (sessions, mesh links, the digest index), so the relay runs each on its own task
//! and uses every core. A shard owns the run's [hub](crate::hub) and what the relay keeps
//! beside it:
//! - the connections the hub sends to (a peer's newest one), forgotten when they end,
//!   when the peer's queue cannot take a frame ([`Command::Gone`]) or when a mesh link
//!   goes down;
//! - whether each mesh peer holds the run differently, and who waits for it to be in
//!   step with one ([`Effect::Settled`]: a catch-up's offers);
//! - whether what other relays stored could be read (until it is, the run's digest is
//!   "not known": [`Effect::StoredHeads`], told when the heads change or that is read);
//! - its clock for leaving memory ([`Residency`]), fed by what counts as a use;
//! - the title the run list shows, told once ([`Effect::Titled`]).
//!
//! It takes `now` and [`Command`]s and returns [`Effect`]s, in order; the caller performs
//! them and hands their outcomes back as commands. The relay's run task and the
//! simulation's relays both drive it.

mod types;

use std::collections::BTreeMap;
use std::sync::Arc;

use automerge::ChangeHash;

use crate::DocumentId;
use crate::hub::{self, HubConfig, Input, Link, Millis, RunHub};
use crate::node::{IdlePeriods, Residency};
use crate::sync::PeerId;

pub use types::{Command, Conn, Effect};

/// One loaded run's shard: its hub, its connections and its clock for leaving memory.
/// `R` is an operation's reply slot, `W` a waiter for the run to be in step with a mesh
/// peer, `C` a connection handle.
#[derive(Debug)]
pub struct RunShard<R, W, C> {
    hub: RunHub<R>,
    residency: Residency,
    /// The connection the hub sends to, per peer.
    links: BTreeMap<PeerId, C>,
    /// The mesh links last told to the hub.
    mesh: Vec<Link>,
    /// Per mesh peer, whether the hub last said it holds the run differently.
    differs: BTreeMap<PeerId, bool>,
    /// Who waits for the run to be in step with a mesh peer.
    settling: BTreeMap<PeerId, Vec<W>>,
    /// What other relays stored could not be read: the run's digest stays "not known".
    behind_store: bool,
    /// The title was told.
    titled: bool,
    /// The stored heads last told, and whether they were known then.
    told: Option<(Vec<ChangeHash>, bool)>,
    /// The hub found the relay's memory full since this was last asked.
    memory_full: bool,
    /// Test-only mutation: tells the heads in memory as stored, before they are.
    early: bool,
}

impl<R, W, C: Conn> RunShard<R, W, C> {
    /// The shard of run `id`, loaded at `now`: the first effect asks to load it.
    pub fn new(
        config: Arc<HubConfig>,
        id: DocumentId,
        now: Millis,
        idle: IdlePeriods,
    ) -> (Self, Vec<Effect<R, W, C>>) {
        let shard = Self {
            hub: RunHub::new(config, id),
            residency: Residency::new(now, idle),
            links: BTreeMap::new(),
            mesh: Vec::new(),
            differs: BTreeMap::new(),
            settling: BTreeMap::new(),
            behind_store: false,
            titled: false,
            told: None,
            memory_full: false,
            early: false,
        };
        (shard, vec![Effect::Load])
    }

    /// A deliberately broken shard that tells the heads in memory as stored before the
    /// store holds them, for the simulation to show that it is caught.
    #[doc(hidden)]
    pub fn telling_heads_early(mut self) -> Self {
        self.early = true;
        self
    }

    /// The run's hub, for reads.
    pub fn hub(&mut self) -> &mut RunHub<R> {
        &mut self.hub
    }

    /// Handles `commands` as one batch (one persist, one sync message per peer). A batch
    /// with a command in it counts as a use of the run; one from a client, an operation
    /// or a read as a use here (not only other relays).
    pub fn handle_batch(
        &mut self,
        now: Millis,
        commands: impl IntoIterator<Item = Command<R, W, C>>,
    ) -> Vec<Effect<R, W, C>> {
        let mut inputs = Vec::new();
        let (mut used, mut here) = (false, false);
        for command in commands {
            let (use_, local) = command.counts_as_use();
            used |= use_;
            here |= local;
            if let Some(input) = self.input(command) {
                inputs.push(input);
            }
        }
        if used {
            self.residency.used(now, here);
        }
        let effects = self.hub.handle_batch(now, inputs);
        self.after(effects)
    }

    /// Handles one command; see [`RunShard::handle_batch`].
    pub fn handle(&mut self, now: Millis, command: Command<R, W, C>) -> Vec<Effect<R, W, C>> {
        self.handle_batch(now, [command])
    }

    /// A wake-up at `now` (the hub's, or the run's time to leave memory). Returns the
    /// effects, and whether the run leaves memory now: it is due, its hub is idle and
    /// nothing outside holds it (`held`: someone follows it, or a catch-up is offering
    /// it). `followed`: someone follows the run's changes (a use).
    pub fn wake(
        &mut self,
        now: Millis,
        followed: bool,
        held: bool,
    ) -> (Vec<Effect<R, W, C>>, bool) {
        let effects = self.handle(now, Command::Tick);
        let made = self.exists();
        let idle = !held && self.hub.is_idle();
        let leave = self.residency.wake(now, made, followed, idle);
        (effects, leave)
    }

    /// When the shard must be woken: for its hub, or to leave memory.
    pub fn next_wake(&self, followed: bool) -> Millis {
        let leaves = self.residency.leaves_at(self.exists(), followed);
        self.hub.next_wake().map_or(leaves, |at| at.min(leaves))
    }

    /// Whether only other relays have touched the run since it was loaded.
    pub fn mesh_only(&self, followed: bool) -> bool {
        self.residency.mesh_only(followed)
    }

    /// Whether the hub is idle (nothing unstored, no client, no lookup).
    pub fn is_idle(&mut self) -> bool {
        self.hub.is_idle()
    }

    /// Whether the hub found the relay's memory full (a change or a load refused) since
    /// this was last asked: the relay then sheds ([`crate::node::Shedding`]).
    pub fn take_memory_full(&mut self) -> bool {
        std::mem::take(&mut self.memory_full)
    }

    /// Whether the run may leave memory when the relay asks it to (its memory is full,
    /// or the runs held only for other relays weigh too much): nobody follows it
    /// (`followed`) and its hub is idle.
    pub fn may_leave(&mut self, followed: bool) -> bool {
        !followed && self.hub.is_idle()
    }

    /// Whether the run was not loaded for want of memory: it leaves at once, so the
    /// next request tries again.
    pub fn refused_for_memory(&self) -> bool {
        self.hub.refused_for_memory()
    }

    /// Whether the run exists here (it has stored heads).
    pub fn exists(&self) -> bool {
        !self.hub.stored_heads().is_empty()
    }

    fn input(&mut self, command: Command<R, W, C>) -> Option<Input<R>> {
        Some(match command {
            Command::Sync {
                from,
                message,
                request,
            } => Input::Sync {
                from: self.remember(from),
                message,
                request,
            },
            Command::Ephemeral { from, presence } => Input::Ephemeral {
                from: from.link().clone(),
                presence,
            },
            Command::Unavailable { from } => Input::Unavailable {
                from: from.link().clone(),
            },
            Command::Offer { to, fresh, settled } => {
                if let Some(settled) = settled {
                    let peer = to.link().peer.clone();
                    self.settling.entry(peer).or_default().push(settled);
                }
                Input::Offer {
                    to: self.remember(to),
                    fresh,
                }
            }
            Command::Op {
                op,
                user,
                at_ms,
                reply,
            } => Input::Op {
                op,
                user,
                at_ms,
                reply,
            },
            Command::Detach(link) | Command::Gone(link) => {
                self.forget(&link);
                left(&link)
            }
            Command::Mesh(live) => self.mesh(live),
            // The index forgot the run when it heard of the append: tell it again.
            Command::StoredElsewhere(Some(bytes)) => {
                self.behind_store = false;
                self.told = None;
                Input::StoredElsewhere(bytes)
            }
            Command::StoredElsewhere(None) => {
                self.behind_store = true;
                self.told = None;
                return None;
            }
            Command::Loaded(loaded) => Input::Loaded(loaded),
            Command::Stored(id) => Input::Stored(id),
            Command::StoreFailed(id, why) => Input::StoreFailed(id, why),
            Command::Tick => Input::Tick,
            Command::Read => return None,
        })
    }

    /// The mesh links live now: those gone are no longer sent to.
    fn mesh(&mut self, live: Vec<C>) -> Input<R> {
        let links: Vec<Link> = live.iter().map(|c| c.link().clone()).collect();
        for gone in std::mem::take(&mut self.mesh) {
            if !links.contains(&gone) {
                self.forget(&gone);
            }
        }
        for conn in live {
            self.remember(conn);
        }
        self.mesh.clone_from(&links);
        Input::Mesh(links)
    }

    /// Keeps `conn` as its peer's connection for sends; returns the hub's view of it.
    fn remember(&mut self, conn: C) -> Link {
        let link = conn.link().clone();
        self.links.insert(link.peer.clone(), conn);
        link
    }

    /// Forgets `link` if it is its peer's connection still.
    fn forget(&mut self, link: &Link) {
        if self
            .links
            .get(&link.peer)
            .is_some_and(|c| c.link().session == link.session)
        {
            self.differs.remove(&link.peer);
            self.links.remove(&link.peer);
        }
    }

    /// The hub's effects as the shard's, then what follows from the batch: waiters whose
    /// peer is in step, the stored heads, the title.
    fn after(&mut self, effects: Vec<hub::Effect<R>>) -> Vec<Effect<R, W, C>> {
        let mut out = Vec::with_capacity(effects.len() + 1);
        for effect in effects {
            match effect {
                hub::Effect::Load => out.push(Effect::Load),
                hub::Effect::Persist(p) => out.push(Effect::Persist(p)),
                hub::Effect::Send { to, message } => {
                    // Only to the peer's connection still known: a send to one that
                    // ended is dropped.
                    if let Some(conn) = self
                        .links
                        .get(&to.peer)
                        .filter(|c| c.link().session == to.session)
                    {
                        out.push(Effect::Send {
                            to: conn.clone(),
                            message,
                        });
                    }
                }
                hub::Effect::Reply { to, result } => out.push(Effect::Reply { to, result }),
                hub::Effect::Divergence { peer, differs } => {
                    self.differs.insert(peer.clone(), differs);
                    out.push(Effect::Divergence { peer, differs });
                }
                hub::Effect::Event(event) => {
                    self.memory_full |= matches!(event, hub::HubEvent::MemoryFull);
                    out.push(Effect::Event(event));
                }
            }
        }
        self.settle(&mut out);
        let heads = if self.early {
            self.hub.heads()
        } else {
            self.hub.stored_heads()
        };
        if !heads.is_empty()
            && !self.titled
            && let Ok(title) = self.hub.title()
        {
            self.titled = true;
            out.push(Effect::Titled(title));
        }
        let known = !self.behind_store;
        let told = self
            .told
            .as_ref()
            .is_some_and(|(h, k)| *h == heads && *k == known);
        if !told {
            self.told = Some((heads.clone(), known));
            out.push(Effect::StoredHeads { heads, known });
        }
        out
    }

    /// Tells whoever waits for a mesh peer that the run is in step with it, once the hub
    /// last said so; waiters for a peer it has forgotten are dropped (they hear it never
    /// got in step).
    fn settle(&mut self, out: &mut Vec<Effect<R, W, C>>) {
        if self.settling.is_empty() {
            return;
        }
        let (differs, links) = (&self.differs, &self.links);
        self.settling.retain(|peer, waiting| {
            if !links.contains_key(peer) {
                return false;
            }
            if differs.get(peer) == Some(&false) {
                out.extend(waiting.drain(..).map(Effect::Settled));
                return false;
            }
            true
        });
    }

    /// The stored heads, for a reader that follows them.
    pub fn stored_heads(&self) -> Vec<ChangeHash> {
        self.hub.stored_heads()
    }
}

fn left<R>(link: &Link) -> Input<R> {
    Input::Left {
        peer: link.peer.clone(),
        session: link.session,
    }
}
