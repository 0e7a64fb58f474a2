//! The hub's inputs that take most deciding: a peer's sync message (and the lookup a
//! client's request for an unknown run starts), and a local operation.

use automerge::AutoCommit;
use automerge::sync::Message;

use crate::error::RunError;
use crate::hub::content::Content;
use crate::hub::interface::{Effect, HubEvent, Link, Millis, PeerKind};
use crate::hub::operations::{self, OpError, RunOp};
use crate::hub::{Held, RunHub, State, send};
use crate::lineage::{AfterCache, Holds, Roots};
use crate::sync::{SyncError, WireMessage};

impl<R> RunHub<R> {
    pub(super) fn on_sync(
        &mut self,
        now: Millis,
        from: Link,
        message: Message,
        request: bool,
        out: &mut Vec<Effect<R>>,
    ) {
        out.push(Effect::Event(HubEvent::SyncReceived));
        let unknown = match &mut self.state {
            State::Ready(None) => true,
            State::Ready(Some(content)) => content.unchanged().get_heads().is_empty(),
            // An unreadable stored run is this run's problem, not the connection's:
            // `doc-unavailable` (an `error` would close the socket, and with it every
            // other run a mesh link carries).
            State::Unreadable(_) | State::Loading => {
                self.attach(from.clone());
                let message = WireMessage::unavailable(self.id, &self.config.me, &from.peer);
                out.push(send(&from, message));
                return;
            }
        };
        if request && unknown {
            self.look_up(now, from, out);
            return;
        }
        self.attach(from.clone());
        // Weighed as Automerge will hold them: deflated changes inflated.
        let incoming = crate::bounds::weigh_changes(message.changes.iter());
        let max = self.config.max_document_bytes;
        let stored = self.durable.weight();
        let refused = match &incoming {
            Ok(incoming) if *incoming > 0 && stored.saturating_add(*incoming) > max => {
                Some(format!(
                    "run {} holds {stored} bytes; these changes would pass the limit of {max} bytes (--max-document-bytes), weighed uncompressed and at {} bytes an op ({incoming} bytes): refused, nothing applied",
                    self.run_id,
                    crate::bounds::OP_WEIGHT,
                ))
            }
            Ok(_) => None,
            Err(e) => Some(format!("changes refused before parsing: {e}")),
        };
        let refused = refused.or_else(|| {
            let incoming = *incoming.as_ref().unwrap_or(&0);
            (incoming > 0)
                .then(|| self.reserve(incoming, out).err())
                .flatten()
        });
        if let Some(why) = refused {
            out.push(send(
                &from,
                WireMessage::error(&self.config.me, Some(&from.peer), why),
            ));
            return;
        }
        let State::Ready(slot) = &mut self.state else {
            unreachable!("handled above")
        };
        // What a client sends must keep the lineage rule. A mesh peer sends what its
        // relay holds, which that relay checked when it took it in (or held before the
        // rule: refusing it would keep the run apart between relays for ever).
        let checked = from.kind == PeerKind::Client || !self.config.trust_mesh;
        if checked && let Err(e) = admit(slot.as_mut(), &message, &mut self.after) {
            let why = e.to_string();
            out.push(Effect::Event(HubEvent::SyncRefused(why.clone())));
            out.push(send(
                &from,
                WireMessage::error(&self.config.me, Some(&from.peer), why),
            ));
            return;
        }
        let created = slot.is_none();
        let content = slot.get_or_insert_with(|| Content::empty(&self.config.identity));
        let before = content.unchanged().get_heads();
        let received = self
            .sync
            .receive(content.automerge(), &from.peer, message)
            .and_then(|changed| {
                // A client's changes must be kept as they came (`lineage/kept.rs`).
                if changed && checked {
                    crate::lineage::check_kept(content.unchanged(), &before)
                        .map_err(|e| SyncError::Unkept(e.to_string()))?;
                }
                Ok(changed)
            });
        match received {
            Ok(changed) => {
                // Queued changes count too: they wait in memory for their dependency.
                self.durable.took(*incoming.as_ref().unwrap_or(&0));
                if changed {
                    self.stale = true;
                    self.appeared |= unknown;
                }
            }
            Err(e) => {
                if created {
                    *slot = None;
                }
                let panicked = matches!(e, SyncError::Panicked(_) | SyncError::Unkept(_));
                let why = e.to_string();
                out.push(Effect::Event(HubEvent::SyncRefused(why.clone())));
                out.push(send(
                    &from,
                    WireMessage::error(&self.config.me, Some(&from.peer), why.clone()),
                ));
                if panicked {
                    self.reload(why, out);
                }
            }
        }
    }

    /// Takes in changes another relay stored in the shared store.
    pub(super) fn stored_elsewhere(&mut self, bytes: Vec<u8>, out: &mut Vec<Effect<R>>) {
        let State::Ready(slot) = &mut self.state else {
            return; // an unreadable run is not served; a loading one defers this
        };
        let absent = slot.is_none();
        let content = slot.get_or_insert_with(|| Content::empty(&self.config.identity));
        let before = content.unchanged().get_heads();
        let doc = content.automerge();
        let applied = crate::intake::guard(bytes.len(), || doc.load_incremental(&bytes));
        let refused = match applied {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        let changed = content.unchanged().get_heads() != before;
        if changed {
            self.durable.absorbed(content, &before, &bytes);
            self.stale = true;
            self.appeared |= before.is_empty();
            self.sync.local_change();
        } else if absent {
            *slot = None;
        }
        if let Some(why) = refused {
            out.push(Effect::Event(HubEvent::ElsewhereRefused(why)));
        }
    }

    /// A client asked for a run this relay lacks: ask the mesh peers first (the client
    /// waits), or answer at once if there are none or the asker is a mesh peer.
    fn look_up(&mut self, now: Millis, from: Link, out: &mut Vec<Effect<R>>) {
        let mesh = match from.kind {
            PeerKind::Mesh => Vec::new(),
            PeerKind::Client => self.peers.mesh().to_vec(),
        };
        self.attach(from.clone());
        if mesh.is_empty() {
            out.push(send(
                &from,
                WireMessage::unavailable(self.id, &self.config.me, &from.peer),
            ));
            return;
        }
        if !self
            .lookup
            .wait(from.peer, now + self.config.lookup_timeout)
        {
            return; // already asking
        }
        for link in mesh {
            // An empty scratch document makes the opening message say "I have nothing".
            let mut scratch = AutoCommit::new();
            self.attach(link.clone());
            if let Some(opening) = self.sync.add_peer(&mut scratch, &link.peer) {
                self.lookup.asking(link.peer.clone());
                out.push(send(&link, opening.into_request()));
            }
        }
    }

    pub(super) fn op(
        &mut self,
        op: RunOp,
        user: &str,
        at_ms: u64,
        reply: R,
        out: &mut Vec<Effect<R>>,
    ) {
        self.refresh_view();
        if let State::Unreadable(why) = &self.state {
            let result = Err(OpError::Unreadable(why.clone()));
            return out.push(Effect::Reply { to: reply, result });
        }
        let max = self.config.max_document_bytes;
        let stored = self.durable.weight();
        let weight = op.weight();
        if stored.saturating_add(weight) > max {
            let result = Err(OpError::TooLarge {
                run: self.run_id,
                stored,
                max,
            });
            return out.push(Effect::Reply { to: reply, result });
        }
        if let Err(why) = self.reserve(weight, out) {
            let result = Err(OpError::MemoryFull(why));
            return out.push(Effect::Reply { to: reply, result });
        }
        let State::Ready(slot) = &mut self.state else {
            unreachable!("inputs wait while loading; unreadable answered above")
        };
        let was_absent = slot.is_none();
        let source = match &op {
            RunOp::ApplyBytes { source_region, .. } => Some(source_region.clone()),
            _ => None,
        };
        match operations::apply(slot, self.run_id, &self.config.identity, op, user, at_ms) {
            Ok(done) => {
                if done.changed {
                    self.durable.took(weight);
                    self.sync.local_change();
                    self.appeared |= was_absent;
                    if source.is_some() {
                        self.source_region = source;
                    }
                    if let Some(Content::Run(run)) = slot {
                        out.push(Effect::Event(HubEvent::Lamport(run.lamport())));
                    }
                }
                self.held.push(Held {
                    to: reply,
                    result: Ok(done),
                    after: self.durable.upcoming(),
                });
            }
            Err(e) => {
                let panicked = matches!(e, OpError::Run(RunError::ApplyFailed { .. }));
                let why = e.to_string();
                out.push(Effect::Reply {
                    to: reply,
                    result: Err(e),
                });
                if panicked {
                    self.reload(why, out);
                }
            }
        }
    }
}

/// Checks the changes a client's sync message carries against the lineage rule, before
/// any is applied to what the hub holds.
fn admit(
    content: Option<&mut Content>,
    message: &Message,
    after: &mut AfterCache,
) -> Result<(), RunError> {
    if message.changes.is_empty() {
        return Ok(());
    }
    let roots = Roots::of_chunks(message.changes.iter())?;
    match content {
        None => {
            roots.admit(Holds::Nothing, |_| false)?;
            roots.admit_into(&mut AutoCommit::new())
        }
        Some(content) => {
            let holds = content.holds();
            let doc = content.unchanged();
            roots.admit(holds, |h| doc.get_change_meta_by_hash(h).is_some())?;
            roots.admit_into_kept(doc, after)
        }
    }
}
