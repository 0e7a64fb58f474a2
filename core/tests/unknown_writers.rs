//! A change that names an actor Automerge would not find (a new actor's change 2 without
//! its change 1, the attack's A01 and A02) is refused before it touches the run, which
//! stays readable and savable; what Automerge's own clients write still applies.

#![cfg(not(target_arch = "wasm32"))]

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ROOT};
use runmesh_core::{RunDoc, RunError};
use runmesh_testkit::chunks::{change_by, forge, hash_of};
use runmesh_testkit::fixtures::*;

/// The run after the refusal: it reads, saves, and takes a new graft.
fn still_sound(run: &mut RunDoc, heads: &[automerge::ChangeHash]) {
    assert_eq!(run.heads(), heads, "nothing applied");
    assert_eq!(names(run), ["step1", "step2", "step3"]);
    let saved = run.save();
    run.automerge_mut().get_changes(&[]);
    RunDoc::load(run_id(), who(9, "us", "x"), &saved).unwrap();
    run.graft("step1", "After", 9_000).unwrap();
}

#[test]
fn a_new_actor_s_change_2_is_refused_naming_actor_and_seq() {
    let mut run = three_step_run();
    let heads = run.heads();
    let change = change_by(run.automerge_mut(), 0xee, "zz");
    let evil = forge(&change, &heads, 2);
    let err = run.apply_bytes(&evil).unwrap_err();
    assert!(
        matches!(&err, RunError::UnknownWriter { actor, seq: 2 } if *actor == "ee".repeat(16)),
        "{err:?}"
    );
    assert!(err.to_string().contains(&"ee".repeat(16)), "{err}");
    still_sound(&mut run, &heads);
}

#[test]
fn a_valid_change_then_another_new_actor_s_change_2_applies_neither() {
    let mut run = three_step_run();
    let heads = run.heads();
    let good = change_by(run.automerge_mut(), 0xaa, "a");
    let evil = forge(
        &change_by(run.automerge_mut(), 0xbb, "b"),
        &[hash_of(&good)],
        2,
    );
    let err = run.apply_bytes(&[good, evil].concat()).unwrap_err();
    assert!(
        matches!(&err, RunError::UnknownWriter { actor, seq: 2 } if *actor == "bb".repeat(16)),
        "{err:?}"
    );
    still_sound(&mut run, &heads);
}

#[test]
fn a_new_actor_s_change_2_that_waits_for_its_change_1_applies_when_it_comes() {
    let mut run = three_step_run();
    let mut other = RunDoc::load(run_id(), who(7, "us", "other"), &run.save()).unwrap();
    other.graft("step1", "First", 4_000).unwrap();
    let first = other.save_incremental();
    other.graft("step1", "Second", 4_001).unwrap();
    let second = other.save_incremental();
    assert!(!run.apply_bytes(&second).unwrap(), "it waits");
    assert!(run.apply_bytes(&first).unwrap());
    let names = names(&run);
    assert!(names.contains(&"First".to_owned()) && names.contains(&"Second".to_owned()));
    run.save();
}

#[test]
fn a_change_naming_an_unknown_other_actor_is_refused() {
    let mut run = three_step_run();
    let heads = run.heads();
    // X makes a map, Y writes into it: Y's change names X among its other actors.
    let mut x = run
        .automerge_mut()
        .fork()
        .with_actor(ActorId::from(&[0x11; 16][..]));
    let map = x.put_object(ROOT, "m", automerge::ObjType::Map).unwrap();
    x.commit();
    let mut y = x.fork().with_actor(ActorId::from(&[0x22; 16][..]));
    y.put(&map, "k", 1).unwrap();
    y.commit();
    let by_y = y.get_last_local_change().unwrap().raw_bytes().to_vec();
    // Y's change alone, its dependency on X's change forged away.
    let evil = forge(&by_y, &heads, 1);
    let err = run.apply_bytes(&evil).unwrap_err();
    assert!(
        matches!(&err, RunError::UnknownActor { actor, seq: 1, .. } if *actor == "11".repeat(16)),
        "{err:?}"
    );
    still_sound(&mut run, &heads);
}

#[test]
fn new_actors_histories_and_offline_edits_still_apply() {
    let mut run = three_step_run();
    // Two new actors, several changes each, one naming the other, sent at once.
    let mut x = run
        .automerge_mut()
        .fork()
        .with_actor(ActorId::from(&[0x11; 16][..]));
    let map = x.put_object(ROOT, "m", automerge::ObjType::Map).unwrap();
    x.commit();
    x.put(&map, "a", 1).unwrap();
    x.commit();
    let mut y = x.fork().with_actor(ActorId::from(&[0x22; 16][..]));
    y.put(&map, "k", 1).unwrap();
    y.commit();
    y.put(&map, "k", 2).unwrap();
    y.commit();
    let sent = y.save_after(&run.heads());
    assert!(run.apply_bytes(&sent).unwrap());
    // An offline replica's edits, merged later as a whole save.
    let mut offline = RunDoc::load(run_id(), who(7, "eu", "bob"), &run.save()).unwrap();
    offline.graft("step2", "Offline", 5_000).unwrap();
    offline.graft("step1", "Offline2", 6_000).unwrap();
    run.graft("step3", "Online", 5_500).unwrap();
    assert!(run.apply_bytes(&offline.save()).unwrap());
    assert!(names(&run).contains(&"Offline".to_owned()));
    // A later change of an actor the run already holds.
    let mut z: AutoCommit = AutoCommit::load(&run.save()).unwrap();
    z.set_actor(ActorId::from(&[0x22; 16][..]));
    z.put(&map, "k", 3).unwrap();
    z.commit();
    let later = z.get_last_local_change().unwrap().raw_bytes().to_vec();
    assert!(run.apply_bytes(&later).unwrap());
    run.save();
}
