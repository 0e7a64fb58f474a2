//! The simulated relay's hubs: loading one, feeding it a batch and performing its
//! effects as the relay's shell does, each effect checked against the rules as it is
//! performed (a sync message or an answer speaks only of stored changes, a lookup starts
//! only from a client).

use std::collections::VecDeque;

use runmesh_core::DocumentId;
use runmesh_core::hub::{Effect, Input, Link, PeerKind, RunHub};
use runmesh_core::node::Residency;
use runmesh_core::sync::{WireMessage, decode_message};

use super::{MAX_BACKLOG, Out, SimRelay};

impl SimRelay {
    pub(super) fn hub(&mut self, now: u64, doc: DocumentId, out: &mut Vec<Out>) {
        if self.hubs.contains_key(&doc) {
            return;
        }
        let hub = RunHub::new(self.config.clone(), doc);
        self.hubs.insert(doc, hub);
        self.residency.insert(doc, Residency::new(now, self.idle));
        let loaded = Input::Loaded(Ok(self.store.get().load(doc)));
        let mesh = Input::Mesh(self.mesh_links());
        self.feed(now, doc, vec![loaded, mesh], None, out);
    }

    /// Feeds `inputs` to `doc`'s hub as one batch and performs what it asks. `from` is
    /// the peer whose message this is, if any (lookups may only start from clients).
    pub(super) fn feed(
        &mut self,
        now: u64,
        doc: DocumentId,
        inputs: Vec<Input<u64>>,
        from: Option<&Link>,
        out: &mut Vec<Out>,
    ) {
        if !self.hubs.contains_key(&doc) {
            self.hub(now, doc, out);
        }
        // What the relay's run task counts as use: a command, not time or a store's
        // outcome; a client's or an operation's, not only other relays'.
        let used = inputs.iter().any(|i| {
            !matches!(
                i,
                Input::Tick
                    | Input::Loaded(_)
                    | Input::Mesh(_)
                    | Input::Stored(_)
                    | Input::StoreFailed(..)
            )
        });
        let here = from.is_some_and(|l| l.kind == PeerKind::Client)
            || inputs.iter().any(|i| matches!(i, Input::Op { .. }));
        if used {
            let residency = self.residency.get_mut(&doc).expect("loaded with its hub");
            residency.used(now, here);
        }
        let hub = self.hubs.get_mut(&doc).expect("just loaded");
        let mut queue = VecDeque::from(hub.handle_batch(now, inputs));
        while let Some(effect) = queue.pop_front() {
            let hub = self.hubs.get_mut(&doc).expect("still loaded");
            if self.log {
                let what = match &effect {
                    Effect::Send { to, message } => {
                        format!("send {} to {} s{}", message.kind(), to.peer, to.session.0)
                    }
                    Effect::Persist(p) => format!("persist {:?}", p.id),
                    Effect::Reply { .. } => "reply".into(),
                    Effect::Load => "load".into(),
                    Effect::Divergence { peer, differs } => format!("divergence {peer} {differs}"),
                    Effect::Event(e) => format!("{e:?}"),
                };
                eprintln!(
                    "{now}   relay {} doc {}: {what}",
                    self.index,
                    &doc.to_string()[..4]
                );
            }
            match effect {
                Effect::Load => {
                    let loaded = Input::Loaded(Ok(self.store.get().load(doc)));
                    queue.extend(hub.handle(now, loaded));
                }
                Effect::Persist(persist) => {
                    let id = persist.id;
                    self.writes.insert((doc, id), persist.clone());
                    out.push(Out::Write { doc, persist });
                    if self.ack_before_write {
                        queue.extend(hub.handle(now, Input::Stored(id)));
                    }
                }
                Effect::Send { to, message } => {
                    if let Some(why) = self.breach(doc, &message, from) {
                        out.push(Out::Violation(why));
                    }
                    if let Some(session) = self.sessions.get(&to.session.0)
                        && session.peer.as_ref() == Some(&to.peer)
                    {
                        let frame = message.encode();
                        out.push(Out::Frame {
                            conn: to.session.0,
                            frame,
                        });
                    }
                }
                Effect::Reply { to, result } => {
                    let error = result.as_ref().err().map(ToString::to_string);
                    let stored = matches!(result, Ok(ref r) if r.changed);
                    if stored && let Some(change) = self.op_changes.get(&to).copied() {
                        if !self.store.get().holds(doc, &change) {
                            out.push(Out::Violation(format!(
                                "relay {} answered an operation on {doc} before its change {change} was stored",
                                self.index
                            )));
                        }
                        self.acked.push((doc, change));
                    }
                    out.push(Out::Answered {
                        op: to,
                        stored,
                        error,
                    });
                }
                Effect::Divergence { peer, differs } => {
                    self.note_divergence(doc, peer, differs);
                }
                Effect::Event(_) => {}
            }
        }
        let stored = self.hubs[&doc].stored_heads();
        self.digests.stored(doc, &stored);
        let hub = self.hubs.get_mut(&doc).expect("still loaded");
        if let Some(at) = hub.next_wake() {
            out.push(Out::Wake { doc, at });
        }
        if hub.backlog() > MAX_BACKLOG {
            out.push(Out::Violation(format!(
                "a hub holds {} inputs and answers",
                hub.backlog()
            )));
        }
        self.wake_to_leave(doc, out);
        self.after_batch(now, out);
    }

    /// Why sending `message` about `doc` breaks a rule, if it does.
    pub(super) fn breach(
        &mut self,
        doc: DocumentId,
        message: &WireMessage,
        from: Option<&Link>,
    ) -> Option<String> {
        let (data, request) = match message {
            WireMessage::Sync { data, .. } => (data, false),
            WireMessage::Request { data, .. } => (data, true),
            _ => return None,
        };
        if request && from.is_some_and(|l| l.kind == PeerKind::Mesh) {
            return Some(format!(
                "relay {} passed a mesh peer's request on to the mesh: lookups could loop",
                self.index
            ));
        }
        let sync = decode_message(data).expect("the hub encodes what it sends");
        let mut store = self.store.get();
        let unstored = sync.heads.iter().find(|h| !store.holds(doc, h))?;
        Some(format!(
            "relay {} sent a sync message for {doc} whose change {unstored} is not stored",
            self.index
        ))
    }
}
