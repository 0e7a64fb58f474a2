//! The simulated network: connections between relays and clients, and the queue of
//! everything scheduled to happen.
//!
//! A connection behaves as a WebSocket over TCP does: frames in one direction arrive in
//! the order they were sent (each after its own random delay), and when a connection
//! breaks, everything still in flight on it is lost and both ends see it close. What the
//! schedule varies is the delay of every frame, the interleaving of all connections and
//! of storage, duplicated deliveries, and when connections break.

use std::collections::BTreeMap;

/// One end of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum End {
    /// Relay `i`.
    Relay(usize),
    /// Client `i`.
    Client(usize),
}

/// A connection. `ends[0]` dialled `ends[1]`.
#[derive(Debug)]
pub struct Conn {
    pub ends: [End; 2],
    pub up: bool,
    /// Per direction (0: from `ends[0]`), when the last frame is due: a later frame is
    /// never due before it.
    last_due: [u64; 2],
    /// Per direction, bytes in flight (the receiver's queue, as a relay counts it).
    pub in_flight: [usize; 2],
    /// Per direction, frames sent so far.
    pub sent: [usize; 2],
}

impl Conn {
    pub fn new(from: End, to: End) -> Self {
        Self {
            ends: [from, to],
            up: true,
            last_due: [0; 2],
            in_flight: [0; 2],
            sent: [0; 2],
        }
    }

    /// The direction of frames sent by `from`.
    pub fn dir(&self, from: End) -> usize {
        usize::from(self.ends[0] != from)
    }

    /// When a frame sent now with `delay` is due, keeping the direction in order.
    /// When the last frame sent in direction `dir` is due.
    pub fn last_due(&self, dir: usize) -> u64 {
        self.last_due[dir]
    }

    pub fn due(&mut self, dir: usize, now: u64, delay: u64) -> u64 {
        let at = (now + delay).max(self.last_due[dir]);
        self.last_due[dir] = at;
        at
    }
}

/// Something scheduled.
#[derive(Debug)]
pub enum Event {
    /// A frame arrives at the `dir` end of connection `conn`.
    Deliver {
        conn: u64,
        dir: usize,
        frame: Vec<u8>,
    },
    /// A write of relay `relay` (while it ran as `epoch`) completes.
    Written {
        relay: usize,
        epoch: u32,
        doc: runmesh_core::DocumentId,
        persist: runmesh_core::hub::Persist,
    },
    /// A hub of relay `relay` asked to be woken.
    Wake {
        relay: usize,
        epoch: u32,
        doc: runmesh_core::DocumentId,
    },
    /// Relay `relay` looks at its catch-ups again (an offer ran out of time).
    CatchUp { relay: usize, epoch: u32 },
    /// Relay `relay` hears that another relay sharing its store appended `chunk`.
    Elsewhere {
        relay: usize,
        epoch: u32,
        doc: runmesh_core::DocumentId,
        chunk: Vec<u8>,
    },
    /// Relay `relay` listens again after losing notifications: it reads what it missed.
    Resync { relay: usize, epoch: u32 },
    /// Connection `conn` closes (one end asked to, once what it sent had arrived).
    Cut { conn: u64 },
    /// Relay `from` dials relay `to`.
    Dial { from: usize, to: usize },
    /// Client `client` connects to its relay.
    Connect { client: usize },
    /// The write in flight of client `client` (in its life `epoch`) completes.
    ClientWritten { client: usize, epoch: u32 },
    /// Client `client` tries a failed write again.
    ClientRetry { client: usize, epoch: u32 },
    /// A session granted only reading run `run` sends relay `relay` a change of it.
    Intrude { relay: usize, run: usize },
    /// A crashed relay starts again.
    Restart { relay: usize },
    /// The workload does something.
    Act,
    /// The faults end: everything comes back up and reconnects.
    Heal,
}

/// Events in the order they happen: by time, then by when they were scheduled.
#[derive(Default)]
pub struct Schedule {
    events: BTreeMap<(u64, u64), Event>,
    seq: u64,
}

impl Schedule {
    pub fn at(&mut self, time: u64, event: Event) {
        self.seq += 1;
        self.events.insert((time, self.seq), event);
    }

    pub fn next(&mut self) -> Option<(u64, Event)> {
        self.events.pop_first().map(|((time, _), e)| (time, e))
    }
}
