//! Reconciliation by digest between relays, as a seeded simulation: thousands of runs,
//! each held as a set of changes; relays edit runs while random partitions keep them
//! apart; at every heal the two sides reconcile through encoded messages and sync only
//! the runs each side offers. Checked: a side offers exactly the runs it holds that the
//! other lacks or holds differently, in-step relays exchange one small message, and
//! once every link has healed every relay holds every run the same.
//!
//! `RUNMESH_DIGEST_SEEDS=N` runs seeds 0..N (default 20).

#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use runmesh_core::digest::{DigestIndex, DigestMessage, Fingerprint, respond, start};
use runmesh_core::{ChangeHash, DocumentId};

/// A relay in the model: per run, the changes it holds, and its index of them.
#[derive(Default, Clone)]
struct Relay {
    runs: BTreeMap<DocumentId, BTreeSet<u64>>,
    index: DigestIndex,
}

impl Relay {
    fn heads(changes: &BTreeSet<u64>) -> Vec<ChangeHash> {
        // Every change stands as a head: equal sets, equal fingerprints.
        changes
            .iter()
            .map(|c| {
                let mut bytes = [0u8; 32];
                bytes[..8].copy_from_slice(&c.to_le_bytes());
                ChangeHash(bytes)
            })
            .collect()
    }

    fn write(&mut self, run: DocumentId, change: u64) {
        let changes = self.runs.entry(run).or_default();
        changes.insert(change);
        let fingerprint = Fingerprint::of_heads(&Self::heads(changes));
        self.index.set(run, fingerprint);
    }

    fn absorb(&mut self, run: DocumentId, changes: &BTreeSet<u64>) {
        for change in changes {
            self.write(run, *change);
        }
    }
}

fn run_id(rng: &mut ChaCha8Rng) -> DocumentId {
    DocumentId::from_bytes(rng.random())
}

/// Through CBOR and back, as the relay sends it; returns the bytes it took.
fn over_the_wire(message: &DigestMessage) -> (DigestMessage, usize) {
    let bytes = message.encode();
    (DigestMessage::decode(&bytes).unwrap(), bytes.len())
}

/// What a reconciliation cost.
#[derive(Debug, Default)]
struct Cost {
    messages: usize,
    bytes: usize,
    offered: usize,
}

/// Reconciles `a` (which starts) with `b`, then syncs every offered run both ways.
fn heal(relays: &mut [Relay], a: usize, b: usize) -> Cost {
    let mut cost = Cost::default();
    let mut offers: [BTreeSet<DocumentId>; 2] = Default::default();
    let mut inbox = vec![(1usize, start(&relays[a].index))];
    while let Some((to, message)) = inbox.pop() {
        let (message, len) = over_the_wire(&message);
        cost.messages += 1;
        cost.bytes += len;
        assert!(cost.messages < 10_000, "reconciliation does not end");
        let side = [a, b][to];
        let step = respond(&relays[side].index, &message);
        offers[to].extend(step.offer);
        inbox.extend(step.replies.into_iter().map(|m| (1 - to, m)));
    }
    for (from, offered) in [(a, &offers[0]), (b, &offers[1])] {
        let to = if from == a { b } else { a };
        for run in offered {
            let theirs = relays[to].runs.get(run);
            let ours = &relays[from].runs[run];
            assert_ne!(
                Some(ours),
                theirs,
                "offered a run the other side holds the same"
            );
        }
    }
    // Every run the two hold differently is offered by a side that has it.
    let all: BTreeSet<DocumentId> = relays[a]
        .runs
        .keys()
        .chain(relays[b].runs.keys())
        .copied()
        .collect();
    for run in &all {
        let (x, y) = (relays[a].runs.get(run), relays[b].runs.get(run));
        if x != y {
            let offered_by_a = offers[0].contains(run);
            let offered_by_b = offers[1].contains(run);
            assert!(
                (x.is_some() && offered_by_a) || (y.is_some() && offered_by_b),
                "run {run} differs but neither side offered it"
            );
        }
    }
    assert!(
        offers[0].is_disjoint(&offers[1]),
        "both sides offered one run"
    );
    cost.offered = offers[0].len() + offers[1].len();
    // The sync protocol: an offered run ends up the union on both sides.
    for run in offers[0].iter().chain(&offers[1]) {
        let union: BTreeSet<u64> = relays[a]
            .runs
            .get(run)
            .into_iter()
            .chain(relays[b].runs.get(run))
            .flatten()
            .copied()
            .collect();
        relays[a].absorb(*run, &union);
        relays[b].absorb(*run, &union);
    }
    cost
}

fn seeds() -> u64 {
    std::env::var("RUNMESH_DIGEST_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

#[test]
fn relays_healing_random_partitions_always_converge() {
    for seed in 0..seeds() {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let relays_n = rng.random_range(2..=4);
        let mut relays = vec![Relay::default(); relays_n];
        let mut next_change = 0u64;
        // Thousands of runs everyone already has.
        let shared = rng.random_range(1_000..4_000);
        let mut runs = Vec::new();
        for _ in 0..shared {
            let run = run_id(&mut rng);
            runs.push(run);
            next_change += 1;
            for relay in &mut relays {
                relay.write(run, next_change);
            }
        }
        // Rounds of partition: random links are down, relays edit and create runs, then
        // the links that are up reconcile.
        for _ in 0..rng.random_range(1..6) {
            let edits = rng.random_range(0..200);
            for _ in 0..edits {
                let at = rng.random_range(0..relays_n);
                let run = if rng.random_bool(0.2) {
                    let run = run_id(&mut rng);
                    runs.push(run);
                    run
                } else {
                    runs[rng.random_range(0..runs.len())]
                };
                next_change += 1;
                relays[at].write(run, next_change);
            }
            for a in 0..relays_n {
                for b in a + 1..relays_n {
                    if rng.random_bool(0.5) {
                        heal(&mut relays, a, b);
                    }
                }
            }
        }
        // Every link heals: a line of heals forward and back reaches everyone.
        for a in 0..relays_n - 1 {
            heal(&mut relays, a, a + 1);
        }
        for a in (0..relays_n - 1).rev() {
            heal(&mut relays, a, a + 1);
        }
        for relay in &relays[1..] {
            assert!(
                relay.runs == relays[0].runs,
                "seed {seed}: relays differ after healing"
            );
        }
        // And now they are in step: one message, nothing offered.
        let cost = heal(&mut relays, 0, 1);
        assert_eq!(
            (cost.messages, cost.offered),
            (1, 0),
            "seed {seed}: {cost:?}"
        );
    }
}

#[test]
fn one_run_changed_among_many_costs_a_few_small_messages() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut relays = vec![Relay::default(); 2];
    let mut runs = Vec::new();
    for change in 0..20_000 {
        let run = run_id(&mut rng);
        runs.push(run);
        relays[0].write(run, change);
        relays[1].write(run, change);
    }
    let in_step = heal(&mut relays, 0, 1);
    assert_eq!((in_step.messages, in_step.offered), (1, 0));
    assert!(in_step.bytes < 400, "{in_step:?}");

    relays[1].write(runs[1234], 1_000_000);
    let one = heal(&mut relays, 0, 1);
    assert_eq!(one.offered, 1, "{one:?}");
    assert!(one.messages <= 6 && one.bytes < 4_000, "{one:?}");

    // An empty relay learns every run in a few rounds.
    let mut fresh = vec![relays[0].clone(), Relay::default()];
    let all = heal(&mut fresh, 1, 0);
    assert_eq!(all.offered, 20_000, "{all:?}");
    assert!(fresh[0].runs == fresh[1].runs);
}

#[test]
fn a_bad_range_is_refused_naming_what_is_wrong() {
    #[derive(serde::Serialize)]
    struct Raw {
        #[serde(with = "serde_bytes")]
        prefix: Vec<u8>,
        #[serde(with = "serde_bytes")]
        sums: Vec<u8>,
    }
    #[derive(serde::Serialize)]
    struct Message {
        ranges: Vec<Raw>,
    }
    for (raw, expected) in [
        (
            Raw {
                prefix: vec![16],
                sums: vec![0; 320],
            },
            "nibbles of 0-15",
        ),
        (
            Raw {
                prefix: vec![],
                sums: vec![0; 319],
            },
            "are 319 bytes",
        ),
    ] {
        let mut bytes = Vec::new();
        ciborium::ser::into_writer(&Message { ranges: vec![raw] }, &mut bytes).unwrap();
        let err = ciborium::de::from_reader::<DigestMessage, _>(&bytes[..]).unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
}

/// The eleventh attack's E32: one range asking for every run, repeated 250,000 times in
/// one frame, made a reply listing every run for each copy (3.3 GB, the relay dead). A
/// relay sends each part of the tree once, in at most `MAX_RANGES` ranges.
#[test]
fn ranges_that_overlap_or_are_too_many_are_refused() {
    use runmesh_core::digest::{Body, MAX_RANGES, Range};
    let all = |prefix: Vec<u8>| Range {
        prefix,
        body: Body::Items {
            items: Vec::new(),
            reply: true,
        },
    };
    let refused = |ranges: Vec<Range>| {
        DigestMessage::decode(&DigestMessage { ranges }.encode())
            .unwrap_err()
            .to_string()
    };
    let twice = refused(vec![all(vec![]), all(vec![])]);
    assert!(twice.contains("overlap"), "{twice}");
    let covered = refused(vec![all(vec![3]), all(vec![1]), all(vec![3, 7, 1])]);
    assert!(covered.contains("[3] and [3, 7, 1] overlap"), "{covered}");
    let many: Vec<Range> = (0..=MAX_RANGES as u32)
        .map(|i| all((0..4).map(|k| ((i >> (4 * k)) & 15) as u8).collect()))
        .collect();
    let err = refused(many);
    assert!(err.contains("over the limit of 32768"), "{err}");
    // Disjoint ranges, however many up to the limit, pass.
    let siblings: Vec<Range> = (0..16).map(|n| all(vec![n])).collect();
    assert!(DigestMessage::decode(&DigestMessage { ranges: siblings }.encode()).is_ok());
}
