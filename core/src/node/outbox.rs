//! A peer's outbound queue, as rules: how many bytes it may leave unread, and what
//! becomes of a frame its queue cannot take. The relay counts the bytes (shared by the
//! run tasks that send to the peer and the socket's writer); the simulation counts its
//! own; both decide here.

use crate::hub::PeerKind;
use crate::sync::WireMessage;

/// The most bytes a client may leave unread in its queue, besides one frame of any size
/// (a whole run, to a client that has nothing).
pub const CLIENT_QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// The same for a mesh link, which a catch-up sends many whole runs at once.
pub const MESH_QUEUE_BYTES: usize = 4 * CLIENT_QUEUE_BYTES;

/// What a peer of `kind` may leave unread besides one frame: a relay more than a client
/// (a catch-up offers many whole runs at once to a relay that asked for none of them),
/// but a link that stops reading is cut off as a client is (tenth attack, E27).
pub fn queue_cap(kind: PeerKind) -> usize {
    match kind {
        PeerKind::Client => CLIENT_QUEUE_BYTES,
        PeerKind::Mesh => MESH_QUEUE_BYTES,
    }
}

/// The most a reader's queue may hold for presence to be queued for it: a reader that
/// leaves more unread gets none (presence is lossy), so presence never fills the relay's
/// memory (twelfth attack, E36: presence queued for 256 sockets that read nothing took
/// the budget, and every other caller's writes got 503).
pub const PRESENCE_QUEUE_BYTES: usize = 256 * 1024;

/// Whether a presence frame of `len` bytes may join a queue holding `queued` bytes.
pub fn fits_presence(queued: usize, len: usize) -> bool {
    queued.saturating_add(len) <= PRESENCE_QUEUE_BYTES
}

/// Whether a frame of `len` bytes fits a queue holding `queued` bytes under `cap`: one
/// frame of any size fits an empty queue.
pub fn fits(queued: usize, len: usize, cap: usize) -> bool {
    queued == 0 || queued.saturating_add(len) <= cap
}

/// What becomes of a frame the peer's queue cannot take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Dropped: presence may be lost (the next says the same, newer), and a reader is
    /// not cut off for it.
    Drop,
    /// The peer is not keeping up: it is cut off, and resyncs from scratch when it
    /// reconnects (a sync message may not be lost while the session lives).
    CutOff,
}

/// What becomes of `message` if the peer's queue cannot take it.
pub fn overflow(message: &WireMessage) -> Overflow {
    match message {
        WireMessage::Ephemeral { .. } => Overflow::Drop,
        _ => Overflow::CutOff,
    }
}

/// Whether a frame of `len` bytes may join a peer's queue holding `queued` bytes under
/// `cap`, for a frame that [`overflow`]s as `overflow`: presence only while the queue is
/// short ([`fits_presence`]), anything else while it [`fits`]. A frame without room
/// meets its overflow: dropped, or the peer cut off.
pub fn has_room(overflow: Overflow, queued: usize, len: usize, cap: usize) -> bool {
    match overflow {
        Overflow::Drop => fits_presence(queued, len),
        Overflow::CutOff => fits(queued, len, cap),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::PeerId;

    #[test]
    fn one_frame_of_any_size_fits_an_empty_queue_and_then_the_cap_holds() {
        let cap = queue_cap(PeerKind::Client);
        assert!(fits(0, cap * 3, cap));
        assert!(fits(cap - 10, 10, cap));
        assert!(!fits(cap - 10, 11, cap));
        assert!(!fits(usize::MAX, 1, cap), "no overflow of the count");
        assert!(queue_cap(PeerKind::Mesh) > cap);
    }

    #[test]
    fn presence_joins_only_a_short_queue() {
        assert!(fits_presence(0, PRESENCE_QUEUE_BYTES));
        assert!(!fits_presence(1, PRESENCE_QUEUE_BYTES));
        assert!(!fits_presence(usize::MAX, 1));
    }

    #[test]
    fn room_follows_what_overflows() {
        let cap = 4 * PRESENCE_QUEUE_BYTES;
        let queued = 2 * PRESENCE_QUEUE_BYTES;
        assert!(has_room(Overflow::CutOff, queued, 10, cap));
        assert!(!has_room(Overflow::Drop, queued, 10, cap));
        assert!(!has_room(Overflow::CutOff, cap, 10, cap));
        assert!(has_room(Overflow::Drop, 0, 10, cap));
    }

    #[test]
    fn presence_is_dropped_and_everything_else_cuts_the_peer_off() {
        let (a, b) = (PeerId::from("a"), PeerId::from("b"));
        let presence = WireMessage::Ephemeral {
            sender_id: a.clone(),
            target_id: b.clone(),
            count: 1,
            session_id: "s".into(),
            document_id: crate::RunId::random().document_id(),
            data: vec![1],
        };
        assert_eq!(overflow(&presence), Overflow::Drop);
        let leave = WireMessage::Leave { sender_id: a };
        assert_eq!(overflow(&leave), Overflow::CutOff);
    }
}
