//! The simulated relay's runs: loading one's shard, feeding it a batch and performing its
//! effects as the relay's shell does, each effect checked against the rules as it is
//! performed (a sync message or an answer speaks only of stored changes, a lookup starts
//! only from a client).

use std::collections::VecDeque;

use runmesh_core::DocumentId;
use runmesh_core::hub::{Link, PeerKind};
use runmesh_core::node::{Command, Effect};
use runmesh_core::sync::{WireMessage, decode_message};

use super::{MAX_BACKLOG, Out, Shard, SimRelay};

impl SimRelay {
    pub(super) fn hub(&mut self, now: u64, doc: DocumentId, out: &mut Vec<Out>) {
        if self.shards.contains_key(&doc) {
            return;
        }
        let (mut shard, first) = Shard::new(self.config.clone(), doc, now, self.idle);
        if self.tell_heads_early {
            shard = shard.telling_heads_early();
        }
        self.shards.insert(doc, shard);
        self.perform(now, doc, first, None, out);
        let mesh = Command::Mesh(self.mesh_links());
        self.feed(now, doc, vec![mesh], None, out);
    }

    /// Feeds `commands` to `doc`'s shard as one batch and performs what it asks. `from`
    /// is the peer whose message this is, if any (lookups may only start from clients).
    pub(super) fn feed(
        &mut self,
        now: u64,
        doc: DocumentId,
        commands: Vec<Command<u64, Link, Link>>,
        from: Option<&Link>,
        out: &mut Vec<Out>,
    ) {
        if !self.shards.contains_key(&doc) {
            self.hub(now, doc, out);
        }
        let shard = self.shards.get_mut(&doc).expect("just loaded");
        let effects = shard.handle_batch(now, commands);
        self.perform(now, doc, effects, from, out);
    }

    /// Performs a shard's effects in order, each checked against the rules as it is
    /// performed, handing each outcome back to the shard.
    pub(super) fn perform(
        &mut self,
        now: u64,
        doc: DocumentId,
        effects: Vec<Effect<u64, Link, Link>>,
        from: Option<&Link>,
        out: &mut Vec<Out>,
    ) {
        let mut queue = VecDeque::from(effects);
        while let Some(effect) = queue.pop_front() {
            if self.log {
                self.log_effect(now, doc, &effect);
            }
            let shard = self.shards.get_mut(&doc).expect("still loaded");
            match effect {
                Effect::Load => {
                    let loaded = Command::Loaded(Ok(self.store.get().load(doc)));
                    queue.extend(shard.handle(now, loaded));
                }
                Effect::Persist(persist) => {
                    let id = persist.id;
                    self.writes.insert((doc, id), persist.clone());
                    out.push(Out::Write { doc, persist });
                    if self.ack_before_write {
                        queue.extend(shard.handle(now, Command::Stored(id)));
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
                Effect::Settled(link) => self.note_in_step(doc, link),
                Effect::StoredHeads { heads, known } => {
                    if known {
                        self.mesh.reconciliation().digests().stored(doc, &heads);
                    }
                    if !heads.is_empty() {
                        self.stored_here(now, doc, heads, out);
                    }
                }
                Effect::Divergence { .. } | Effect::Titled(_) | Effect::Event(_) => {}
            }
        }
        let shard = self.shards.get_mut(&doc).expect("still loaded");
        if let Some(at) = shard.hub().next_wake() {
            out.push(Out::Wake { doc, at });
        }
        let backlog = shard.hub().backlog();
        if backlog > MAX_BACKLOG {
            out.push(Out::Violation(format!(
                "a hub holds {backlog} inputs and answers"
            )));
        }
        self.wake_to_leave(doc, out);
        self.after_batch(now, out);
    }

    fn log_effect(&self, now: u64, doc: DocumentId, effect: &Effect<u64, Link, Link>) {
        let what = match effect {
            Effect::Send { to, message } => {
                format!("send {} to {} s{}", message.kind(), to.peer, to.session.0)
            }
            Effect::Persist(p) => format!("persist {:?}", p.id),
            Effect::Reply { .. } => "reply".into(),
            Effect::Load => "load".into(),
            Effect::Divergence { peer, differs } => format!("divergence {peer} {differs}"),
            Effect::Settled(link) => format!("in step with {}", link.peer),
            Effect::Titled(title) => format!("titled {title}"),
            Effect::StoredHeads { heads, known } => format!("stored {heads:?} known {known}"),
            Effect::Event(e) => format!("{e:?}"),
        };
        eprintln!(
            "{now}   relay {} doc {}: {what}",
            self.index,
            &doc.to_string()[..4]
        );
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
