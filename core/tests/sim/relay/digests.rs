//! The simulated relay's digests: the index of its stored runs in the shipped
//! `RelayMesh`, kept as the relay keeps it (from the shards' stored heads, from the
//! store at a restart, forgotten when another relay sharing the store changes a run), and
//! reconciliation on mesh links.

use std::collections::BTreeMap;

use runmesh_core::DocumentId;
use runmesh_core::digest::{DigestMessage, Fingerprint};
use runmesh_core::hub::Link;
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

    /// Sends `message` on `conn`.
    pub(super) fn send_digest(
        &self,
        conn: u64,
        to: &PeerId,
        message: &DigestMessage,
        out: &mut Vec<Out>,
    ) {
        let frame = self.digest_frame(to, message);
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
        let (replies, _) = self.mesh.reconciliation().answer(now, link, message);
        for reply in replies {
            let frame = self.digest_frame(&link.peer, &reply);
            out.push(Out::Frame { conn, frame });
        }
        self.offer_due(now, out);
    }

    /// The index from the store, as at the relay's start-up.
    pub(super) fn reindex(&mut self) {
        for (doc, fingerprint) in self.store.get().fingerprints() {
            self.mesh
                .reconciliation()
                .digests()
                .listed(doc, fingerprint);
        }
    }

    /// Each run's fingerprint in this relay's index, where it claims to know it; checked
    /// against what its store holds.
    pub fn known_digests(&mut self) -> Result<BTreeMap<DocumentId, Fingerprint>, String> {
        let mut known = BTreeMap::new();
        for (doc, fingerprint) in self.mesh.reconciliation().digests().known() {
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
