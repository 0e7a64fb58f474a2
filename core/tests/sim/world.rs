//! [`World`]: relays, clients and the network between them on one seeded schedule.
//!
//! A run of the world has two phases. During the faults, a random workload edits runs
//! (clients and the REST API) while connections break, relays crash and restart from
//! their stores, mesh links are partitioned, clients go offline, writes fail or are slow,
//! and frames are delayed and duplicated. Then everything heals and the world runs until
//! nothing is left to do; `check.rs` then compares every replica.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use automerge::ChangeHash;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use runmesh_core::hub::RunOp;
use runmesh_core::node::Dialer;
use runmesh_core::{DocumentId, FlagValue, RunId, StepSpec};

pub use crate::plan::{Counts, Plan, Summary};

mod relays;

use crate::client::SimClient;
use crate::net::{Conn, Event, Schedule};
use crate::relay::SimRelay;
use crate::store::Shared;

/// How the relays store runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// Each relay its own store (a data directory).
    Own,
    /// Relays 0 and 1 share one store, as two relays of a region share a PostgreSQL,
    /// with no mesh link between them: each hears the other's appends as notifications
    /// (some lost, then read again), and snapshots merge with what is stored.
    Shared,
    /// As `Shared`, but a snapshot replaces what is stored (the PostgreSQL store's old
    /// bug): the simulation must catch it.
    SharedReplacing,
}

/// Percent of notifications from a shared store lost during the faults.
const LOST_NOTIFICATIONS: u32 = 5;

/// Events allowed after the faults end before the world must have gone quiet.
const QUIET_WITHIN: u64 = 200_000;

/// Everything in one simulation.
pub struct World {
    pub plan: Plan,
    pub rng: ChaCha8Rng,
    pub now: u64,
    pub relays: Vec<SimRelay>,
    pub clients: Vec<SimClient>,
    pub runs: Vec<RunId>,
    pub conns: BTreeMap<u64, Conn>,
    pub(crate) next_conn: u64,
    pub(crate) mesh_pairs: Vec<(usize, usize)>,
    /// The live connection each relay dialled to each other, by (dialler, dialled).
    pub(crate) mesh_conn: BTreeMap<(usize, usize), u64>,
    /// Diallers whose link lost the tie-break, standing by while the peer's link lives.
    /// Each relay's dialer of each peer it dials, as the relay's are: core's.
    pub(crate) dialers: BTreeMap<(usize, usize), Dialer>,
    pub(crate) partitioned: BTreeSet<(usize, usize)>,
    pub(crate) schedule: Schedule,
    pub(crate) healing: bool,
    events: u64,
    healed_at: u64,
    /// Operations on relays: which run, and the change each made.
    ops: BTreeMap<u64, (DocumentId, Option<ChangeHash>)>,
    /// Changes whose operation was answered with success, and with a storage error.
    pub acked: Vec<(DocumentId, ChangeHash)>,
    pub refused: Vec<(DocumentId, ChangeHash)>,
    /// Changes sent by sessions without write access (`intruder.rs`).
    pub(crate) intruded: Vec<(DocumentId, ChangeHash)>,
    trace: DefaultHasher,
    pub counts: Counts,
    /// Print every frame and answer (`RUNMESH_SIM_LOG`).
    pub(crate) log: bool,
    storage: Storage,
}

impl World {
    /// The world of `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with(seed, Storage::Own)
    }

    /// The world of `seed` with its relays storing as `storage` says.
    pub fn with(seed: u64, storage: Storage) -> Self {
        let log = std::env::var_os("RUNMESH_SIM_LOG").is_some();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let plan = Plan::from_rng(&mut rng);
        // One run more than the clients follow: only the REST API edits it, so after a
        // partition it reaches the other regions only through their catch-ups.
        let runs: Vec<RunId> = (0..=plan.runs)
            .map(|k| {
                RunId::from_bytes([
                    seed as u8, k as u8, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                ])
            })
            .collect();
        let mut relays: Vec<SimRelay> = (0..plan.relays).map(SimRelay::new).collect();
        for relay in &mut relays {
            relay.log = log;
            relay.idle = runmesh_core::node::IdlePeriods {
                used: plan.idle.0,
                untouched: plan.idle.1,
            };
        }
        let clients = (0..plan.clients)
            .map(|c| SimClient::new(c, rng.random_range(0..plan.relays), runs[c % plan.runs]))
            .collect();
        if storage != Storage::Own {
            let shared = Shared::new(storage == Storage::Shared);
            relays[0].store = shared.clone();
            relays[1].store = shared;
        }
        let mesh_pairs = (0..plan.relays)
            .flat_map(|a| (a + 1..plan.relays).map(move |b| (a, b)))
            .filter(|(a, b)| !plan.line || b - a == 1)
            .filter(|pair| storage == Storage::Own || *pair != (0, 1))
            .collect();
        Self {
            plan,
            rng,
            now: 0,
            relays,
            clients,
            runs,
            conns: BTreeMap::new(),
            next_conn: 0,
            mesh_pairs,
            mesh_conn: BTreeMap::new(),
            dialers: BTreeMap::new(),
            partitioned: BTreeSet::new(),
            schedule: Schedule::default(),
            healing: false,
            events: 0,
            healed_at: 0,
            ops: BTreeMap::new(),
            acked: Vec::new(),
            refused: Vec::new(),
            intruded: Vec::new(),
            trace: DefaultHasher::new(),
            counts: Counts::default(),
            log,
            storage,
        }
    }

    /// Runs the world to quiet, then checks every replica.
    pub fn run(mut self) -> Result<Summary, String> {
        self.start()?;
        while let Some((time, event)) = self.schedule.next() {
            self.now = time;
            self.events += 1;
            (time, self.events).hash(&mut self.trace);
            if self.healing && self.events - self.healed_at > QUIET_WITHIN {
                return Err(format!(
                    "still busy {QUIET_WITHIN} events after the faults ended: messages loop"
                ));
            }
            self.handle(event)?;
        }
        crate::check::converged(&mut self)?;
        Ok(Summary {
            events: self.events,
            counts: self.counts,
            trace: self.trace.finish(),
        })
    }

    fn start(&mut self) -> Result<(), String> {
        let steps: Vec<StepSpec> = ["step1", "step2", "step3"]
            .iter()
            .map(|s| StepSpec::new(s).expect("a valid step"))
            .collect();
        for (k, run) in self.runs.clone().into_iter().enumerate() {
            let relay = k % self.plan.relays;
            let create = RunOp::Create {
                title: format!("run {k}"),
                steps: steps.clone(),
            };
            self.op(relay, run.document_id(), create)?;
        }
        for (from, to) in self.dials() {
            self.dialers
                .insert((from, to), Dialer::new(crate::links::backoff(), 0));
            self.schedule.at(0, Event::Dial { from, to });
        }
        for client in 0..self.clients.len() {
            let at = self.rng.random_range(0..50);
            self.schedule.at(at, Event::Connect { client });
        }
        self.schedule.at(1, Event::Act);
        self.schedule.at(self.plan.chaos_ms, Event::Heal);
        self.plan_intrusions();
        Ok(())
    }

    fn handle(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Deliver { conn, dir, frame } => self.deliver(conn, dir, &frame),
            Event::Written {
                relay,
                epoch,
                doc,
                persist,
            } => {
                if self.relays[relay].epoch != epoch {
                    return Ok(()); // the relay crashed meanwhile; `crash` decided its fate
                }
                let fails = !self.healing && self.rng.random_range(0..100) < self.plan.store_fail;
                self.counts.writes += 1;
                self.counts.failed_writes += u64::from(fails);
                if self.log {
                    eprintln!(
                        "{} relay {relay} write {:?} landed: {}",
                        self.now, persist.id, !fails
                    );
                }
                let mut out = Vec::new();
                self.relays[relay].written(self.now, doc, persist.id, !fails, &mut out);
                self.apply(relay, out)
            }
            Event::Wake { relay, epoch, doc } => {
                if self.relays[relay].epoch != epoch || !self.relays[relay].up {
                    return Ok(());
                }
                let mut out = Vec::new();
                self.relays[relay].wake(self.now, doc, &mut out);
                self.apply(relay, out)
            }
            Event::CatchUp { relay, epoch } => {
                if self.relays[relay].epoch != epoch || !self.relays[relay].up {
                    return Ok(());
                }
                let mut out = Vec::new();
                self.relays[relay].offer_due(self.now, &mut out);
                self.apply(relay, out)
            }
            Event::Elsewhere {
                relay,
                epoch,
                doc,
                chunk,
            } => {
                if self.relays[relay].epoch != epoch || !self.relays[relay].up {
                    return Ok(()); // a restarted relay loads what it needs
                }
                if self.log {
                    eprintln!(
                        "{} relay {relay} hears of {} bytes stored elsewhere",
                        self.now,
                        chunk.len()
                    );
                }
                let mut out = Vec::new();
                self.relays[relay].stored_elsewhere(self.now, doc, chunk, &mut out);
                self.apply(relay, out)
            }
            Event::Resync { relay, epoch } => {
                if self.relays[relay].epoch != epoch || !self.relays[relay].up {
                    return Ok(());
                }
                if self.log {
                    eprintln!("{} relay {relay} reads the shared store again", self.now);
                }
                let mut out = Vec::new();
                self.relays[relay].resync(self.now, &mut out);
                self.apply(relay, out)
            }
            Event::Dial { from, to } => self.dial(from, to),
            Event::Cut { conn } => self.cut(conn),
            Event::Connect { client } => self.connect(client),
            Event::Intrude { relay, run } => self.intrude(relay, run),
            Event::ClientWritten { client, epoch } => self.client_written(client, epoch),
            Event::ClientRetry { client, epoch } => self.client_retry(client, epoch),
            Event::Restart { relay } => {
                if self.relays[relay].up {
                    return Ok(());
                }
                self.relays[relay].restart()?;
                // A new process: new dialers, which dial at once. Its peers' dialers
                // find it up at their next attempt.
                for (from, to) in self.dials() {
                    if from == relay {
                        let dialer = Dialer::new(crate::links::backoff(), self.now);
                        self.dialers.insert((from, to), dialer);
                        self.schedule.at(self.now, Event::Dial { from, to });
                    }
                }
                Ok(())
            }
            Event::Act => {
                if self.healing {
                    return Ok(());
                }
                crate::workload::act(self)?;
                {
                    let next = self.now + self.rng.random_range(1..12);
                    self.schedule.at(next, Event::Act);
                }
                Ok(())
            }
            Event::Heal => self.heal(),
        }
    }

    fn heal(&mut self) -> Result<(), String> {
        self.healing = true;
        self.healed_at = self.events;
        self.partitioned.clear();
        for relay in 0..self.relays.len() {
            // A partition long enough for idle runs to have left memory.
            if self.relays[relay].up && self.rng.random_bool(0.5) {
                self.relays[relay].unload_idle();
            }
            if !self.relays[relay].up {
                self.schedule.at(self.now, Event::Restart { relay });
            }
        }
        for client in 0..self.clients.len() {
            self.clients[client].online = true;
            self.schedule.at(self.now + 1, Event::Connect { client });
        }
        Ok(())
    }

    /// Cuts the mesh link between `pair` and keeps it cut until it is healed.
    pub fn partition(&mut self, pair: (usize, usize), cut: bool) -> Result<(), String> {
        if cut {
            self.partitioned.insert(pair);
            for key in [pair, (pair.1, pair.0)] {
                if let Some(conn) = self.mesh_conn.get(&key).copied() {
                    self.cut(conn)?;
                }
            }
        } else {
            // The dialers find the way open at their next attempt.
            self.partitioned.remove(&pair);
        }
        Ok(())
    }

    /// Schedules `event` now.
    pub fn at_now(&mut self, event: Event) {
        self.schedule.at(self.now, event);
    }

    /// The mesh pairs.
    pub fn mesh_pairs(&self) -> &[(usize, usize)] {
        &self.mesh_pairs
    }

    /// Who dials whom: every pair's first relay dials the second; in a plan where both
    /// list each other, the second dials the first too.
    pub fn dials(&self) -> Vec<(usize, usize)> {
        let both = self.plan.both_ways;
        self.mesh_pairs
            .iter()
            .flat_map(|&(a, b)| std::iter::once((a, b)).chain(both.then_some((b, a))))
            .collect()
    }

    /// A flag value for the workload.
    pub fn flag(&mut self) -> FlagValue {
        FlagValue::Int(self.rng.random_range(0..100))
    }
}
