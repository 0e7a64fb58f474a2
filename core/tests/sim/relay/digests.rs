//! The simulated relay's digests: the index of its stored runs, kept as the relay keeps
//! it (from the hubs' stored heads, from the store at a restart, forgotten when another
//! relay sharing the store changes a run), and reconciliation on mesh links.

use std::collections::BTreeMap;

use automerge::ChangeHash;
use runmesh_core::DocumentId;
use runmesh_core::digest::{self, DigestIndex, DigestMessage, Fingerprint};
use runmesh_core::hub::{Input, Link};
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
        let frame = self.digest_frame(to, &digest::start(&self.digests));
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
        let step = digest::respond(&self.digests, message);
        for reply in step.replies {
            let frame = self.digest_frame(&link.peer, &reply);
            out.push(Out::Frame { conn, frame });
        }
        if self.drop_offers {
            return;
        }
        for doc in step.offer {
            let offer = Input::Offer {
                to: link.clone(),
                fresh: false,
            };
            self.feed(now, doc, vec![offer], None, out);
        }
    }

    /// A hub's stored heads, as its task writes them to the index.
    pub(super) fn index_stored(&mut self, doc: DocumentId, stored: &[ChangeHash]) {
        if !stored.is_empty() {
            self.digests.set(doc, Fingerprint::of_heads(stored));
            self.unknown.remove(&doc);
        }
    }

    /// Indexes `doc` as "not known": its fingerprint matches no other relay's.
    pub(super) fn forget_digest(&mut self, doc: DocumentId) {
        let mut salt = [0u8; 32];
        salt[..16].copy_from_slice(doc.as_bytes());
        salt[16] = self.index as u8;
        salt[17..21].copy_from_slice(&self.epoch.to_le_bytes());
        self.digests
            .set(doc, Fingerprint::of_heads(&[ChangeHash(salt)]));
        self.unknown.insert(doc);
    }

    /// Other relays' changes went unreported: every run not in memory is not known.
    pub(super) fn forget_unloaded_digests(&mut self) {
        let indexed: Vec<DocumentId> = self
            .digests
            .items(&[])
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        for doc in indexed {
            if !self.hubs.contains_key(&doc) {
                self.forget_digest(doc);
            }
        }
    }

    /// The index from the store, as at the relay's start-up: a run whose fingerprint is
    /// unknown gets one that matches no other relay's.
    pub(super) fn reindex(&mut self) {
        self.digests = DigestIndex::new();
        self.unknown.clear();
        let listed = self.store.get().fingerprints();
        for (doc, fingerprint) in listed {
            match fingerprint {
                Some(fingerprint) => {
                    self.digests.set(doc, fingerprint);
                }
                None => self.forget_digest(doc),
            }
        }
    }

    /// Each run's fingerprint in this relay's index, where it claims to know it; checked
    /// against what its store holds.
    pub fn known_digests(&mut self) -> Result<BTreeMap<DocumentId, Fingerprint>, String> {
        let mut known = BTreeMap::new();
        for (doc, fingerprint) in self.digests.items(&[]) {
            if self.unknown.contains(&doc) {
                continue;
            }
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
