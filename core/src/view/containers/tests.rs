use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ScalarValue};

use super::*;
use crate::genesis::genesis_doc as genesis;

/// The containers as the root keys of a document holding only the genesis name them.
fn by_key(doc: &AutoCommit) -> Containers {
    let get = |obj: &ObjId, key: &str| doc.get(obj, key).unwrap().unwrap().1;
    let grafts = get(&ROOT, keys::GRAFTS);
    Containers {
        steps: get(&ROOT, keys::STEPS),
        buckets: (0..GRAFT_BUCKETS)
            .map(|b| get(&grafts, &bucket_key(b)))
            .collect(),
        grafts,
        pruned: get(&ROOT, keys::PRUNED),
        flags: get(&ROOT, keys::FLAGS),
    }
}

#[test]
fn the_fixed_ids_are_the_genesis_containers() {
    let mut doc = genesis();
    assert_eq!(Containers::find(&mut doc).unwrap(), by_key(&doc));
    assert_eq!(Containers::genesis(), by_key(&doc));
    assert!(Containers::genesis().detached(&doc).is_empty());
}

#[test]
fn a_document_without_the_genesis_is_not_a_run() {
    let mut doc = AutoCommit::new();
    doc.put_object(ROOT, keys::GRAFTS, ObjType::Map).unwrap();
    let err = Containers::find(&mut doc).unwrap_err();
    assert!(err.to_string().contains("genesis"), "{err}");
}

#[test]
fn keys_that_are_not_buckets_are_passed_over() {
    let mut doc = genesis();
    let c = Containers::genesis();
    for key in ["40", "0A", "a", "000", "g-1", "ff"] {
        doc.put(&c.grafts, key, ScalarValue::Int(1)).unwrap();
    }
    assert!(c.detached(&doc).is_empty());
    assert_eq!(bucket_number("3f"), Some(63));
    assert_eq!(bucket_number("0a"), Some(10));
    for key in ["40", "0A", "a", "000", "+a", ""] {
        assert_eq!(bucket_number(key), None, "{key:?}");
    }
}

#[test]
fn replaced_and_removed_keys_are_named_and_the_containers_stay() {
    let mut doc = genesis();
    let c = Containers::genesis();
    doc.put(&c.grafts, "2a", ScalarValue::Int(42)).unwrap();
    doc.delete(&c.grafts, "07").unwrap();
    doc.put_object(ROOT, keys::STEPS, ObjType::Map).unwrap();
    doc.put(ROOT, keys::FLAGS, "text").unwrap();
    let found = c.detached(&doc);
    let at: Vec<&str> = found.iter().map(|(at, _)| at.as_str()).collect();
    assert_eq!(at, ["steps", "flags", "grafts/2a", "grafts/07"]);
    assert!(
        found[0].1.starts_with(r#""steps" holds a map ("#),
        "{}",
        found[0].1
    );
    assert!(
        found[1].1.contains(r#"the string "text""#),
        "{}",
        found[1].1
    );
    assert!(found[2].1.contains("the number 42"), "{}", found[2].1);
    assert!(found[3].1.contains("holds nothing"), "{}", found[3].1);
    // What the genesis made is still there to read.
    assert_eq!(doc.object_type(&c.steps).unwrap(), ObjType::List);
    assert_eq!(doc.object_type(&c.buckets[7]).unwrap(), ObjType::Map);
    assert_eq!(Containers::find(&mut doc).unwrap(), c);
}
