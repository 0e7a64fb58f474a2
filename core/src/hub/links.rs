//! How a hub takes its peers' links: mesh links join every run that is here, a peer's
//! new connection starts a new sync session, and clients waiting for a run nobody has
//! are told so.

use crate::hub::interface::Link;
use crate::hub::{Effect, RunHub, send};
use crate::sync::{PeerId, WireMessage};

impl<R> RunHub<R> {
    /// Makes every live mesh link a peer of the run, if the run is here.
    pub(super) fn attach_mesh(&mut self) {
        if !self.has_content() {
            return;
        }
        for link in self.peers.mesh().to_vec() {
            if self.peers.is_current(&link) && self.sync.has_peer(&link.peer) {
                continue;
            }
            let peer = link.peer.clone();
            self.attach(link);
            self.sync.join(&peer);
        }
    }

    /// Records `link` as its peer's connection; a new connection of a known peer starts a
    /// new sync session.
    pub(super) fn attach(&mut self, link: Link) {
        let peer = link.peer.clone();
        if self.peers.attach(link) {
            self.sync.remove_peer(&peer);
        }
    }

    pub(super) fn unavailable_to(&mut self, clients: Vec<PeerId>, out: &mut Vec<Effect<R>>) {
        for client in clients {
            if let Some(link) = self.peers.get(&client) {
                let message = WireMessage::unavailable(self.id, &self.config.me, &client);
                out.push(send(link, message));
            }
        }
    }
}
