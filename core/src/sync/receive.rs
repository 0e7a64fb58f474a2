//! Receiving one Automerge sync message without walking the document's history.
//!
//! Automerge 0.12's `receive_sync_message` ends by trimming the session's `sent_hashes`
//! (the changes already sent to this peer) down to those the peer's new heads do not
//! cover, and it finds them by visiting *every* ancestor of those heads — on every
//! message, even when nothing was sent. On a busy run that walk is most of a relay's
//! work and grows with the run's history.
//!
//! [`receive`] does the same state update with public Automerge API, except the trim:
//! `sent_hashes` only keeps Automerge from sending a change twice, and an entry the peer
//! already has suppresses nothing it would otherwise send (Automerge only offers changes
//! the peer's heads and bloom filter do not cover). So the set is cleared outright when
//! the peer's heads equal ours (it has everything), and otherwise trimmed exactly, with
//! Automerge's clock-indexed `get_changes_meta`, only once it has grown past twice what
//! the last trim left (plus a floor): amortised constant work per message instead of a
//! walk of the whole history.

use std::collections::{BTreeSet, HashSet};

use automerge::sync::{Capability, Message, MessageFlags, State};
use automerge::{AutoCommit, AutomergeError, ChangeHash};

use super::whole_doc::adopt_whole;

/// `sent_hashes` may grow to this many entries before an exact trim, whatever it was.
const TRIM_FLOOR: usize = 512;

/// Per-session bookkeeping for the trim.
#[derive(Debug, Default)]
pub(crate) struct Trim {
    /// `sent_hashes` is trimmed exactly when it passes this size.
    limit: usize,
}

/// Applies `message` from a peer to `doc` and updates `state`, as Automerge's
/// `receive_sync_message` does, without its walk of the history.
pub(crate) fn receive(
    doc: &mut AutoCommit,
    state: &mut State,
    trim: &mut Trim,
    message: Message,
) -> Result<(), AutomergeError> {
    state.in_flight = false;
    let before_heads = doc.get_heads();
    let Message {
        heads: message_heads,
        changes,
        need,
        have,
        flags,
        ..
    } = message;

    if let Some(flags) = flags {
        // A peer that sends the flags section speaks the v2 message format.
        let mut capabilities = vec![Capability::MessageV2];
        if flags.contains(MessageFlags::SUPPORTS_SYNC_RESET) {
            capabilities.push(Capability::SyncReset);
        }
        state.their_capabilities = Some(capabilities);
        if flags.contains(MessageFlags::SYNC_RESET) {
            state.sent_hashes.clear();
        }
        state.peer_read_only = flags.contains(MessageFlags::READ_ONLY);
    }

    let changes_empty = changes.is_empty();
    if !changes_empty && !state.read_only {
        let changes: Vec<&[u8]> = changes.iter().collect();
        if !adopt_whole(doc, &changes) {
            doc.load_incremental(&changes.concat())?;
        }
        let after_heads = doc.get_heads();
        state.shared_heads = advance_heads(&before_heads, &after_heads, &state.shared_heads);
    }

    let known: Vec<ChangeHash> = message_heads
        .iter()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .copied()
        .collect();
    trim_sent(doc, state, trim, &known);

    if changes_empty && message_heads == before_heads {
        state.last_sent_heads.clone_from(&message_heads);
    }
    if known.len() == message_heads.len() {
        state.shared_heads.clone_from(&message_heads);
        // A peer that lost everything gets a full resync.
        if message_heads.is_empty() {
            state.last_sent_heads = Vec::new();
            state.sent_hashes = BTreeSet::new();
        }
    } else {
        let mut shared: Vec<ChangeHash> =
            state.shared_heads.iter().chain(&known).copied().collect();
        shared.sort();
        shared.dedup();
        state.shared_heads = shared;
    }
    state.their_have = Some(have);
    state.their_heads = Some(message_heads);
    state.their_need = Some(need);
    Ok(())
}

/// Drops from `sent_hashes` what a peer with heads `known` (the ones we have) already
/// has: all of it when those are our heads, else exactly but only now and then.
fn trim_sent(doc: &mut AutoCommit, state: &mut State, trim: &mut Trim, known: &[ChangeHash]) {
    if state.sent_hashes.is_empty() {
        return;
    }
    if !known.is_empty() && sorted(known) == sorted(&doc.get_heads()) {
        state.sent_hashes.clear();
        return;
    }
    if state.sent_hashes.len() <= trim.limit.max(TRIM_FLOOR) {
        return;
    }
    // What the peer lacks: every change that is not an ancestor of its heads.
    let lacking: HashSet<ChangeHash> = doc
        .get_changes_meta(known)
        .into_iter()
        .map(|m| m.hash)
        .collect();
    state.sent_hashes.retain(|h| lacking.contains(h));
    trim.limit = 2 * state.sent_hashes.len();
}

fn sorted(heads: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut heads = heads.to_vec();
    heads.sort();
    heads
}

/// The shared heads after our heads moved from `before` to `after`: our new heads plus
/// those of the old shared heads that are still heads.
fn advance_heads(
    before: &[ChangeHash],
    after: &[ChangeHash],
    shared: &[ChangeHash],
) -> Vec<ChangeHash> {
    let before: HashSet<&ChangeHash> = before.iter().collect();
    let after_set: HashSet<&ChangeHash> = after.iter().collect();
    let mut advanced: Vec<ChangeHash> = after
        .iter()
        .filter(|h| !before.contains(h))
        .chain(shared.iter().filter(|h| after_set.contains(h)))
        .copied()
        .collect();
    advanced.sort();
    advanced.dedup();
    advanced
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;

    fn doc_with(actor: u8, n: usize) -> AutoCommit {
        let mut doc = AutoCommit::new().with_actor(automerge::ActorId::from(vec![actor; 16]));
        for i in 0..n {
            doc.put(automerge::ROOT, format!("k{actor}-{i}"), i as i64)
                .unwrap();
            doc.commit();
        }
        doc
    }

    /// Syncs `a` and `b` to quiescence, `a` through [`receive`] and `b` through
    /// Automerge's own; returns the number of rounds.
    fn sync_pair(a: &mut AutoCommit, b: &mut AutoCommit) -> (State, Trim, State) {
        let (mut sa, mut trim, mut sb) = (State::new(), Trim::default(), State::new());
        for _ in 0..20 {
            let to_b = a.sync().generate_sync_message(&mut sa);
            let to_a = b.sync().generate_sync_message(&mut sb);
            if to_b.is_none() && to_a.is_none() {
                return (sa, trim, sb);
            }
            if let Some(m) = to_b {
                b.sync().receive_sync_message(&mut sb, m).unwrap();
            }
            if let Some(m) = to_a {
                receive(a, &mut sa, &mut trim, m).unwrap();
            }
        }
        panic!("did not converge in 20 rounds");
    }

    #[test]
    fn converges_with_automerge_on_the_other_side() {
        let mut a = doc_with(1, 30);
        let mut b = doc_with(2, 40);
        let (sa, _, _) = sync_pair(&mut a, &mut b);
        assert_eq!(a.get_heads(), b.get_heads());
        assert_eq!(sorted(&sa.shared_heads), sorted(&a.get_heads()));
        // The peer has everything we sent: nothing is kept.
        assert!(sa.sent_hashes.is_empty(), "{:?}", sa.sent_hashes.len());
    }

    #[test]
    fn keeps_only_what_the_peer_lacks_once_past_the_limit() {
        let mut a = doc_with(1, 0);
        let mut b = doc_with(2, 0);
        let (mut sa, mut trim, _) = sync_pair(&mut a, &mut b);
        // Pretend we sent b far more than the floor, half of which b has.
        let mut c = doc_with(3, 2 * TRIM_FLOOR);
        let all: Vec<ChangeHash> = c.get_changes(&[]).iter().map(|c| c.hash()).collect();
        a.merge(&mut c).unwrap();
        let half = c.get_changes(&[])[..TRIM_FLOOR].to_vec();
        b.apply_changes(half.clone()).unwrap();
        sa.sent_hashes.extend(all.iter().copied());
        let heads = b.get_heads();
        let message = Message {
            heads: heads.clone(),
            need: Vec::new(),
            have: Vec::new(),
            changes: automerge::sync::ChunkList::empty(),
            flags: None,
            version: automerge::sync::MessageVersion::V2,
        };
        receive(&mut a, &mut sa, &mut trim, message).unwrap();
        let expected: BTreeSet<ChangeHash> = all[TRIM_FLOOR..].iter().copied().collect();
        assert_eq!(sa.sent_hashes, expected);
        assert_eq!(sa.their_heads, Some(heads));
        assert_eq!(trim.limit, 2 * TRIM_FLOOR);
    }

    #[test]
    fn a_peer_that_lost_everything_is_resent_everything() {
        let mut a = doc_with(1, 5);
        let mut b = AutoCommit::new();
        let (mut sa, mut trim, _) = sync_pair(&mut a, &mut b);
        assert_eq!(a.get_heads(), b.get_heads());
        let mut fresh = AutoCommit::new();
        let mut sf = State::new();
        let hello = fresh.sync().generate_sync_message(&mut sf).unwrap();
        receive(&mut a, &mut sa, &mut trim, hello).unwrap();
        assert!(sa.sent_hashes.is_empty());
        let reply = a.sync().generate_sync_message(&mut sa).unwrap();
        fresh.sync().receive_sync_message(&mut sf, reply).unwrap();
        assert_eq!(fresh.get_heads(), a.get_heads());
    }
}
