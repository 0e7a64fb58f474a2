//! Helpers shared by the core's integration tests.
#![allow(dead_code)]

pub mod hub;

use runmesh_core::{ActorId, Identity, RunDoc, RunId, StepSpec};

pub const RUN: &str = "123e4567-e89b-12d3-a456-426614174000";

pub fn run_id() -> RunId {
    RUN.parse().unwrap()
}

/// An identity with a fixed actor id, so documents are byte-for-byte reproducible.
pub fn who(actor: u8, region: &str, user: &str) -> Identity {
    Identity::with_actor(ActorId::from(&[actor; 16][..]), region, user).unwrap()
}

pub fn steps(ids: &[&str]) -> Vec<StepSpec> {
    ids.iter().map(|id| StepSpec::new(id).unwrap()).collect()
}

/// A run with steps step1..step3 created by alice in us-east-1.
pub fn three_step_run() -> RunDoc {
    RunDoc::create(
        run_id(),
        who(1, "us-east-1", "alice"),
        "Release",
        &steps(&["step1", "step2", "step3"]),
        1_000,
    )
    .unwrap()
}

pub fn names(run: &RunDoc) -> Vec<String> {
    run.state()
        .pipeline
        .iter()
        .map(|n| n.name.clone())
        .collect()
}

/// SplitMix64: a tiny deterministic generator, so one seed replays one whole schedule.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Proptest cases: `RUNMESH_PROPTEST_CASES` if set, else `default`.
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("RUNMESH_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

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

fn leb(mut value: u64) -> Vec<u8> {
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
