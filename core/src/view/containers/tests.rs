use automerge::transaction::Transactable;
use automerge::{ROOT, ScalarValue};

use super::*;
use crate::genesis::genesis_doc as genesis;

fn grafts(doc: &AutoCommit) -> ObjId {
    doc.get(ROOT, keys::GRAFTS).unwrap().unwrap().1
}

fn why(doc: &AutoCommit) -> String {
    match Containers::find(doc) {
        Err(RunError::NotARun(why)) => why,
        other => panic!("expected NotARun, got {other:?}"),
    }
}

#[test]
fn every_bucket_is_found_where_a_lookup_finds_it() {
    let doc = genesis();
    let found = Containers::find(&doc).unwrap();
    let grafts = grafts(&doc);
    assert_eq!(found.buckets.len(), GRAFT_BUCKETS);
    for (bucket, id) in found.buckets.iter().enumerate() {
        let (_, expected) = doc.get(&grafts, bucket_key(bucket)).unwrap().unwrap();
        assert_eq!(*id, expected, "bucket {bucket}");
    }
}

#[test]
fn keys_that_are_not_buckets_are_passed_over() {
    let mut doc = genesis();
    let grafts = grafts(&doc);
    for key in ["40", "0A", "a", "000", "g-1", "ff"] {
        doc.put(&grafts, key, ScalarValue::Int(1)).unwrap();
    }
    assert!(Containers::find(&doc).is_ok());
    assert_eq!(bucket_number("3f"), Some(63));
    assert_eq!(bucket_number("0a"), Some(10));
    for key in ["40", "0A", "a", "000", "+a", ""] {
        assert_eq!(bucket_number(key), None, "{key:?}");
    }
}

#[test]
fn the_first_bad_bucket_is_named() {
    let mut doc = genesis();
    let grafts = grafts(&doc);
    doc.put(&grafts, "2a", ScalarValue::Int(42)).unwrap();
    doc.delete(&grafts, "07").unwrap();
    doc.put_object(&grafts, "30", ObjType::List).unwrap();
    assert_eq!(why(&doc), r#""grafts/07" is missing"#);
    doc.put_object(&grafts, "07", ObjType::Map).unwrap();
    assert_eq!(
        why(&doc),
        r#""grafts/2a" holds the number 42, expected a Map"#
    );
    doc.put_object(&grafts, "2a", ObjType::Map).unwrap();
    assert_eq!(why(&doc), r#""grafts/30" is a List, expected a Map"#);
    doc.put_object(&grafts, "30", ObjType::Map).unwrap();
    assert!(Containers::find(&doc).is_ok());
}

#[test]
fn a_root_container_of_the_wrong_kind_is_named() {
    let mut doc = genesis();
    doc.put_object(ROOT, keys::STEPS, ObjType::Map).unwrap();
    assert_eq!(why(&doc), r#""steps" is a Map, expected a List"#);
    doc.put(ROOT, keys::GRAFTS, "text").unwrap();
    assert_eq!(
        why(&doc),
        format!(
            "\"grafts\" holds {}, expected a Map",
            described(&Value::from("text"))
        )
    );
    doc.delete(ROOT, keys::GRAFTS).unwrap();
    assert_eq!(why(&doc), r#""grafts" is missing"#);
}
