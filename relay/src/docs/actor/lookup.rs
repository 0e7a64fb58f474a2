//! Mesh duties of a document task: asking mesh peers for a document a client requested
//! before answering `doc-unavailable`, attaching mesh links to the document, and
//! reporting divergence from each mesh peer.

use std::time::{Duration, Instant};

use automerge::AutoCommit;
use runmesh_core::sync::{PeerId, WireMessage};

use crate::docs::actor::Actor;
use crate::docs::command::PeerLink;

/// How long a client's request waits for mesh peers before `doc-unavailable`.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

impl Actor {
    /// A client asked for a document this relay lacks. With mesh peers, ask them first
    /// (the client waits); without, answer at once. Requests from mesh peers are never
    /// forwarded, so lookups cannot loop between relays.
    pub(super) fn lookup(&mut self, from: PeerLink, out: &mut Vec<(PeerId, WireMessage)>) {
        let peer = from.peer.clone();
        let mesh: Vec<PeerLink> = if from.is_mesh {
            Vec::new()
        } else {
            self.ctx.mesh.links()
        };
        self.attach(from);
        if mesh.is_empty() {
            out.push((peer.clone(), self.unavailable(&peer)));
            return;
        }
        self.waiting.insert(peer);
        if self.lookup_deadline.is_some() {
            return; // already asking
        }
        self.lookup_deadline = Some(Instant::now() + LOOKUP_TIMEOUT);
        for link in mesh {
            // An empty scratch document makes the opening message say "I have nothing".
            let mut scratch = AutoCommit::new();
            let peer = link.peer.clone();
            self.attach(link);
            if let Some(opening) = self.sync.add_peer(&mut scratch, &peer) {
                out.push((peer.clone(), opening.into_request()));
                self.asked.insert(peer);
            }
        }
    }

    /// A mesh peer we asked does not have the document either.
    pub(super) fn mesh_unavailable(&mut self, from: &PeerId, out: &mut Vec<(PeerId, WireMessage)>) {
        self.sync.remove_peer(from);
        if self.asked.remove(from) && self.asked.is_empty() {
            self.give_up(out);
        }
    }

    /// The document exists now: the lookup is over (waiting clients get it as peers).
    pub(super) fn lookup_done(&mut self) {
        self.asked.clear();
        self.waiting.clear();
        self.lookup_deadline = None;
    }

    /// Called when the task wakes without a command: answers a lookup that timed out.
    /// Returns whether it did.
    pub(super) fn expire_lookup(&mut self, out: &mut Vec<(PeerId, WireMessage)>) -> bool {
        match self.lookup_deadline {
            Some(deadline) if Instant::now() >= deadline => {
                self.give_up(out);
                true
            }
            _ => false,
        }
    }

    /// How long the task may sleep waiting for a command.
    pub(super) fn next_wake(&self, idle: Duration) -> Duration {
        match self.lookup_deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()).min(idle),
            None => idle,
        }
    }

    fn give_up(&mut self, out: &mut Vec<(PeerId, WireMessage)>) {
        let waiting: Vec<PeerId> = self.waiting.drain().collect();
        for peer in waiting {
            out.push((peer.clone(), self.unavailable(&peer)));
        }
        self.asked.clear();
        self.lookup_deadline = None;
    }

    fn unavailable(&self, peer: &PeerId) -> WireMessage {
        WireMessage::DocUnavailable {
            document_id: self.id.to_string(),
            sender_id: self.ctx.me.clone(),
            target_id: peer.clone(),
        }
    }

    /// Makes every live mesh link a peer of this document (it loaded, or appeared).
    pub(super) fn attach_mesh(&mut self, out: &mut Vec<(PeerId, WireMessage)>) {
        if !matches!(self.doc, Ok(Some(_))) {
            return;
        }
        for link in self.ctx.mesh.links() {
            let current = self
                .links
                .get(&link.peer)
                .is_some_and(|l| l.session == link.session);
            if current && self.sync.has_peer(&link.peer) {
                continue;
            }
            let peer = link.peer.clone();
            self.attach(link);
            let Ok(Some(doc)) = &mut self.doc else { return };
            if let Some(message) = self.sync.add_peer(doc.automerge(), &peer) {
                out.push((peer, message));
            }
        }
    }

    /// Tells the mesh which of its peers have heads that differ from ours here.
    pub(super) fn report_divergence(&mut self) {
        let Some(doc) = self.doc.as_mut().ok().and_then(Option::as_mut) else {
            return;
        };
        let mut ours = doc.automerge().get_heads();
        ours.sort();
        for (peer, link) in &self.links {
            if !link.is_mesh {
                continue;
            }
            let differs = match self.sync.their_heads(peer) {
                Some(theirs) => {
                    let mut theirs = theirs.to_vec();
                    theirs.sort();
                    theirs != ours
                }
                None => true,
            };
            self.ctx.mesh.set_divergent(peer, self.id, differs);
        }
    }
}
