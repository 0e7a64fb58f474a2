use automerge::transaction::Transactable;
use automerge::{ActorId, ROOT};

use super::*;
use crate::genesis::{GENESIS, genesis_doc};

/// A document of its own: a root change that writes `title` and `steps`.
fn foreign() -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(&[7u8; 16][..]));
    doc.put(ROOT, "title", "not yours").unwrap();
    doc.put_object(ROOT, "steps", automerge::ObjType::Map)
        .unwrap();
    doc.commit();
    doc
}

fn last_change(doc: &mut AutoCommit) -> Vec<u8> {
    doc.get_last_local_change().unwrap().raw_bytes().to_vec()
}

#[test]
fn a_plain_change_is_judged_by_its_header_with_automerge_s_hash() {
    let mut doc = foreign();
    let hash = doc.get_heads()[0];
    let roots = Roots::of_chunks([&last_change(&mut doc)[..]]).unwrap();
    assert_eq!(roots.others, vec![hash]);
    assert!(!roots.genesis);
    let roots = Roots::of_chunks([GENESIS]).unwrap();
    assert!(roots.genesis && roots.others.is_empty());
    // A change with dependencies is no root.
    let mut run = genesis_doc().with_actor(ActorId::from(&[8u8; 16][..]));
    run.put(ROOT, "title", "t").unwrap();
    run.commit();
    let roots = Roots::of_chunks([&last_change(&mut run)[..]]).unwrap();
    assert!(!roots.genesis && roots.others.is_empty());
}

#[test]
fn whole_documents_and_concatenated_chunks_are_read_through() {
    let mut doc = foreign();
    let hash = doc.get_heads()[0];
    let mut bytes = GENESIS.to_vec();
    bytes.extend(doc.save());
    let roots = Roots::of_chunks([&bytes[..]]).unwrap();
    assert!(roots.genesis);
    assert_eq!(roots.others, vec![hash]);
}

#[test]
fn bytes_that_are_not_chunks_are_refused_before_anything() {
    let mut bytes = GENESIS.to_vec();
    bytes.extend(b"garbage");
    let err = Roots::of_chunks([&bytes[..]]).unwrap_err();
    assert!(err.to_string().contains("not an Automerge chunk"), "{err}");
}

#[test]
fn the_rule_by_what_the_document_holds() {
    let mut doc = foreign();
    let f = Roots::of_document(&mut doc).unwrap();
    let g = Roots::of_chunks([GENESIS]).unwrap();
    let both = Roots::of_chunks([GENESIS, &doc.save()[..]]).unwrap();
    let unknown = |_: &ChangeHash| false;
    // Into a run: only changes that descend from the genesis, or roots it has.
    assert!(matches!(
        f.admit(Holds::Run, unknown),
        Err(RunError::ForeignRoot { .. })
    ));
    assert!(f.admit(Holds::Run, |_| true).is_ok());
    assert!(g.admit(Holds::Run, unknown).is_ok());
    // Into nothing: a run, or some other document, not both at once.
    assert!(f.admit(Holds::Nothing, unknown).is_ok());
    assert!(g.admit(Holds::Nothing, unknown).is_ok());
    assert!(matches!(
        both.admit(Holds::Nothing, unknown),
        Err(RunError::ForeignRoot { .. })
    ));
    // Into some other document: anything but a genesis.
    assert!(f.admit(Holds::Other, unknown).is_ok());
    assert!(matches!(
        g.admit(Holds::Other, unknown),
        Err(RunError::GenesisIntoOther)
    ));
}

#[test]
fn what_a_document_holds() {
    assert_eq!(Holds::of(&mut AutoCommit::new()), Holds::Nothing);
    assert_eq!(Holds::of(&mut genesis_doc()), Holds::Run);
    assert_eq!(Holds::of(&mut foreign()), Holds::Other);
}

#[test]
fn merging_a_backup_keeps_the_rule() {
    let mut run = genesis_doc();
    let mut other = foreign();
    assert!(check_merge(None, &mut other).is_ok());
    assert!(check_merge(None, &mut run.clone()).is_ok());
    let err = check_merge(Some(&mut run), &mut other).unwrap_err();
    assert!(matches!(err, RunError::ForeignRoot { .. }), "{err}");
    let err = check_merge(Some(&mut other), &mut run).unwrap_err();
    assert!(matches!(err, RunError::GenesisIntoOther), "{err}");
    let mut damaged = genesis_doc();
    damaged.merge(&mut other).unwrap();
    assert!(check_merge(None, &mut damaged.clone()).is_err());
    // A root the store already holds is not new.
    assert!(check_merge(Some(&mut damaged.clone()), &mut damaged).is_ok());
}
