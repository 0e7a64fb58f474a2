//! A run's size limit weighs changes as Automerge holds them, deflated parts inflated:
//! a change that deflates a thousand times cannot slip a run past `--max-document-bytes`
//! (the gap the third attack left, 2026-12-07).

use automerge::ROOT;
use automerge::transaction::Transactable;
use runmesh_core::hub::{Input, Link};
use runmesh_core::sync::WireMessage;

use runmesh_testkit::run_hub::*;

use crate::lineage::errors;

/// 200 KB of one letter: Automerge deflates the change that writes it to about 1 KB.
fn compressible() -> String {
    "a".repeat(200_000)
}

/// `peer`'s sync message carrying a change that writes [`compressible`], deflated as an
/// attacker would send it (Automerge's own sync messages carry changes uncompressed).
fn deflated_note(peer: &mut Peer, from: &Link) -> Input<u64> {
    peer.doc().put(ROOT, "note", compressible()).unwrap();
    peer.doc().commit();
    let deflated = peer.doc().get_last_local_change().unwrap().bytes().to_vec();
    let mut input = peer.sync_input(from);
    let Input::Sync { message, .. } = &mut input else {
        unreachable!()
    };
    assert_eq!(message.changes.iter().count(), 1);
    message.changes = vec![deflated].into();
    input
}

fn refused_for_size(effects: &[runmesh_core::hub::Effect<u64>]) -> bool {
    sends(effects).iter().any(|(_, m)| {
        matches!(m, WireMessage::Error { message, .. }
            if message.contains("--max-document-bytes") && message.contains("uncompressed"))
    })
}

#[test]
fn a_change_that_deflates_well_weighs_what_it_inflates_to() {
    let mut hub = TestHub::with_limit(64_000);
    let c = client("c", 1);
    let mut peer = Peer::new(&c, 2);
    hub.connect(&mut peer, &c);
    let input = deflated_note(&mut peer, &c);
    let Input::Sync { message, .. } = &input else {
        unreachable!()
    };
    let sent: usize = message.changes.iter().map(<[u8]>::len).sum();
    assert!(sent < 8_000, "the change is sent deflated ({sent} bytes)");
    let heads = hub.hub.heads();
    let effects = hub.handle(input);
    assert!(refused_for_size(&effects), "{effects:?}");
    assert_eq!(hub.hub.heads(), heads, "nothing applied");
}

#[test]
fn a_stored_run_weighs_what_its_bytes_inflate_to() {
    let mut run = base_run();
    run.automerge_mut()
        .put(ROOT, "note", compressible())
        .unwrap();
    run.automerge_mut().commit();
    let saved = run.save();
    assert!(
        saved.len() < 8_000,
        "saved deflated ({} bytes)",
        saved.len()
    );
    // Under the limit as stored, over it as held: the next change is refused.
    let mut hub = TestHub::with_stored_and_limit(saved, 100_000);
    let effects = hub.handle(op(1, graft("step1", "X")));
    assert!(
        matches!(replies(&effects)[..], [(1, Err(ref e))] if e.contains("--max-document-bytes")),
        "{effects:?}"
    );
}

#[test]
fn a_change_under_the_limit_uncompressed_is_taken() {
    let mut hub = TestHub::with_limit(400_000);
    let c = client("c", 1);
    let mut peer = Peer::new(&c, 2);
    hub.connect(&mut peer, &c);
    let input = deflated_note(&mut peer, &c);
    let heads = hub.hub.heads();
    let effects = hub.handle(input);
    assert!(!refused_for_size(&effects), "{effects:?}");
    assert_ne!(hub.hub.heads(), heads, "applied");
}

/// A change by `peer` inserting `n` nulls into a new list: a few hundred bytes whose
/// ops weigh `n` times [`runmesh_core::bounds::OP_WEIGHT`].
fn nulls(peer: &mut Peer, key: &str, n: usize) {
    use automerge::ObjType;
    let doc = peer.doc();
    let list = doc.put_object(ROOT, key, ObjType::List).unwrap();
    for i in 0..n {
        doc.insert(&list, i, automerge::ScalarValue::Null).unwrap();
    }
    doc.commit();
}

#[test]
fn a_change_of_many_ops_in_few_bytes_weighs_its_ops() {
    let mut hub = TestHub::with_limit(1_000_000);
    let c = client("c", 1);
    let mut peer = Peer::new(&c, 2);
    hub.connect(&mut peer, &c);
    nulls(&mut peer, "l", 5_000); // 1.28 MB at 256 bytes an op
    let input = peer.sync_input(&c);
    let Input::Sync { message, .. } = &input else {
        unreachable!()
    };
    let sent: usize = message.changes.iter().map(<[u8]>::len).sum();
    assert!(sent < 2_000, "{sent} bytes");
    let heads = hub.hub.heads();
    let effects = hub.handle(input);
    assert!(refused_for_size(&effects), "{effects:?}");
    assert_eq!(hub.hub.heads(), heads, "nothing applied");
}

#[test]
fn writes_taken_in_but_not_yet_stored_count_against_the_limit() {
    // Any two fit; three do not. The first is being stored (its persist unanswered) when
    // the second comes, and the second is not in that persist when the third comes: as
    // when twelve writes sent at once all passed a limit each alone would.
    let mut hub = TestHub::with_limit(500_000);
    let links: Vec<_> = (0..3).map(|i| client(&format!("c{i}"), i + 1)).collect();
    let mut peers: Vec<Peer> = links
        .iter()
        .enumerate()
        .map(|(i, link)| Peer::new(link, 3 + i as u8))
        .collect();
    for (peer, link) in peers.iter_mut().zip(&links) {
        hub.connect(peer, link);
    }
    let mut refused = Vec::new();
    for (i, (peer, link)) in peers.iter_mut().zip(&links).enumerate() {
        nulls(peer, &format!("l{i}"), 700); // 179,200 bytes at 256 an op
        let effects = hub.handle(peer.sync_input(link));
        refused.push(refused_for_size(&effects));
    }
    assert_eq!(refused, vec![false, false, true]);
}

#[test]
fn a_stored_run_far_past_the_limit_is_not_loaded() {
    let mut peer = Peer::new(&client("c", 1), 2);
    nulls(&mut peer, "l", 5_000); // 1.28 MB at 256 bytes an op, in a few KB
    let saved = peer.doc().save();
    assert!(saved.len() < 10_000, "{} bytes", saved.len());
    let mut hub = TestHub::with_stored_and_limit(saved, 200_000);
    let effects = hub.handle(op(1, graft("step1", "X")));
    assert!(
        matches!(replies(&effects)[..], [(1, Err(ref e))] if e.contains("not loaded") && e.contains("--max-document-bytes")),
        "{effects:?}"
    );
}

/// What a hub of the base run weighs once loaded, with a budget that has room.
fn loaded_weight() -> usize {
    let budget = std::sync::Arc::new(runmesh_core::hub::MemoryBudget::new(usize::MAX));
    let _hub = TestHub::with_budget(None, budget.clone());
    budget.used()
}

#[test]
fn the_runs_in_memory_share_one_budget_and_give_it_back_when_they_leave() {
    use runmesh_core::hub::MemoryBudget;
    let base = loaded_weight();
    assert!(base > 0);
    // Room for two base runs and 100,000 bytes of changes.
    let budget = std::sync::Arc::new(MemoryBudget::new(2 * base + 100_000));
    let mut first = TestHub::with_budget(None, budget.clone());
    let mut second = TestHub::with_budget(None, budget.clone());
    assert_eq!(budget.used(), 2 * base);
    let (a, b) = (client("a", 1), client("b", 2));
    let (mut pa, mut pb) = (Peer::new(&a, 3), Peer::new(&b, 4));
    first.connect(&mut pa, &a);
    second.connect(&mut pb, &b);
    nulls(&mut pa, "la", 300); // 76,800 bytes
    nulls(&mut pb, "lb", 300);
    let taken = first.handle(pa.sync_input(&a));
    assert!(errors(&taken).is_empty(), "{taken:?}");
    let refused = second.handle(pb.sync_input(&b));
    assert!(
        errors(&refused)
            .iter()
            .any(|e| e.contains("--max-loaded-bytes")),
        "{refused:?}"
    );
    // The first run leaves memory: its share comes back, and the second's change fits
    // (the second keeps only its peer's last heads and needs besides).
    drop(first);
    assert!(
        (base..base + 1_000).contains(&budget.used()),
        "{}",
        budget.used()
    );
    let mut pb = Peer::new(&b, 5);
    second.connect(&mut pb, &b);
    nulls(&mut pb, "lb", 300);
    let taken = second.handle(pb.sync_input(&b));
    assert!(errors(&taken).is_empty(), "{taken:?}");
}

#[test]
fn a_run_that_does_not_fit_the_budget_is_not_loaded_and_says_why() {
    use runmesh_core::hub::MemoryBudget;
    let budget = std::sync::Arc::new(MemoryBudget::new(loaded_weight() - 1));
    let mut hub = TestHub::with_budget(None, budget.clone());
    let effects = hub.handle(op(1, graft("step1", "X")));
    assert!(
        matches!(replies(&effects)[..], [(1, Err(ref e))] if e.contains("--max-loaded-bytes")),
        "{effects:?}"
    );
    assert_eq!(budget.used(), 0, "nothing held");
}

/// The seventh attack's E18: Automerge keeps each peer's last Bloom filters until its
/// next message, and nothing weighed them: 15 MB messages of 8 filters, one per run a
/// socket synced, took a relay past 3.6 GB. What is kept weighs in the run's share of
/// the budget (and so in its holders' shares), and is given back when the peer leaves.
#[test]
fn a_peers_bloom_filters_weigh_while_they_are_kept() {
    use runmesh_core::hub::MemoryBudget;
    let budget = std::sync::Arc::new(MemoryBudget::new(usize::MAX));
    let mut hub = TestHub::with_budget(None, budget.clone());
    let base = budget.used();
    let a = client("a", 1);
    // No heads or needs; one summary whose filter holds 400,000 entries at 10 bits.
    use runmesh_testkit::chunks::leb;
    let mut bytes = vec![0x42, 0, 0, 1, 0];
    let mut filter: Vec<u8> = [400_000u64, 10, 7].into_iter().flat_map(leb).collect();
    filter.extend(vec![0xa5; 500_000]);
    bytes.extend(leb(filter.len() as u64));
    bytes.extend(&filter);
    bytes.push(0); // no changes
    let message = runmesh_core::sync::decode_message(&bytes).expect("a valid message");
    hub.handle(Input::Sync {
        from: a.clone(),
        message,
        request: false,
    });
    assert!(
        budget.used() >= base + 500_000,
        "{} over {base}",
        budget.used()
    );
    hub.handle(Input::Left {
        peer: a.peer.clone(),
        session: a.session,
    });
    assert!(
        budget.used() < base + 1_000,
        "{} over {base}",
        budget.used()
    );
}

/// The eighth attack's E24: every `GET …/changes` saved the whole run again (a second
/// of CPU for 30 MB), and a hundred of them at once held a copy each; the tenth's E28:
/// a change before each read did the same. The document is saved once and shared by
/// every reader; a change adds a part of its own after it.
#[test]
fn the_saved_document_is_made_once_shared_and_extended_by_each_change() {
    use std::sync::Arc;
    let mut hub = TestHub::with_run();
    let first = hub.hub.saved().unwrap();
    let again = hub.hub.saved().unwrap();
    assert_eq!(first.parts().len(), 1);
    assert!(
        Arc::ptr_eq(&first.parts()[0], &again.parts()[0]),
        "saved once"
    );
    hub.handle(op(1, graft("step1", "After")));
    let after = hub.hub.saved().unwrap();
    assert_eq!(after.parts().len(), 2, "the change alone is added");
    assert!(Arc::ptr_eq(&first.parts()[0], &after.parts()[0]));
    let heads = |bytes: &[u8]| automerge::AutoCommit::load(bytes).unwrap().get_heads();
    assert_eq!(heads(&after.to_vec()), heads(&hub.hub.save().unwrap()));
}
