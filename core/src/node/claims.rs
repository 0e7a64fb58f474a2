//! [`PeerClaims`]: which caller holds each client peer id. A run's hub knows a peer by
//! its id, and a new connection of a known id replaces the old one (a client that
//! reconnects). Every peer of a run sees the others' ids in their presence, so anyone
//! could join with another's id and take its place on the run: its changes and
//! presence went to the newcomer (twelfth attack, E38). An id is the caller's who first
//! holds it, until its last connection ends; another caller's `join` with it is refused.

use std::collections::HashMap;

use crate::hub::SessionId;
use crate::sync::PeerId;

/// The live client connections' peer ids, each with its caller and connection.
#[derive(Debug)]
pub struct PeerClaims<C> {
    held: HashMap<PeerId, (C, SessionId)>,
}

impl<C> Default for PeerClaims<C> {
    fn default() -> Self {
        Self {
            held: HashMap::new(),
        }
    }
}

impl<C: PartialEq> PeerClaims<C> {
    /// Connection `session` of `caller` claims `peer`: refused, saying why, if another
    /// caller's connection holds it; else it holds it now (the same caller's newer
    /// connection replaces its older one, as a reconnect does).
    pub fn claim(&mut self, peer: &PeerId, caller: C, session: SessionId) -> Result<(), String> {
        if let Some((owner, _)) = self.held.get(peer)
            && *owner != caller
        {
            return Err(format!(
                "peer id {peer} is in use by another caller's connection: each connection needs an id of its own"
            ));
        }
        self.held.insert(peer.clone(), (caller, session));
        Ok(())
    }

    /// Connection `session` ended: `peer` is free, unless a newer connection holds it.
    pub fn release(&mut self, peer: &PeerId, session: SessionId) {
        if self.held.get(peer).is_some_and(|(_, s)| *s == session) {
            self.held.remove(peer);
        }
    }

    /// How many ids are held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_caller_may_not_take_a_held_id_and_the_same_caller_may_reconnect() {
        let mut claims = PeerClaims::default();
        let peer = PeerId::from("alice-tab");
        claims.claim(&peer, "alice", SessionId(1)).unwrap();
        let err = claims.claim(&peer, "mallory", SessionId(2)).unwrap_err();
        assert!(err.contains("in use by another caller"), "{err}");
        claims.claim(&peer, "alice", SessionId(3)).unwrap();
        claims.release(&peer, SessionId(1)); // the old connection ends: no effect
        assert_eq!(claims.len(), 1);
        claims.release(&peer, SessionId(3));
        assert!(claims.is_empty());
        claims.claim(&peer, "mallory", SessionId(4)).unwrap();
    }
}
