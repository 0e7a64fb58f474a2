//! Automerge change chunks made by hand, for tests of what a relay does with changes
//! Automerge's own API never writes.

use runmesh_core::ActorId;

/// A plain change chunk `change` rewritten to depend on `deps` and carry sequence number
/// `seq`, its checksum recomputed: a change Automerge's own API never writes (the attack's
/// A01/A02 changes of an actor whose earlier changes never came).
pub fn forge(change: &[u8], deps: &[automerge::ChangeHash], seq: u64) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    assert_eq!(change[8], 1, "a plain change chunk");
    let (_, mut body) = uleb(&change[9..]);
    let (old_deps, rest) = uleb(body);
    body = &rest[32 * old_deps as usize..];
    let (actor_len, rest) = uleb(body);
    let (actor, rest) = rest.split_at(actor_len as usize);
    let (_, after_seq) = uleb(rest);
    let mut new = leb(deps.len() as u64);
    deps.iter().for_each(|d| new.extend(d.0));
    new.extend(leb(actor_len));
    new.extend(actor);
    new.extend(leb(seq));
    new.extend(after_seq);
    let mut hashed = vec![1u8];
    hashed.extend(leb(new.len() as u64));
    hashed.extend(new);
    let mut chunk = change[..4].to_vec();
    chunk.extend(&Sha256::digest(&hashed)[..4]);
    chunk.extend(hashed);
    chunk
}

/// A change by a new `actor` on top of `doc`'s heads, putting `key` at the root.
pub fn change_by(doc: &mut automerge::AutoCommit, actor: u8, key: &str) -> Vec<u8> {
    use automerge::transaction::Transactable;
    let mut fork = doc.fork().with_actor(ActorId::from(&[actor; 16][..]));
    fork.put(automerge::ROOT, key, 1).unwrap();
    fork.commit();
    fork.get_last_local_change().unwrap().raw_bytes().to_vec()
}

/// The hash Automerge gives a change chunk.
pub fn hash_of(change: &[u8]) -> automerge::ChangeHash {
    automerge::Change::from_bytes(change.to_vec())
        .unwrap()
        .hash()
}

fn uleb(bytes: &[u8]) -> (u64, &[u8]) {
    let (mut value, mut shift) = (0, 0);
    for (at, byte) in bytes.iter().enumerate() {
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return (value, &bytes[at + 1..]);
        }
        shift += 7;
    }
    panic!("truncated LEB128")
}

/// `value` as unsigned LEB128, as Automerge writes lengths and counts.
pub fn leb(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}
