//! [`Durability`]: which of the run's changes are stored, which are being stored, and
//! when the next snapshot is due.
//!
//! One persist is in flight at a time. Its chunk is everything since the last durable
//! point, so the changes of many inputs go to the store as one append (group commit).
//!
//! Changes another relay stored in a shared store arrive as already durable. When
//! nothing else is unstored they simply move the durable point; otherwise they are
//! remembered, and once everything unstored is theirs the durable point catches up
//! without writing them again.

use std::collections::HashSet;

use automerge::ChangeHash;

use crate::hub::chunks::change_hashes;
use crate::hub::content::Content;
use crate::hub::interface::{Persist, PersistId};

#[derive(Debug)]
struct InFlight {
    id: PersistId,
    heads: Vec<ChangeHash>,
    /// What the chunk and the snapshot weigh ([`crate::bounds::weight_of_stored`]), and
    /// the snapshot's length.
    chunk_weight: usize,
    snapshot: Option<(usize, usize)>,
}

/// What is stored of one run.
#[derive(Debug)]
pub(crate) struct Durability {
    /// Heads of what the store holds.
    persisted: Vec<ChangeHash>,
    in_flight: Option<InFlight>,
    next_id: u64,
    /// Chunks appended since the last snapshot.
    since_snapshot: u32,
    /// What the store holds (snapshot plus chunks) weighs
    /// ([`crate::bounds::weight_of_stored`]).
    stored_bytes: usize,
    /// What was taken in since the persist in flight (or the last one) started: with
    /// the store's and the persist's, what the size limit weighs. (Weighing only what
    /// is stored let twelve writes sent at once all pass a limit each alone would.)
    unstored: usize,
    /// Snapshot after this many chunks.
    snapshot_every: u32,
    /// Changes beyond `persisted` that are durable in the store already (another relay
    /// appended them).
    elsewhere: HashSet<ChangeHash>,
}

impl Durability {
    /// Nothing stored yet; snapshots every `snapshot_every` chunks.
    pub(crate) fn new(snapshot_every: u32) -> Self {
        Self {
            persisted: Vec::new(),
            in_flight: None,
            next_id: 0,
            since_snapshot: 0,
            stored_bytes: 0,
            unstored: 0,
            snapshot_every: snapshot_every.max(1),
            elsewhere: HashSet::new(),
        }
    }

    /// The store holds exactly this (a load): `heads`, `chunks` after the snapshot,
    /// weighing `bytes` in all ([`crate::bounds::weight_of_stored`]). Forgets any persist
    /// in flight.
    pub(crate) fn reset(&mut self, heads: Vec<ChangeHash>, chunks: u32, bytes: usize) {
        self.persisted = heads;
        self.since_snapshot = chunks;
        self.stored_bytes = bytes;
        self.unstored = 0;
        self.in_flight = None;
        self.elsewhere.clear();
    }

    /// `content` went from `before` to its heads now by taking in `bytes` that the store
    /// already holds. Only the changes in `bytes` count as stored: taking them in may also
    /// release changes a peer sent that waited for them, which nobody stored.
    pub(crate) fn absorbed(&mut self, content: &mut Content, before: &[ChangeHash], bytes: &[u8]) {
        let doc = content.unchanged();
        let weight = crate::bounds::weight_of_stored(bytes);
        self.stored_bytes = self.stored_bytes.saturating_add(weight);
        let Some(stored) = change_hashes(bytes) else {
            return; // not read: what they brought is stored again, which is safe
        };
        let new = doc.get_changes_meta(before);
        let all_stored = new.iter().all(|c| stored.contains(&c.hash));
        if all_stored && self.in_flight.is_none() && before == self.persisted {
            self.persisted = doc.get_heads();
            return;
        }
        self.elsewhere.extend(
            new.iter()
                .map(|c| c.hash)
                .filter(|hash| stored.contains(hash)),
        );
    }

    /// Moves the durable point over changes stored elsewhere, if they are all that is
    /// unstored.
    fn catch_up(&mut self, content: &mut Content) {
        if self.elsewhere.is_empty() || self.in_flight.is_some() {
            return;
        }
        let doc = content.unchanged();
        let heads = doc.get_heads();
        let persisted = self.persisted.clone();
        let all_elsewhere = doc
            .get_changes_meta(&persisted)
            .iter()
            .all(|c| self.elsewhere.contains(&c.hash));
        if all_elsewhere {
            self.persisted = heads;
            self.elsewhere.clear();
        }
    }

    /// Heads of what the store holds.
    pub(crate) fn stored_heads(&self) -> &[ChangeHash] {
        &self.persisted
    }

    /// The persist that will hold a change made now: the next one to start.
    pub(crate) fn upcoming(&self) -> PersistId {
        PersistId(self.next_id + 1)
    }

    /// Whether a persist is in flight.
    pub(crate) fn busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Whether everything in `content` is stored.
    pub(crate) fn holds_all(&mut self, content: &mut Content) -> bool {
        self.catch_up(content);
        self.in_flight.is_none() && content.unchanged().get_heads() == self.persisted
    }

    /// The persist of everything `content` holds beyond the store, or `None` if there is
    /// nothing to store or a persist is already in flight.
    pub(crate) fn start(&mut self, content: &mut Content, source_region: &str) -> Option<Persist> {
        if self.in_flight.is_some() {
            return None;
        }
        let lamport = content.lamport();
        let doc = content.unchanged();
        let heads = doc.get_heads();
        if heads == self.persisted {
            return None;
        }
        let chunk = doc.save_after(&self.persisted);
        let snapshot = (self.since_snapshot + 1 >= self.snapshot_every)
            .then(|| crate::lineage::save_applied(doc));
        self.next_id += 1;
        let id = PersistId(self.next_id);
        self.unstored = 0; // the chunk holds it all
        self.in_flight = Some(InFlight {
            id,
            heads: heads.clone(),
            chunk_weight: crate::bounds::weight_of_stored(&chunk),
            snapshot: snapshot
                .as_ref()
                .map(|s| (s.len(), crate::bounds::weight_of_stored(s))),
        });
        Some(Persist {
            id,
            chunk,
            snapshot,
            source_region: source_region.to_owned(),
            lamport,
            heads,
            base: self.persisted.clone(),
        })
    }

    /// Persist `id` is durable. Returns the size of the snapshot it wrote, if any; `None`
    /// also when `id` is not the persist in flight (a stale answer: ignored).
    pub(crate) fn stored(&mut self, id: PersistId) -> Option<Option<usize>> {
        let done = self.in_flight.take_if(|f| f.id == id)?;
        self.persisted = done.heads;
        match done.snapshot {
            Some((_, weight)) => {
                self.stored_bytes = weight;
                self.since_snapshot = 0;
            }
            None => {
                self.stored_bytes = self.stored_bytes.saturating_add(done.chunk_weight);
                self.since_snapshot += 1;
            }
        }
        Some(done.snapshot.map(|(len, _)| len))
    }

    /// Persist `id` failed. Returns whether it was the one in flight.
    pub(crate) fn failed(&mut self, id: PersistId) -> bool {
        match self.in_flight.take_if(|f| f.id == id) {
            Some(failed) => {
                self.unstored = self.unstored.saturating_add(failed.chunk_weight);
                true
            }
            None => false,
        }
    }

    /// Changes weighing `weight` were taken in (applied, or queued for a dependency).
    pub(crate) fn took(&mut self, weight: usize) {
        self.unstored = self.unstored.saturating_add(weight);
    }

    /// What the run weighs against its size limit: what the store holds, what is being
    /// stored, and what was taken in since.
    pub(crate) fn weight(&self) -> usize {
        let in_flight = self.in_flight.as_ref().map_or(0, |f| f.chunk_weight);
        self.stored_bytes
            .saturating_add(in_flight)
            .saturating_add(self.unstored)
    }
}
