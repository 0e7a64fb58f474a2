//! [`Plan`]: the shape of one world, drawn from its seed; [`Counts`] and [`Summary`]:
//! what a world reports.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The shape of one world, drawn from its seed.
#[derive(Debug, Clone)]
pub struct Plan {
    pub relays: usize,
    pub clients: usize,
    pub runs: usize,
    /// Mesh as a line (0–1–2…) rather than every pair.
    pub line: bool,
    /// How long the faults last, in ms.
    pub chaos_ms: u64,
    /// Percent of writes that fail during the faults.
    pub store_fail: u32,
    /// Percent of frames delivered twice.
    pub duplicate: u32,
    /// Both relays of a pair dial each other (each lists the other as a peer), so their
    /// links meet the tie-break.
    pub both_ways: bool,
    /// How long idle runs stay in memory (used here; only touched by the mesh), in ms:
    /// short, so runs leave and load again during the faults.
    pub idle: (u64, u64),
}

impl Plan {
    pub fn from_rng(rng: &mut ChaCha8Rng) -> Self {
        Self {
            relays: rng.random_range(2..=4),
            clients: rng.random_range(2..=6),
            runs: rng.random_range(1..=2),
            line: rng.random_bool(0.3),
            chaos_ms: rng.random_range(1_000..3_000),
            store_fail: rng.random_range(0..=4),
            duplicate: rng.random_range(0..=3),
            both_ways: rng.random_bool(0.5),
            idle: (rng.random_range(200..3_000), rng.random_range(20..500)),
        }
    }
}

/// What a finished world reports.
#[derive(Debug, Default)]
pub struct Summary {
    pub events: u64,
    /// How often each kind of thing happened.
    pub counts: Counts,
    /// A digest of everything that happened, to show a seed replays exactly.
    pub trace: u64,
}

/// How often things happened in a world (summed over seeds in the report).
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub frames: u64,
    pub duplicated: u64,
    pub writes: u64,
    pub failed_writes: u64,
    pub crashes: u64,
    /// Writes of clients' stores, and clients' crashes.
    pub client_writes: u64,
    pub client_crashes: u64,
    pub broken_connections: u64,
    pub evictions: u64,
    /// Presence a full queue dropped (rather than cutting its reader off).
    pub dropped: u64,
    pub operations: u64,
    /// Appends another relay sharing the store heard of, and notifications lost.
    pub notifications: u64,
    pub lost_notifications: u64,
    /// Changes sent by sessions without write access.
    pub intrusions: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.frames += o.frames;
        self.duplicated += o.duplicated;
        self.writes += o.writes;
        self.failed_writes += o.failed_writes;
        self.crashes += o.crashes;
        self.client_writes += o.client_writes;
        self.client_crashes += o.client_crashes;
        self.broken_connections += o.broken_connections;
        self.evictions += o.evictions;
        self.dropped += o.dropped;
        self.intrusions += o.intrusions;
        self.operations += o.operations;
        self.notifications += o.notifications;
        self.lost_notifications += o.lost_notifications;
    }
}
