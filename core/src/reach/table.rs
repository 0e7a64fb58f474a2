//! [`ReachTable`]: the claims a relay knows, by region, reporter and run; what to pass on
//! to each mesh link; and which regions hold a set of changes.

use std::collections::{BTreeMap, BTreeSet};

use automerge::ChangeHash;

use crate::hub::Millis;
use crate::id::DocumentId;
use crate::reach::{Claim, MAX_CLAIMS, ReachMessage, StoreEpoch};
use crate::sync::PeerId;

/// Relays remembered per region. A relay that restarts reports under a new peer id, so
/// old reporters pile up; past this many, the one heard from least recently is forgotten
/// (a region it alone vouched for is then not counted: too little, never too much).
pub const MAX_REPORTERS: usize = 16;

/// A claim as kept: its number and heads.
#[derive(Debug, Clone)]
struct Reported {
    seq: u64,
    heads: Vec<ChangeHash>,
}

#[derive(Debug, Default)]
struct Reporter {
    /// When it was last heard from, on the table's own count.
    heard: u64,
    runs: BTreeMap<DocumentId, Reported>,
}

#[derive(Debug)]
struct Region {
    epoch: StoreEpoch,
    reporters: BTreeMap<PeerId, Reporter>,
}

/// Which claim: its region, reporter and run.
type Key = (String, PeerId, DocumentId);

/// A run whose stored changes some region is not known to hold yet.
#[derive(Debug)]
struct Pending {
    /// When this relay's store first held a change not known to be everywhere.
    since: Millis,
    /// The heads it holds now.
    heads: Vec<ChangeHash>,
}

/// What one relay knows of where runs are stored (see the module's documentation).
#[derive(Debug)]
pub struct ReachTable {
    me: PeerId,
    region: String,
    epoch: StoreEpoch,
    /// The number of this relay's last claim.
    seq: u64,
    regions: BTreeMap<String, Region>,
    /// Per mesh link (by peer): the claims it has not been told.
    unsent: BTreeMap<PeerId, BTreeSet<Key>>,
    /// Counts arrivals, for forgetting the reporter heard from least recently.
    arrivals: u64,
    /// Runs with changes stored here that some other region is not known to hold.
    pending: BTreeMap<DocumentId, Pending>,
}

impl ReachTable {
    /// What the relay `me` of `region`, whose store lives in `epoch`, knows at its start:
    /// nothing.
    pub fn new(me: PeerId, region: String, epoch: StoreEpoch) -> Self {
        Self {
            me,
            region,
            epoch,
            seq: 0,
            regions: BTreeMap::new(),
            unsent: BTreeMap::new(),
            arrivals: 0,
            pending: BTreeMap::new(),
        }
    }

    /// This relay's store holds `heads` of `run` (and all before them) at `now`: a claim
    /// of its own, for every link.
    pub fn stored_here(&mut self, now: Millis, run: DocumentId, heads: Vec<ChangeHash>) {
        self.seq += 1;
        let pending = self.pending.entry(run).or_insert(Pending {
            since: now,
            heads: Vec::new(),
        });
        pending.heads.clone_from(&heads);
        let claim = Claim {
            region: self.region.clone(),
            epoch: self.epoch,
            reporter: self.me.clone(),
            seq: self.seq,
            run,
            heads,
        };
        self.accept(None, claim);
    }

    /// Claims from the mesh peer `from`: those that are news are kept and passed on to
    /// every other link. Returns how many were news.
    pub fn heard(&mut self, from: &PeerId, claims: impl IntoIterator<Item = Claim>) -> usize {
        let mut news = 0;
        for claim in claims {
            if claim.reporter != self.me && self.accept(Some(from), claim) {
                news += 1;
            }
        }
        news
    }

    /// A mesh link to `peer` came up: it is told every claim known.
    pub fn link_up(&mut self, peer: PeerId) {
        let all: BTreeSet<Key> = self.keys().collect();
        self.unsent.insert(peer, all);
    }

    /// The mesh link to `peer` went down.
    pub fn link_down(&mut self, peer: &PeerId) {
        self.unsent.remove(peer);
    }

    /// The next message for the link to `peer`: up to [`MAX_CLAIMS`] claims it has not
    /// been told, or `None` when it has been told everything.
    pub fn due(&mut self, peer: &PeerId) -> Option<ReachMessage> {
        let keys = self.unsent.get_mut(peer)?;
        let mut taken = Vec::new();
        while taken.len() < MAX_CLAIMS {
            let Some(key) = keys.pop_first() else { break };
            taken.push(key);
        }
        let claims: Vec<Claim> = taken.iter().filter_map(|key| self.claim(key)).collect();
        (!claims.is_empty()).then_some(ReachMessage { claims })
    }

    /// The regions whose stores hold what `covered` asks about in `run`: those with a
    /// claim whose heads `covered` says descend from it (or are it). Sorted.
    pub fn regions(
        &self,
        run: &DocumentId,
        covered: impl Fn(&[ChangeHash]) -> bool,
    ) -> Vec<String> {
        self.regions
            .iter()
            .filter(|(_, region)| {
                region
                    .reporters
                    .values()
                    .filter_map(|reporter| reporter.runs.get(run))
                    .any(|reported| covered(&reported.heads))
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Per region, the heads each of its claims for `run` names (a change is stored
    /// there if one of them covers it).
    pub fn claimed(&self, run: &DocumentId) -> Vec<(String, Vec<Vec<ChangeHash>>)> {
        self.regions
            .iter()
            .map(|(name, region)| {
                let heads = region
                    .reporters
                    .values()
                    .filter_map(|reporter| reporter.runs.get(run))
                    .map(|reported| reported.heads.clone())
                    .collect::<Vec<_>>();
                (name.clone(), heads)
            })
            .filter(|(_, heads)| !heads.is_empty())
            .collect()
    }

    /// Per other region known, how long the oldest change stored here has not been known
    /// to be stored there (0 when it holds all): for an operator's alert. A region counts
    /// from its first claim heard, for the changes stored here after the last look that
    /// knew no other region (those before are the digest reconciliation's to bring over,
    /// and its lag is measured apart); one that stopped talking keeps counting.
    pub fn unreplicated(&mut self, now: Millis) -> BTreeMap<String, Millis> {
        let others: Vec<&String> = self.regions.keys().filter(|r| **r != self.region).collect();
        let mut ages: BTreeMap<String, Millis> = others.iter().map(|r| ((*r).clone(), 0)).collect();
        let regions = &self.regions;
        self.pending.retain(|run, pending| {
            let mut everywhere = true;
            for region in &others {
                let holds = regions[*region]
                    .reporters
                    .values()
                    .filter_map(|reporter| reporter.runs.get(run))
                    .any(|reported| pending.heads.iter().all(|h| reported.heads.contains(h)));
                if !holds {
                    everywhere = false;
                    let age = ages.entry((*region).clone()).or_default();
                    *age = (*age).max(now.saturating_sub(pending.since));
                }
            }
            !everywhere
        });
        ages
    }

    /// The regions known to have stored anything (this relay's own among them once it
    /// stored something).
    pub fn known_regions(&self) -> impl Iterator<Item = &str> {
        self.regions.keys().map(String::as_str)
    }

    /// Keeps `claim` if it is news, and queues it for every link but `from`.
    fn accept(&mut self, from: Option<&PeerId>, claim: Claim) -> bool {
        let region = self
            .regions
            .entry(claim.region.clone())
            .or_insert_with(|| Region {
                epoch: claim.epoch,
                reporters: BTreeMap::new(),
            });
        if claim.epoch < region.epoch {
            return false; // a store that was made again since
        }
        if claim.epoch > region.epoch {
            region.epoch = claim.epoch;
            region.reporters.clear();
        }
        self.arrivals += 1;
        let reporter = region.reporters.entry(claim.reporter.clone()).or_default();
        if reporter
            .runs
            .get(&claim.run)
            .is_some_and(|known| known.seq >= claim.seq)
        {
            return false;
        }
        reporter.heard = self.arrivals;
        reporter.runs.insert(
            claim.run,
            Reported {
                seq: claim.seq,
                heads: claim.heads,
            },
        );
        if region.reporters.len() > MAX_REPORTERS {
            let oldest = region
                .reporters
                .iter()
                .filter(|(peer, _)| **peer != self.me)
                .min_by_key(|(_, r)| r.heard)
                .map(|(peer, _)| peer.clone());
            if let Some(oldest) = oldest {
                region.reporters.remove(&oldest);
            }
        }
        let key = (claim.region, claim.reporter, claim.run);
        for (peer, unsent) in &mut self.unsent {
            if Some(peer) != from {
                unsent.insert(key.clone());
            }
        }
        true
    }

    /// The claim `key` names, if it is still known.
    fn claim(&self, (region, reporter, run): &Key) -> Option<Claim> {
        let known = self.regions.get(region)?;
        let reported = known.reporters.get(reporter)?.runs.get(run)?;
        Some(Claim {
            region: region.clone(),
            epoch: known.epoch,
            reporter: reporter.clone(),
            seq: reported.seq,
            run: *run,
            heads: reported.heads.clone(),
        })
    }

    fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.regions.iter().flat_map(|(name, region)| {
            region.reporters.iter().flat_map(move |(peer, reporter)| {
                reporter
                    .runs
                    .keys()
                    .map(move |run| (name.clone(), peer.clone(), *run))
            })
        })
    }
}
