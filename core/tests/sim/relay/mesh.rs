//! The simulated relay's mesh links, in the shipped [`RelayMesh`]: one live link per
//! relay, the tie-break between two relays that dialled each other, who starts
//! reconciling, and the links flowing down to every run in memory, as the relay's mesh
//! keeps them.

use runmesh_core::DocumentId;
use runmesh_core::hub::{Link, PeerKind, SessionId};
use runmesh_core::node::{Command, Joined, MeshPeers, NewLink, Reconciliation, RelayMesh};
use runmesh_core::sync::PeerId;

use super::{Out, SimRelay};

impl SimRelay {
    /// No links and an empty index for this relay as it runs now (broken on purpose
    /// with `keep_duplicates` or `skip_offers`).
    pub(super) fn fresh_mesh(&self) -> RelayMesh<Link> {
        let mut peers = MeshPeers::new(self.config.me.clone());
        if self.keep_duplicates {
            peers = peers.keeping_duplicates();
        }
        let mut reconciliation = Reconciliation::new(self.config.me.as_str());
        if let Some(n) = self.skip_offers {
            reconciliation = reconciliation.skipping_every(n);
        }
        RelayMesh::with(peers, reconciliation)
    }

    /// Breaks the tie-break on purpose: both links of a pair are kept.
    pub fn keep_duplicate_links(&mut self) {
        self.keep_duplicates = true;
        self.mesh = self.fresh_mesh();
    }

    /// Breaks the catch-up on purpose: it loses every `n`-th run it is given to offer.
    pub fn skip_offers(&mut self, n: u64) {
        self.skip_offers = Some(n);
        self.mesh = self.fresh_mesh();
    }

    /// The live links, as every run's hub is told them.
    pub(super) fn mesh_links(&self) -> Vec<Link> {
        self.mesh
            .peers()
            .iter()
            .map(|(_, l)| l.link.clone())
            .collect()
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
        let joined = self.mesh.link_up(NewLink {
            peer: peer.clone(),
            session: link.session,
            url,
            region,
            since: now,
            link,
        });
        let first_digest = match joined {
            Joined::Refused if dialled => {
                // The peer's link to us is kept: stand by while it lives.
                return out.push(Out::StandBy { conn });
            }
            Joined::Refused => {
                // Closed once the handshake's answer is on its way, as a socket would.
                return out.push(Out::CloseAfterSent { conn });
            }
            Joined::Up {
                replaced,
                first_digest,
            } => {
                if let Some(old) = replaced {
                    out.push(Out::Close {
                        conn: old.session.0,
                    });
                }
                first_digest
            }
        };
        self.mesh_changed(now, out);
        // The link is told every claim of where runs are stored.
        self.reach.link_up(peer.clone());
        self.send_reach(out);
        // Runs in memory sync on the link at once; the dialler starts reconciling the
        // stored ones.
        if let Some(first) = first_digest {
            self.send_digest(conn, &peer, &first, out);
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
        if self.mesh.link_down(peer, SessionId(conn)) {
            self.reach.link_down(peer);
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
        self.mesh.peers().has_peer(peer)
    }

    /// This relay's peer id as it runs now.
    pub fn peer_id(&self) -> &PeerId {
        &self.config.me
    }
}
