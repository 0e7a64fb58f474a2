//! `RunDoc::update_state` patches a kept state where each change landed; whatever the
//! changes (local or from another replica, one or a batch, grafts after grafts, prunes,
//! undos, flags), the kept state is always what a whole read gives.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use runmesh_core::{FlagValue, RunDoc, RunState};
use runmesh_testkit::fixtures::*;

/// A random edit by `run`: a graft after any node, a prune or restore, a flag, an undo.
/// Edits the run refuses (an undo of what cannot be undone, say) are skipped.
fn edit(run: &mut RunDoc, rng: &mut ChaCha8Rng, now: u64) {
    let state = run.state();
    let nodes = &state.pipeline;
    let node = &nodes[rng.random_range(0..nodes.len())];
    let _ = match rng.random_range(0..10) {
        0..5 => run
            .graft(node.id.as_str(), &format!("A{now}"), now)
            .map(drop),
        5..7 => run.prune(node.id.as_str(), now).map(drop),
        7 => run.restore(node.id.as_str(), now).map(drop),
        8 => run
            .set_flag("mode", FlagValue::Int(rng.random_range(0..3)), now)
            .map(drop),
        _ => {
            let history = run.history();
            let change = &history[rng.random_range(0..history.len())];
            match change.hash.parse() {
                Ok(hash) => run.undo(&hash, now).map(drop),
                Err(_) => Ok(()),
            }
        }
    };
}

fn check(run: &mut RunDoc, kept: &mut Option<RunState>, seed: u64, step: usize) {
    run.update_state(kept);
    assert_eq!(
        kept.as_ref(),
        Some(&run.state()),
        "seed {seed}, step {step}: the kept state differs from a whole read"
    );
}

#[test]
fn a_kept_state_is_always_what_a_whole_read_gives() {
    for seed in 0..40 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut us = three_step_run();
        let mut them = RunDoc::load(run_id(), who(2, "eu-central-1", "bob"), &us.save()).unwrap();
        let (mut ours, mut theirs) = (None, None);
        for step in 0..60 {
            let now = 2_000 + step as u64;
            match rng.random_range(0..4) {
                // Several edits there, taken here as one batch.
                0 => {
                    for _ in 0..rng.random_range(1..4) {
                        edit(&mut them, &mut rng, now);
                    }
                    us.apply_bytes(&them.save_incremental()).unwrap();
                }
                1 => {
                    them.apply_bytes(&us.save_incremental()).unwrap();
                    check(&mut them, &mut theirs, seed, step);
                    edit(&mut them, &mut rng, now);
                    us.apply_bytes(&them.save_incremental()).unwrap();
                }
                _ => edit(&mut us, &mut rng, now),
            }
            check(&mut us, &mut ours, seed, step);
        }
    }
}

#[test]
fn a_state_from_elsewhere_is_read_whole() {
    let mut us = three_step_run();
    let mut kept = None;
    us.update_state(&mut kept);
    // A state of another moment, with other counts, is not patched as if it were kept.
    let mut other = Some(us.state());
    us.graft("step1", "A", 2).unwrap();
    us.update_state(&mut kept);
    us.graft("step2", "B", 3).unwrap();
    us.update_state(&mut other);
    assert_eq!(other, Some(us.state()));
    assert_eq!(other.unwrap().grafts.len(), 2);
}
