//! The simulated relay's mesh links, in the shipped [`MeshPeers`]: one live link per
//! relay, the tie-break between two relays that dialled each other, and the links
//! flowing down to every run in memory, as the relay's mesh keeps them.

use runmesh_core::DocumentId;
use runmesh_core::hub::{Link, PeerKind, SessionId};
use runmesh_core::node::{Command, LinkUp, MeshPeers};
use runmesh_core::sync::PeerId;

use super::{Out, SimRelay};

impl SimRelay {
    /// An empty set of links for this relay as it runs now.
    pub(super) fn fresh_mesh(&self) -> MeshPeers<Link> {
        let mesh = MeshPeers::new(self.config.me.clone());
        if self.keep_duplicates {
            mesh.keeping_duplicates()
        } else {
            mesh
        }
    }

    /// Breaks the tie-break on purpose: both links of a pair are kept.
    pub fn keep_duplicate_links(&mut self) {
        self.keep_duplicates = true;
        self.mesh = self.fresh_mesh();
    }

    /// The live links, as every run's hub is told them.
    pub(super) fn mesh_links(&self) -> Vec<Link> {
        self.mesh.iter().map(|(_, l)| l.link.clone()).collect()
    }

    /// The handshake on `conn` (which we dialled, or not) found a relay of `region`.
    pub(super) fn mesh_link_up(
        &mut self,
        now: u64,
        conn: u64,
        peer: PeerId,
        region: String,
        dialled: bool,
        out: &mut Vec<Out>,
    ) {
        let link = Link {
            peer: peer.clone(),
            session: SessionId(conn),
            kind: PeerKind::Mesh,
        };
        let url = dialled.then(|| format!("sim://{peer}"));
        match self
            .mesh
            .link_up(peer.clone(), link.session, url, region, now, link)
        {
            LinkUp::Refused if dialled => {
                // The peer's link to us is kept: stand by while it lives.
                return out.push(Out::StandBy { conn });
            }
            LinkUp::Refused => {
                // Closed once the handshake's answer is on its way, as a socket would.
                return out.push(Out::CloseAfterSent { conn });
            }
            LinkUp::Replaced(old) => out.push(Out::Close {
                conn: old.session.0,
            }),
            LinkUp::Added => {}
        }
        self.mesh_changed(now, out);
        // Runs in memory sync on the link at once; the dialler starts reconciling the
        // stored ones.
        if self.mesh.reconciles(&peer) {
            self.start_reconcile(conn, &peer, out);
        }
    }

    /// The connection `conn` to `peer` closed: if it was the live link, it is gone.
    pub(super) fn mesh_link_down(
        &mut self,
        now: u64,
        conn: u64,
        peer: &PeerId,
        out: &mut Vec<Out>,
    ) {
        self.reconciliation.link_down(peer, SessionId(conn));
        if self.mesh.link_down(peer, SessionId(conn)) {
            self.mesh_changed(now, out);
        }
    }

    pub(super) fn mesh_changed(&mut self, now: u64, out: &mut Vec<Out>) {
        let docs: Vec<DocumentId> = self.shards.keys().copied().collect();
        for doc in docs {
            let mesh = Command::Mesh(self.mesh_links());
            self.feed(now, doc, vec![mesh], None, out);
        }
    }

    /// Whether this relay has a live link to `peer` (a dialler standing by waits while
    /// it does).
    pub fn has_peer(&self, peer: &PeerId) -> bool {
        self.mesh.has_peer(peer)
    }

    /// This relay's peer id as it runs now.
    pub fn peer_id(&self) -> &PeerId {
        &self.config.me
    }
}
