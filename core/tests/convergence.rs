//! Property: replicas that apply random operations and receive each other's changes in
//! any order — duplicated, delayed, some lost until a final full sync — end with the same
//! heads and the same view. The operations include undo of recent and older changes, so
//! replicas undo one change concurrently, or race the change that supersedes it.
//!
//! Cases: 256 by default; `RUNMESH_PROPTEST_CASES=10000 cargo test --release --test
//! convergence` for a long run. A failure prints its seed; `RUNMESH_SEED=<seed>` replays it.

#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use runmesh_core::{FlagValue, RunDoc};
use runmesh_testkit::fixtures::*;
use runmesh_testkit::rng::{Rng, proptest_cases};

const REGIONS: [&str; 3] = ["us-east-1", "eu-central-1", "ap-southeast-1"];
const USERS: [&str; 3] = ["alice", "bob", "carol"];
const FLAG_KEYS: [&str; 3] = ["mode", "retries", "dry"];

fn simulate(seed: u64) -> Result<(), String> {
    let mut rng = Rng(seed);
    let replicas = 3 + rng.below(3);
    let ops = 10 + rng.below(40);
    // Replica 0 creates the run with steps; the others start from the genesis alone, as a
    // relay does when a graft arrives for a run it has never seen.
    let mut docs: Vec<RunDoc> = (0..replicas)
        .map(|i| {
            let id = who(i as u8 + 1, REGIONS[i % 3], USERS[(i + seed as usize) % 3]);
            if i == 0 {
                RunDoc::create(run_id(), id, "T", &steps(&["s1", "s2", "s3"]), 0).unwrap()
            } else {
                RunDoc::genesis(run_id(), id)
            }
        })
        .collect();
    let mut in_flight: Vec<(usize, Vec<u8>)> = Vec::new();
    for step in 0..ops {
        let r = rng.below(replicas);
        let doc = &mut docs[r];
        let nodes: Vec<String> = doc
            .state()
            .pipeline
            .iter()
            .map(|n| n.id.to_string())
            .collect();
        let pick = |rng: &mut Rng| {
            if nodes.is_empty() || rng.chance(30) {
                format!("s{}", 1 + rng.below(3))
            } else {
                nodes[rng.below(nodes.len())].clone()
            }
        };
        let now = step as u64;
        match rng.below(7) {
            0 | 1 => {
                let after = pick(&mut rng);
                let _ = doc.graft(&after, &format!("Agent{step}"), now);
            }
            2 => {
                let _ = doc.prune(&pick(&mut rng), now);
            }
            3 => {
                let _ = doc.restore(&pick(&mut rng), now);
            }
            4 => {
                let key = FLAG_KEYS[rng.below(3)];
                doc.set_flag(key, FlagValue::Int(rng.below(5) as i64), now)
                    .unwrap();
            }
            5 => {
                let _ = doc.clear_flag(FLAG_KEYS[rng.below(3)], now);
            }
            _ => {
                // Undo a change, most often a recent one (so replicas often undo the
                // same change concurrently, or one racing a change that supersedes it).
                let history = doc.history();
                if !history.is_empty() {
                    let back = if rng.chance(60) {
                        rng.below(history.len().min(3))
                    } else {
                        rng.below(history.len())
                    };
                    let hash = history[history.len() - 1 - back].hash.parse().unwrap();
                    let _ = doc.undo(&hash, now);
                }
            }
        }
        let bytes = doc.save_incremental();
        if !bytes.is_empty() {
            for to in (0..replicas).filter(|&to| to != r) {
                in_flight.push((to, bytes.clone()));
            }
        }
        // Deliver a few messages in random order: some twice, some not yet (maybe never).
        for _ in 0..rng.below(4) {
            if in_flight.is_empty() {
                break;
            }
            let i = rng.below(in_flight.len());
            let (to, bytes) = if rng.chance(20) {
                in_flight[i].clone()
            } else {
                in_flight.swap_remove(i)
            };
            if rng.chance(10) {
                continue; // lost in transit
            }
            docs[to]
                .apply_bytes(&bytes)
                .map_err(|e| format!("apply failed: {e}"))?;
        }
    }
    // Heal: everyone exchanges everything.
    for i in 0..replicas {
        for j in 0..replicas {
            if i != j {
                let (a, b) = if i < j {
                    let (lo, hi) = docs.split_at_mut(j);
                    (&mut lo[i], &mut hi[0])
                } else {
                    let (lo, hi) = docs.split_at_mut(i);
                    (&mut hi[0], &mut lo[j])
                };
                a.merge(b).map_err(|e| e.to_string())?;
            }
        }
    }
    for (i, doc) in docs.iter_mut().enumerate() {
        // The view kept current from patches equals a full read of the same document.
        let reloaded = RunDoc::load(run_id(), who(99, "r", "u"), &doc.save()).unwrap();
        let (incremental, full) = (doc.state().to_json(), reloaded.state().to_json());
        if incremental != full {
            return Err(format!(
                "replica {i}: the incremental view differs from a full read: {}",
                first_difference(&incremental, &full)
            ));
        }
    }
    let heads = docs[0].heads();
    let view = docs[0].state().to_json();
    let history = docs[0].history();
    for (i, doc) in docs.iter_mut().enumerate().skip(1) {
        if doc.heads() != heads {
            return Err(format!("replica {i} has other heads than replica 0"));
        }
        if doc.history() != history {
            return Err(format!("replica {i} lists the history in another order"));
        }
        let other = doc.state().to_json();
        if other != view {
            return Err(format!(
                "replica {i} shows another run: {}",
                first_difference(&other, &view)
            ));
        }
    }
    Ok(())
}

/// Where two JSON texts first differ, with some context on each side.
fn first_difference(a: &str, b: &str) -> String {
    let at = a
        .bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let window = |s: &str| {
        s.get(at.saturating_sub(150)..(at + 150).min(s.len()))
            .unwrap_or(s)
            .to_owned()
    };
    format!(
        "at byte {at}:\n  this: …{}…\n  0:    …{}…",
        window(a),
        window(b)
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(256), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_whatever_the_delivery_order(seed in any::<u64>()) {
        if let Err(why) = simulate(seed) {
            panic!("seed {seed} (replay with RUNMESH_SEED={seed}): {why}");
        }
    }
}

#[test]
fn replay_one_seed_from_the_environment() {
    let Some(seed) = std::env::var("RUNMESH_SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    simulate(seed).unwrap_or_else(|why| panic!("seed {seed}: {why}"));
}
