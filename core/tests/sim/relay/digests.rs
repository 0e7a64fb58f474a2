//! The simulated relay's digests: the index of its stored runs, kept as the relay keeps
//! it (from the hubs' stored heads, from the store at a restart, forgotten when another
//! relay sharing the store changes a run), and reconciliation on mesh links.

use std::collections::BTreeMap;

use runmesh_core::DocumentId;
use runmesh_core::digest::{self, DigestMessage, Fingerprint};
use runmesh_core::hub::Link;
use runmesh_core::node::RunDigests;
use runmesh_core::sync::{PeerId, WireMessage};

use super::{Out, SimRelay};

impl SimRelay {
    fn digest_frame(&self, to: &PeerId, message: &DigestMessage) -> Vec<u8> {
        let frame = WireMessage::Digest {
            sender_id: self.config.me.clone(),
            target_id: to.clone(),
            data: message.encode(),
        };
        frame.encode()
    }

    /// We dialled a relay on `conn`: the first digest.
    pub(super) fn start_reconcile(&self, conn: u64, to: &PeerId, out: &mut Vec<Out>) {
        let frame = self.digest_frame(to, &digest::start(self.digests.index()));
        out.push(Out::Frame { conn, frame });
    }

    /// A digest frame from the mesh peer on `link`: answer it, offer what differs.
    pub(super) fn on_digest(
        &mut self,
        now: u64,
        conn: u64,
        link: &Link,
        message: &DigestMessage,
        out: &mut Vec<Out>,
    ) {
        let step = digest::respond(self.digests.index(), message);
        for reply in step.replies {
            let frame = self.digest_frame(&link.peer, &reply);
            out.push(Out::Frame { conn, frame });
        }
        if !step.offer.is_empty() {
            self.catch_up(now, link, step.offer, out);
        }
    }

    /// The index from the store, as at the relay's start-up.
    pub(super) fn reindex(&mut self) {
        self.digests = RunDigests::new(self.config.me.as_str());
        for (doc, fingerprint) in self.store.get().fingerprints() {
            self.digests.listed(doc, fingerprint);
        }
    }

    /// Each run's fingerprint in this relay's index, where it claims to know it; checked
    /// against what its store holds.
    pub fn known_digests(&mut self) -> Result<BTreeMap<DocumentId, Fingerprint>, String> {
        let mut known = BTreeMap::new();
        for (doc, fingerprint) in self.digests.known() {
            let stored = self.store.get().stored_heads(doc);
            if Fingerprint::of_heads(&stored) != fingerprint {
                return Err(format!(
                    "relay {}'s digest of {doc} does not match the heads its store holds",
                    self.index
                ));
            }
            known.insert(doc, fingerprint);
        }
        Ok(known)
    }
}
