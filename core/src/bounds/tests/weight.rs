//! What bytes weigh against a run's size limit: deflated parts inflated, ops at
//! `OP_WEIGHT` each when they weigh more, stored bytes without a stranger's ceilings.

use crate::bounds::*;

#[test]
fn a_deflated_change_weighs_what_it_inflates_to() {
    use automerge::transaction::Transactable;
    let mut doc = automerge::AutoCommit::new();
    doc.put(automerge::ROOT, "note", "a".repeat(100_000))
        .unwrap();
    doc.commit();
    let mut change = doc.get_last_local_change().unwrap().clone();
    let raw = change.raw_bytes().to_vec();
    let deflated = change.bytes().to_vec();
    assert!(
        deflated.len() * 50 < raw.len(),
        "{} deflated",
        deflated.len()
    );
    assert_eq!(weigh(&raw), Ok(raw.len()));
    // The chunk headers differ only in the length's LEB128 (a byte or two).
    let weight = weigh(&deflated).unwrap();
    assert!(
        weight.abs_diff(raw.len()) <= 4,
        "{weight} against {}",
        raw.len()
    );
    let both = [raw.clone(), deflated].concat();
    assert_eq!(weigh(&both).unwrap(), raw.len() + weight);
}

/// A change inserting `n` nulls into a new list: Automerge's run-length columns make it
/// a few hundred bytes, whatever `n`.
fn nulls_change(n: usize) -> Vec<u8> {
    use automerge::transaction::Transactable;
    let mut doc = automerge::AutoCommit::new();
    let list = doc
        .put_object(automerge::ROOT, "l", automerge::ObjType::List)
        .unwrap();
    for i in 0..n {
        doc.insert(&list, i, automerge::ScalarValue::Null).unwrap();
    }
    doc.commit();
    doc.get_last_local_change().unwrap().raw_bytes().to_vec()
}

#[test]
fn a_change_weighs_its_ops_when_they_weigh_more_than_its_bytes() {
    let small = nulls_change(20_000);
    assert!(small.len() < 1_000, "{} bytes", small.len());
    let weight = weigh(&small).unwrap();
    assert!(weight >= 20_000 * OP_WEIGHT as usize, "{weight}");
    // A change whose bytes weigh more than its ops weighs its bytes.
    let mut doc = automerge::AutoCommit::new();
    use automerge::transaction::Transactable;
    doc.put(automerge::ROOT, "note", "x".repeat(10_000))
        .unwrap();
    doc.commit();
    let text = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    assert_eq!(weigh(&text), Ok(text.len()));
}

#[test]
fn stored_bytes_are_weighed_whatever_rows_their_length_would_allow_a_stranger() {
    use automerge::transaction::Transactable;
    let mut doc = automerge::AutoCommit::new();
    let text = doc
        .put_object(automerge::ROOT, "t", automerge::ObjType::Text)
        .unwrap();
    doc.splice_text(&text, 0, 0, &"a".repeat(150_000)).unwrap();
    let saved = doc.save();
    // Deflated, 150,000 ops fit in a few kilobytes: more rows than a stranger's input of
    // that length may declare, but a run this relay took in and saved.
    assert!(weigh(&saved).is_err());
    let weight = weight_of_stored(&saved);
    assert!(weight >= 150_000 * OP_WEIGHT as usize, "{weight}");
    assert_eq!(weight_of_stored(b"not automerge"), usize::MAX);
}

#[test]
fn a_change_without_ops_weighs_one_op_as_it_does_in_a_snapshot() {
    // From the fifth attack: empty changes weighed their 52 bytes as input and 256 each
    // as rows of the snapshot that held them, which then passed the run's limit.
    let mut doc = automerge::AutoCommit::new();
    doc.empty_change(Default::default());
    let empty = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    assert!(empty.len() < OP_WEIGHT as usize, "{} bytes", empty.len());
    assert_eq!(weigh(&empty), Ok(OP_WEIGHT as usize));
}
