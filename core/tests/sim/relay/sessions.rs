//! The simulated relay's connections: accepted or dialled, the handshake, each frame
//! routed and admitted by the shipped rules (`runmesh_core::node`), and the close.

use runmesh_core::hub::{Link, SessionId};
use runmesh_core::node::{Admission, Command, Grants, Routed, route};
use runmesh_core::sync::{WireMessage, handshake};

use super::{Out, Session, SimRelay};

impl SimRelay {
    /// A client or relay connected to us on `conn`.
    pub fn accepted(&mut self, conn: u64) {
        self.sessions.insert(conn, session(false));
    }

    /// A client whose token yields `grants` connected to us on `conn` (with
    /// `ignore_grants`, the broken relay admits it as if it held every grant).
    pub fn accepted_with(&mut self, conn: u64, grants: Grants) {
        let grants = if self.ignore_grants {
            Grants::Open
        } else {
            grants
        };
        let mut session = session(false);
        session.admission = Admission::new(grants, usize::MAX);
        self.sessions.insert(conn, session);
    }

    /// We dialled relay `to` on `conn`: the `join` to send.
    pub fn dialled(&mut self, conn: u64) -> Vec<u8> {
        self.sessions.insert(conn, session(true));
        handshake::join(&self.config.me, self.metadata()).encode()
    }

    /// A frame arrived on `conn`.
    pub fn on_frame(&mut self, now: u64, conn: u64, frame: &[u8], out: &mut Vec<Out>) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        let message = match WireMessage::decode(frame, usize::MAX) {
            Ok(m) => m,
            Err(e) => return out.push(Out::Violation(format!("undecodable frame: {e}"))),
        };
        let Some(peer) = session.peer.clone() else {
            return self.handshake(now, conn, message, out);
        };
        let link = Link {
            peer,
            session: SessionId(conn),
            kind: session.admission.kind(),
        };
        // Routed and admitted by the shipped rules (`runmesh_core::node`), as the relay's
        // sessions do.
        let routed = match route(message, &link.peer, link.kind) {
            Ok(routed) => routed,
            Err(e) => return out.push(Out::Violation(format!("a peer broke the protocol: {e}"))),
        };
        match routed {
            Routed::Sync(frame) => {
                let doc = frame.doc;
                if let Err(why) = session.admission.sync(doc, &frame.message, |_| Ok(())) {
                    // Refused, as the relay's session refuses it. Only a session with
                    // every grant (the simulation's clients) is never to be refused.
                    if matches!(session.admission.grants(), Grants::Open) {
                        out.push(Out::Violation(format!("refused a sync message: {why}")));
                    }
                    return;
                }
                let input = Command::Sync {
                    from: link.clone(),
                    message: frame.message,
                    request: frame.request,
                };
                self.feed(now, doc, vec![input], Some(&link), out);
            }
            Routed::Ephemeral { doc, presence } => {
                let input = Command::Ephemeral {
                    from: link,
                    presence,
                };
                self.feed(now, doc, vec![input], None, out);
            }
            Routed::Unavailable { doc } => {
                let input = Command::Unavailable { from: link };
                self.feed(now, doc, vec![input], None, out);
            }
            Routed::Digest(message) => self.on_digest(now, conn, &link, &message, out),
            Routed::Reach(message) => self.heard_claims(&link.peer, message.claims, out),
            Routed::End(Some(message)) => {
                out.push(Out::Violation(format!(
                    "relay {} was sent an error: {message}",
                    self.index
                )));
            }
            Routed::End(None) | Routed::Nothing => {}
        }
    }

    pub(super) fn handshake(
        &mut self,
        now: u64,
        conn: u64,
        message: WireMessage,
        out: &mut Vec<Out>,
    ) {
        let metadata = self.metadata();
        let session = self.sessions.get_mut(&conn).expect("checked by the caller");
        let joined = if session.dialled {
            handshake::confirm(message).map_err(|e| e.to_string())
        } else {
            match handshake::accept(message, &self.config.me, &metadata) {
                Ok((joined, reply)) => {
                    out.push(Out::Frame {
                        conn,
                        frame: reply.encode(),
                    });
                    Ok(joined)
                }
                Err(refusal) => Err(format!("{refusal:?}")),
            }
        };
        let joined = match joined {
            Ok(joined) => joined,
            Err(e) => return out.push(Out::Violation(format!("handshake failed: {e}"))),
        };
        session.peer = Some(joined.peer.clone());
        let dialled = session.dialled;
        if let Some(region) = joined.metadata.region {
            session.admission = Admission::new(Grants::Mesh, usize::MAX);
            self.mesh_link_up(now, conn, joined.peer, region, dialled, out);
        }
    }

    /// Connection `conn` closed.
    pub fn closed(&mut self, now: u64, conn: u64, out: &mut Vec<Out>) {
        let Some(session) = self.sessions.remove(&conn) else {
            return;
        };
        let Some(peer) = session.peer else { return };
        self.mesh_link_down(now, conn, &peer, out);
        let link = Link {
            peer,
            session: SessionId(conn),
            kind: session.admission.kind(),
        };
        for &doc in session.admission.attached() {
            if self.shards.contains_key(&doc) {
                self.feed(now, doc, vec![Command::Detach(link.clone())], None, out);
            }
        }
    }
}

fn session(dialled: bool) -> Session {
    Session {
        peer: None,
        dialled,
        // A client until its handshake says it is a relay; the simulation's clients
        // hold every grant.
        admission: Admission::new(Grants::Open, usize::MAX),
    }
}
