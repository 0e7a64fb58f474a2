//! [`Reach`]: the relay's one [`ReachTable`] (core: which regions' stores hold which
//! runs' changes), fed by the run tasks (what this relay's store holds, as each persist
//! lands) and by the mesh links (what other relays said), and each mesh link's sender,
//! which passes on what the link has not been told, a run's claims coalesced over
//! [`COALESCE`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use runmesh_core::hub::Millis;
use runmesh_core::reach::{Claim, ReachMessage, ReachTable, StoreEpoch};
use runmesh_core::sync::{PeerId, WireMessage};
use runmesh_core::{ChangeHash, DocumentId};
use tokio::sync::Notify;

use crate::runs::link::PeerLink;

/// How long a link's sender waits after news before it sends: a run's claims made in
/// that time go as one (its latest heads).
pub const COALESCE: Duration = Duration::from_millis(50);

#[derive(Debug)]
struct Shared {
    table: ReachTable,
    /// Each live link's sender's waker.
    wakes: HashMap<PeerId, Arc<Notify>>,
}

/// The relay's knowledge of where runs are stored, shared.
#[derive(Debug, Clone)]
pub struct Reach {
    me: PeerId,
    inner: Arc<Mutex<Shared>>,
}

impl Reach {
    /// Nothing known yet, at the relay `me` of `region`, whose store lives in `epoch`.
    pub fn new(me: PeerId, region: String, epoch: StoreEpoch) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Shared {
                table: ReachTable::new(me.clone(), region, epoch),
                wakes: HashMap::new(),
            })),
            me,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.inner.lock().expect("reach lock is never poisoned")
    }

    /// This relay's store holds `heads` of `run` at `now`.
    pub fn stored_here(&self, now: Millis, run: DocumentId, heads: Vec<ChangeHash>) {
        let mut shared = self.lock();
        shared.table.stored_here(now, run, heads);
        shared.wakes.values().for_each(|wake| wake.notify_one());
    }

    /// Claims from the mesh peer `from`; the links are told what was news.
    pub fn heard(&self, from: &PeerId, claims: Vec<Claim>) {
        let mut shared = self.lock();
        if shared.table.heard(from, claims) > 0 {
            for (peer, wake) in &shared.wakes {
                if peer != from {
                    wake.notify_one();
                }
            }
        }
    }

    /// A mesh link came up: it is told every claim known, by a sender of its own that
    /// runs until the link closes.
    pub fn link_up(&self, link: PeerLink) {
        let wake = Arc::new(Notify::new());
        {
            let mut shared = self.lock();
            shared.table.link_up(link.peer().clone());
            shared.wakes.insert(link.peer().clone(), wake.clone());
        }
        wake.notify_one();
        tokio::spawn(send_claims(self.clone(), link, wake));
    }

    /// The mesh link to `peer` went down.
    pub fn link_down(&self, peer: &PeerId) {
        let mut shared = self.lock();
        shared.table.link_down(peer);
        shared.wakes.remove(peer);
    }

    /// The regions whose stores hold what `covered` asks about in `run` (see
    /// [`ReachTable::regions`]).
    pub fn regions(
        &self,
        run: &DocumentId,
        covered: impl Fn(&[ChangeHash]) -> bool,
    ) -> Vec<String> {
        self.lock().table.regions(run, covered)
    }

    /// The heads each region's claims name for `run`, to check against the run.
    pub fn claimed(&self, run: &DocumentId) -> Vec<(String, Vec<Vec<ChangeHash>>)> {
        self.lock().table.claimed(run)
    }

    /// Per other region, how long the oldest change stored here has not been known to be
    /// stored there (see [`ReachTable::unreplicated`]).
    pub fn unreplicated(&self, now: Millis) -> std::collections::BTreeMap<String, Millis> {
        self.lock().table.unreplicated(now)
    }

    fn due(&self, peer: &PeerId) -> Option<ReachMessage> {
        self.lock().table.due(peer)
    }
}

/// Sends `link` the claims it has not been told, each time there is news, until it
/// closes (or a newer link to the same relay replaced it).
async fn send_claims(reach: Reach, link: PeerLink, wake: Arc<Notify>) {
    loop {
        tokio::select! {
            () = wake.notified() => {}
            () = link.close.cancelled() => return,
        }
        tokio::time::sleep(COALESCE).await;
        while let Some(message) = reach.due(link.peer()) {
            let frame = WireMessage::Reach {
                sender_id: reach.me.clone(),
                target_id: link.peer().clone(),
                data: message.encode(),
            }
            .encode();
            if !link.send_mesh_frame(frame).await {
                return;
            }
        }
    }
}
