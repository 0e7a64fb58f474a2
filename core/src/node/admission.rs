//! [`Admission`]: what one session may do with the runs it names. A refused frame is
//! not applied at all, and its session ends with an `error` naming why.

use std::collections::HashSet;

use automerge::sync::Message;

use crate::hub::{Millis, PeerKind};
use crate::id::{DocumentId, RunId};
use crate::node::{Access, Grants};

/// One session's admission: its grants, its kind, the runs it syncs and how many it may.
#[derive(Debug)]
pub struct Admission {
    grants: Grants,
    kind: PeerKind,
    attached: HashSet<DocumentId>,
    max_runs: usize,
    /// The ephemeral bytes a client sent in the current second, and which second.
    presence: (Millis, usize),
    /// The digest messages a relay sent in the current second, and which second.
    digests: (Millis, usize),
}

/// The digest messages handled per mesh link a second. Reconciling 100,000 runs takes a
/// few rounds of a few messages; a link that sends more waits (twelfth attack, E37: four
/// links sent 116,000 small digests in 20 s and kept both cores busy).
pub const DIGESTS_PER_SEC: usize = 32;

/// The ephemeral bytes (presence, cursors) a client session may send per second; more
/// is dropped, as presence may be (the next one says the same, newer). Each is copied to
/// every other peer of the run (eleventh attack, E34).
pub const PRESENCE_BYTES_PER_SEC: usize = 256 * 1024;

impl Admission {
    /// A session with `grants`, syncing at most `max_runs` runs (mesh links: any number).
    pub fn new(grants: Grants, max_runs: usize) -> Self {
        let kind = if grants.is_mesh() {
            PeerKind::Mesh
        } else {
            PeerKind::Client
        };
        Self {
            grants,
            kind,
            attached: HashSet::new(),
            max_runs,
            presence: (0, 0),
            digests: (0, 0),
        }
    }

    /// What is at the other end: a client or a relay.
    pub fn kind(&self) -> PeerKind {
        self.kind
    }

    /// What the session may do.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// Admits a sync message for `doc`: the run is readable, the session within its run
    /// limit, and changes it carries are allowed (write access, then `spend` the rate
    /// allowance for them; `spend` refuses with why). On success the session syncs `doc`.
    /// Mesh peers carry changes other relays admitted.
    pub fn sync(
        &mut self,
        doc: DocumentId,
        message: &Message,
        spend: impl FnOnce(u32) -> Result<(), String>,
    ) -> Result<(), String> {
        if self.kind == PeerKind::Client {
            self.check_sync(doc, message, spend)?;
        }
        self.attached.insert(doc);
        Ok(())
    }

    fn check_sync(
        &self,
        doc: DocumentId,
        message: &Message,
        spend: impl FnOnce(u32) -> Result<(), String>,
    ) -> Result<(), String> {
        let run = RunId::from(doc);
        self.grants
            .check(run, Access::Read)
            .map_err(|why| format!("forbidden: {why}"))?;
        let max = self.max_runs;
        if !self.attached.contains(&doc) && self.attached.len() >= max {
            return Err(format!(
                "this connection already syncs {max} runs, the limit (--max-runs-per-connection)"
            ));
        }
        let changes = message.changes.len();
        if changes == 0 {
            return Ok(());
        }
        self.grants
            .check(run, Access::Write)
            .map_err(|why| format!("changes refused, nothing applied: {why}"))?;
        spend(u32::try_from(changes).unwrap_or(u32::MAX))
            .map_err(|limited| format!("changes refused, nothing applied: {limited}"))
    }

    /// Admits `len` bytes of ephemeral data for `doc` at `now`: an error if the run is not
    /// readable; `false` (drop it) if a client is past [`PRESENCE_BYTES_PER_SEC`]. Mesh
    /// peers carry many clients' presence, each admitted where it came in.
    pub fn ephemeral(&mut self, doc: DocumentId, len: usize, now: Millis) -> Result<bool, String> {
        self.grants
            .check(RunId::from(doc), Access::Read)
            .map_err(|why| format!("forbidden: {why}"))?;
        if self.kind == PeerKind::Mesh {
            return Ok(true);
        }
        let second = now / 1000;
        if self.presence.0 != second {
            self.presence = (second, 0);
        }
        if self.presence.1.saturating_add(len) > PRESENCE_BYTES_PER_SEC {
            return Ok(false);
        }
        self.presence.1 += len;
        Ok(true)
    }

    /// When a digest message arriving at `now` may be handled: now, or, once
    /// [`DIGESTS_PER_SEC`] have been handled in its second, the start of the next second
    /// with room (the link is read no further until then: a flood slows itself, and a
    /// large reconciliation only takes longer).
    pub fn digest(&mut self, now: Millis) -> Millis {
        let second = now / 1000;
        if self.digests.0 < second {
            self.digests = (second, 0);
        }
        if self.digests.1 >= DIGESTS_PER_SEC {
            self.digests = (self.digests.0 + 1, 0);
        }
        self.digests.1 += 1;
        now.max(self.digests.0 * 1000)
    }

    /// Whether this session syncs `doc` already.
    pub fn syncs(&self, doc: DocumentId) -> bool {
        self.attached.contains(&doc)
    }

    /// The runs this session syncs.
    pub fn attached(&self) -> impl Iterator<Item = &DocumentId> {
        self.attached.iter()
    }
}
