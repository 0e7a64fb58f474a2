//! [`Reconciliation`]: how a relay brings its mesh peers' copies of its stored runs in
//! step, relay-wide. It owns the digest index of stored runs ([`RunDigests`]) and each
//! mesh link's [`CatchUp`], and keeps the rules that join them:
//! - a digest frame from a peer is answered from the index, and the runs found to differ
//!   join that link's catch-up;
//! - a run another relay sharing the store changed is no longer known to the index; if no
//!   shard here holds it, it is offered to every mesh link (the relay that changed it may
//!   have no link to their regions);
//! - when the store's feed lapsed nothing in the index can be trusted: it is forgotten
//!   and every link reconciles again;
//! - a catch-up that has runs waiting but no room under the memory bound asks the runs
//!   held only for other relays to leave, and looks again [`ROOM_POLL_MS`] later.
//!
//! The relay's mesh and store feed perform it (`relay/src/runs/reconciler.rs`); so do the
//! simulation's relays.

use std::collections::BTreeMap;

use crate::digest::{self, DigestMessage};
use crate::hub::{Link, Millis, SessionId};
use crate::id::DocumentId;
use crate::node::{CatchUp, CatchUpProgress, RunDigests};
use crate::sync::PeerId;

/// How soon a catch-up that found no room under the memory bound looks again (runs
/// asked to leave do not say when they left).
pub const ROOM_POLL_MS: Millis = 20;

/// One link's catch-up and when it ran.
#[derive(Debug)]
struct LinkCatchUp {
    session: SessionId,
    catch_up: CatchUp,
    started: Option<Millis>,
    finished: Option<Millis>,
}

/// How far one link's catch-up has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Runs queued, synced, not in step in time.
    pub counts: CatchUpProgress,
    /// When the first run was queued.
    pub started: Option<Millis>,
    /// When the last run finished.
    pub finished: Option<Millis>,
}

impl Progress {
    /// Runs finished per second since the first was queued.
    pub fn rate(&self) -> f64 {
        let done = self.counts.synced + self.counts.unsettled;
        match (self.started, self.finished) {
            (Some(start), Some(end)) if end > start => done as f64 * 1000.0 / (end - start) as f64,
            _ => 0.0,
        }
    }
}

/// What a link's catch-up says to do now.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Due {
    /// The runs to offer now, and whether to start each sync session over.
    pub offers: Vec<(DocumentId, bool)>,
    /// Runs wait and none could go for want of room: ask the runs held only for other
    /// relays to leave memory.
    pub release: bool,
    /// When to look again, if nothing wakes the link's worker before.
    pub next: Option<Millis>,
}

/// The digest index and every mesh link's catch-up (see the module's documentation).
#[derive(Debug)]
pub struct Reconciliation {
    digests: RunDigests,
    links: BTreeMap<PeerId, LinkCatchUp>,
    /// Test-only mutation: every catch-up loses every n-th run queued.
    skip_every: Option<u64>,
}

impl Reconciliation {
    /// An empty index; `me` makes this relay's "not known yet" fingerprints its own.
    pub fn new(me: &str) -> Self {
        Self {
            digests: RunDigests::new(me),
            links: BTreeMap::new(),
            skip_every: None,
        }
    }

    /// A deliberately broken reconciliation whose catch-ups lose every `n`-th run they
    /// are given, for the simulation to show that it is caught.
    #[doc(hidden)]
    pub fn skipping_every(mut self, n: u64) -> Self {
        self.skip_every = Some(n);
        self
    }

    /// The digest index, kept current by the runs' shards (`StoredHeads`) and the store.
    pub fn digests(&mut self) -> &mut RunDigests {
        &mut self.digests
    }

    /// The first digest frame to a peer: the dialler of a new link sends it.
    pub fn start(&self) -> DigestMessage {
        digest::start(self.digests.index())
    }

    /// A digest frame from the peer on `link` at `now`: the replies to send it. The runs
    /// found to differ join the link's catch-up; `true` beside the replies if that
    /// catch-up is new (its worker must start).
    pub fn answer(
        &mut self,
        now: Millis,
        link: &Link,
        message: &DigestMessage,
    ) -> (Vec<DigestMessage>, bool) {
        let step = digest::respond(self.digests.index(), message);
        let started = !step.offer.is_empty() && self.offer(now, link, step.offer, false);
        (step.replies, started)
    }

    /// Queues `runs` to offer the peer on `link` (`fresh`: starting their sessions
    /// over). Returns whether the link's catch-up is new (its worker must start).
    pub fn offer(
        &mut self,
        now: Millis,
        link: &Link,
        runs: impl IntoIterator<Item = DocumentId>,
        fresh: bool,
    ) -> bool {
        let new = self
            .links
            .get(&link.peer)
            .is_none_or(|l| l.session != link.session);
        if new {
            let catch_up = match self.skip_every {
                Some(n) => CatchUp::default().skipping_every(n),
                None => CatchUp::default(),
            };
            let entry = LinkCatchUp {
                session: link.session,
                catch_up,
                started: None,
                finished: None,
            };
            self.links.insert(link.peer.clone(), entry);
        }
        let entry = self.links.get_mut(&link.peer).expect("inserted above");
        let before = entry.catch_up.progress().queued;
        entry.catch_up.enqueue(runs, fresh);
        if entry.catch_up.progress().queued > before {
            entry.started.get_or_insert(now);
        }
        new
    }

    /// Another relay sharing the store appended to `run`: the index no longer knows
    /// what the store holds for it (until a shard here has read it). Call before a shard
    /// is told to read it.
    pub fn changed_elsewhere(&mut self, run: DocumentId) {
        self.digests.forget(run);
    }

    /// A run [changed elsewhere](Self::changed_elsewhere) that no shard here holds: it is
    /// offered to every mesh link, since the relay that changed it may have no link to
    /// their regions. Returns the links whose catch-up is new.
    pub fn offer_everywhere(&mut self, now: Millis, run: DocumentId, links: &[Link]) -> Vec<Link> {
        links
            .iter()
            .filter(|link| self.offer(now, link, [run], false))
            .cloned()
            .collect()
    }

    /// The store's feed lapsed: appends went unheard. Returns the first digest frame to
    /// send on every link, which reconciles again.
    pub fn lapsed(&mut self) -> DigestMessage {
        self.digests.forget_all();
        self.start()
    }

    /// What the catch-up of `link` says to do at `now`, with `free` bytes of room under
    /// the memory bound (`None`: no bound); `None` once the link's catch-up is gone (the
    /// link went down or was replaced).
    pub fn due(&mut self, link: &Link, now: Millis, free: Option<usize>) -> Option<Due> {
        let entry = self
            .links
            .get_mut(&link.peer)
            .filter(|l| l.session == link.session)?;
        let offers = entry.catch_up.due(now, free);
        let release = offers.is_empty() && entry.catch_up.is_waiting();
        let mut next = entry.catch_up.next_wake();
        if release {
            let soon = now + ROOM_POLL_MS;
            next = Some(next.map_or(soon, |at| at.min(soon)));
        }
        Some(Due {
            offers,
            release,
            next,
        })
    }

    /// One offered run got in step with the peer on `link` (`in_step`), or did not in
    /// time; it weighs `weight` bytes in memory now (0: not known, it left already).
    /// Returns whether it counted (the link's worker looks again).
    pub fn finished(
        &mut self,
        now: Millis,
        link: &Link,
        run: DocumentId,
        in_step: bool,
        weight: usize,
    ) -> bool {
        let Some(entry) = self
            .links
            .get_mut(&link.peer)
            .filter(|l| l.session == link.session)
        else {
            return false;
        };
        if !entry.catch_up.settled(run, in_step) {
            return false;
        }
        if weight > 0 {
            entry.catch_up.weighed(weight);
        }
        entry.finished = Some(now);
        true
    }

    /// The link of `peer` on `session` went down: its catch-up goes with it.
    pub fn link_down(&mut self, peer: &PeerId, session: SessionId) {
        if self.links.get(peer).is_some_and(|l| l.session == session) {
            self.links.remove(peer);
        }
    }

    /// The runs offered now over every link (they stay in memory until each is done).
    pub fn offered(&self) -> impl Iterator<Item = &DocumentId> {
        self.links.values().flat_map(|l| l.catch_up.offered())
    }

    /// The links whose catch-up has runs offered, with those runs.
    pub fn offered_by_link(&self) -> Vec<(PeerId, SessionId, Vec<DocumentId>)> {
        self.links
            .iter()
            .map(|(peer, l)| {
                (
                    peer.clone(),
                    l.session,
                    l.catch_up.offered().copied().collect::<Vec<_>>(),
                )
            })
            .filter(|(_, _, runs)| !runs.is_empty())
            .collect()
    }

    /// When the earliest offer runs out of time.
    pub fn next_wake(&self) -> Option<Millis> {
        self.links
            .values()
            .filter_map(|l| l.catch_up.next_wake())
            .min()
    }

    /// How far the catch-up with `peer` has come, if one ran on its link.
    pub fn progress(&self, peer: &PeerId) -> Option<Progress> {
        self.links.get(peer).map(|l| Progress {
            counts: l.catch_up.progress(),
            started: l.started,
            finished: l.finished,
        })
    }

    /// Runs still to offer, over every link.
    pub fn pending(&self) -> u64 {
        self.links
            .values()
            .map(|l| l.catch_up.progress().pending())
            .sum()
    }
}
