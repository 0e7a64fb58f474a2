//! What the hub does after each batch of inputs: the sync messages owed, the persist
//! due, the answers whose changes are now stored.

use crate::hub::{Effect, PeerKind, RunHub, State, answer, send};
use crate::sync::PeerId;

impl<R> RunHub<R> {
    /// The end of a batch: store what is unstored, or, once everything is stored, let
    /// out what waited for it.
    pub(super) fn settle(&mut self, out: &mut Vec<Effect<R>>) {
        self.refresh_view();
        let State::Ready(Some(content)) = &mut self.state else {
            return;
        };
        if !self.durable.holds_all(content) {
            let region = self
                .source_region
                .as_deref()
                .unwrap_or(self.config.identity.region());
            if let Some(persist) = self.durable.start(content, region) {
                out.push(Effect::Persist(persist));
            }
            return;
        }
        self.source_region = None;
        if std::mem::take(&mut self.appeared) {
            // Peers that asked before the run existed here hear of it now.
            self.lookup.found();
            let waiting: Vec<PeerId> = self
                .peers
                .all()
                .filter(|l| !self.sync.has_peer(&l.peer))
                .map(|l| l.peer.clone())
                .collect();
            for peer in waiting {
                self.sync.join(&peer);
            }
            self.attach_mesh();
        }
        answer(std::mem::take(&mut self.held), out);
        let State::Ready(Some(content)) = &mut self.state else {
            unreachable!("checked above")
        };
        for (peer, message) in self.sync.flush(content.unchanged()) {
            if let Some(link) = self.peers.get(&peer) {
                out.push(send(link, message));
            }
        }
        let mut ours = content.unchanged().get_heads();
        ours.sort();
        let mesh: Vec<PeerId> = self
            .peers
            .all()
            .filter(|l| l.kind == PeerKind::Mesh)
            .map(|l| l.peer.clone())
            .collect();
        for peer in mesh {
            let differs = self.sync.their_heads(&peer).is_none_or(|theirs| {
                let mut theirs = theirs.to_vec();
                theirs.sort();
                theirs != ours
            });
            if let Some(differs) = self.peers.report(&peer, differs) {
                out.push(Effect::Divergence { peer, differs });
            }
        }
    }
}
