//! Where runs are stored across the mesh (`runmesh_core::reach`): claims passed on over
//! the links that exist, once each; a wiped store's old claims forgotten; a restarted
//! relay that knows nothing until told again; the wire form's bounds.

#![cfg(not(target_arch = "wasm32"))]

use runmesh_core::reach::{
    Claim, MAX_CLAIMS, MAX_REPORTERS, ReachError, ReachMessage, ReachTable, StoreEpoch,
};
use runmesh_core::sync::PeerId;
use runmesh_core::{ChangeHash, DocumentId, RunId};

fn epoch(n: u64) -> StoreEpoch {
    StoreEpoch {
        created_ms: n,
        nonce: 7,
    }
}

fn hash(n: u8) -> ChangeHash {
    ChangeHash([n; 32])
}

fn table(name: &str, region: &str) -> ReachTable {
    ReachTable::new(PeerId::from(name), region.into(), epoch(1))
}

/// The tests' changes form a line (`hash(n)` follows `hash(n - 1)`): heads cover `h`
/// when one of them is `h` or later.
fn covers(h: ChangeHash) -> impl Fn(&[ChangeHash]) -> bool {
    move |heads| heads.iter().any(|head| head.0[0] >= h.0[0])
}

/// Passes every due message along `links` (both ways, through the wire form) until none
/// is due; returns how many claims crossed.
fn settle(tables: &mut [(PeerId, ReachTable)], links: &[(usize, usize)]) -> usize {
    let mut crossed = 0;
    for _ in 0..100 {
        let mut moved = false;
        for &(a, b) in links {
            for (from, to) in [(a, b), (b, a)] {
                let to_peer = tables[to].0.clone();
                let from_peer = tables[from].0.clone();
                while let Some(message) = tables[from].1.due(&to_peer) {
                    let message = ReachMessage::decode(&message.encode()).expect("decodes");
                    crossed += message.claims.len();
                    tables[to].1.heard(&from_peer, message.claims);
                    moved = true;
                }
            }
        }
        if !moved {
            return crossed;
        }
    }
    panic!("claims never stopped crossing");
}

fn line() -> Vec<(PeerId, ReachTable)> {
    let mut tables: Vec<(PeerId, ReachTable)> = [("a", "eu"), ("b", "us"), ("c", "ap")]
        .into_iter()
        .map(|(name, region)| (PeerId::from(name), table(name, region)))
        .collect();
    // A–B and B–C.
    let (a, b, c) = (PeerId::from("a"), PeerId::from("b"), PeerId::from("c"));
    tables[0].1.link_up(b.clone());
    tables[1].1.link_up(a);
    tables[1].1.link_up(c);
    tables[2].1.link_up(b);
    tables
}

#[test]
fn a_relay_learns_what_a_region_it_has_no_link_to_stored() {
    let run = RunId::random().document_id();
    let mut tables = line();
    tables[0].1.stored_here(0, run, vec![hash(2)]);
    tables[1].1.stored_here(0, run, vec![hash(2)]);
    tables[2].1.stored_here(0, run, vec![hash(1)]);
    let crossed = settle(&mut tables, &[(0, 1), (1, 2)]);
    // Each of three claims reaches the two other relays over one link each.
    assert_eq!(crossed, 6, "each claim crosses each link once");
    let at_a = |h| tables[0].1.regions(&run, covers(h));
    assert_eq!(at_a(hash(1)), vec!["ap", "eu", "us"]);
    assert_eq!(at_a(hash(2)), vec!["eu", "us"], "ap stored only change 1");
    // C stores change 2: A hears of it through B, and only that claim crosses.
    tables[2].1.stored_here(0, run, vec![hash(2)]);
    assert_eq!(settle(&mut tables, &[(0, 1), (1, 2)]), 2);
    assert_eq!(
        tables[0].1.regions(&run, covers(hash(2))),
        vec!["ap", "eu", "us"]
    );
    // Old news from anywhere changes nothing and is not passed on.
    let stale = Claim {
        region: "ap".into(),
        epoch: epoch(1),
        reporter: PeerId::from("c"),
        seq: 1,
        run,
        heads: vec![hash(1)],
    };
    assert_eq!(tables[0].1.heard(&PeerId::from("b"), [stale]), 0);
    assert_eq!(settle(&mut tables, &[(0, 1), (1, 2)]), 0);
}

#[test]
fn a_wiped_store_is_no_longer_counted_once_its_new_life_is_heard_of() {
    let run = RunId::random().document_id();
    let mut tables = line();
    tables[2].1.stored_here(0, run, vec![hash(3)]);
    settle(&mut tables, &[(0, 1), (1, 2)]);
    assert_eq!(tables[0].1.regions(&run, covers(hash(3))), vec!["ap"]);
    // C's data directory is wiped: it restarts as a new relay on a new store, which
    // holds only change 1 so far.
    let c = PeerId::from("c2");
    tables[2] = (c.clone(), ReachTable::new(c.clone(), "ap".into(), epoch(2)));
    tables[2].1.link_up(PeerId::from("b"));
    tables[1].1.link_down(&PeerId::from("c"));
    tables[1].1.link_up(c);
    tables[2].1.stored_here(0, run, vec![hash(1)]);
    settle(&mut tables, &[(0, 1), (1, 2)]);
    assert!(
        tables[0].1.regions(&run, covers(hash(3))).is_empty(),
        "the old store's claim is forgotten"
    );
    assert_eq!(tables[0].1.regions(&run, covers(hash(1))), vec!["ap"]);
    // The old life's claims, arriving late, are not taken back.
    let late = Claim {
        region: "ap".into(),
        epoch: epoch(1),
        reporter: PeerId::from("c"),
        seq: 9,
        run,
        heads: vec![hash(3)],
    };
    assert_eq!(tables[0].1.heard(&PeerId::from("b"), [late]), 0);
    assert!(tables[0].1.regions(&run, covers(hash(3))).is_empty());
}

#[test]
fn a_restarted_relay_knows_nothing_until_its_links_tell_it_again() {
    let run = RunId::random().document_id();
    let mut tables = line();
    tables[2].1.stored_here(0, run, vec![hash(1)]);
    settle(&mut tables, &[(0, 1), (1, 2)]);
    // A restarts (same store, new peer id): it knows of no region, not even its own.
    let a = PeerId::from("a2");
    tables[0] = (a.clone(), ReachTable::new(a.clone(), "eu".into(), epoch(1)));
    assert!(tables[0].1.regions(&run, covers(hash(1))).is_empty());
    assert_eq!(tables[0].1.known_regions().count(), 0);
    // Its link to B comes up again: B tells it every claim it knows.
    tables[0].1.link_up(PeerId::from("b"));
    tables[1].1.link_down(&PeerId::from("a"));
    tables[1].1.link_up(a);
    settle(&mut tables, &[(0, 1), (1, 2)]);
    assert_eq!(tables[0].1.regions(&run, covers(hash(1))), vec!["ap"]);
}

#[test]
fn a_region_keeps_its_latest_reporters_only() {
    let run = RunId::random().document_id();
    let mut at_a = table("a", "eu");
    let claims = (0..=MAX_REPORTERS as u64).map(|n| Claim {
        region: "us".into(),
        epoch: epoch(1),
        reporter: PeerId::from(format!("us-relay-{n}")),
        seq: 1,
        run,
        // Only the first reporter vouches for change 5.
        heads: vec![if n == 0 { hash(5) } else { hash(1) }],
    });
    assert_eq!(at_a.heard(&PeerId::from("b"), claims), MAX_REPORTERS + 1);
    assert!(
        at_a.regions(&run, covers(hash(5))).is_empty(),
        "the reporter heard from least recently is forgotten: too little, never too much"
    );
    assert_eq!(at_a.regions(&run, covers(hash(1))), vec!["us"]);
}

#[test]
fn a_link_that_comes_up_is_told_everything_in_bounded_messages() {
    let mut at_a = table("a", "eu");
    let runs: Vec<DocumentId> = (0..MAX_CLAIMS + 10)
        .map(|_| RunId::random().document_id())
        .collect();
    for run in &runs {
        at_a.stored_here(0, *run, vec![hash(1)]);
    }
    let b = PeerId::from("b");
    assert!(at_a.due(&b).is_none(), "no link, nothing due");
    at_a.link_up(b.clone());
    let first = at_a.due(&b).expect("a first message");
    assert_eq!(first.claims.len(), MAX_CLAIMS);
    assert_eq!(at_a.due(&b).expect("the rest").claims.len(), 10);
    assert!(at_a.due(&b).is_none());
}

#[test]
fn a_reach_message_is_checked_as_it_is_decoded() {
    let run = RunId::random().document_id();
    let good = Claim {
        region: "eu".into(),
        epoch: epoch(1),
        reporter: PeerId::from("a"),
        seq: 1,
        run,
        heads: vec![hash(1), hash(2)],
    };
    let message = ReachMessage {
        claims: vec![good.clone()],
    };
    assert_eq!(ReachMessage::decode(&message.encode()), Ok(message));
    let too_many = ReachMessage {
        claims: vec![good.clone(); MAX_CLAIMS + 1],
    };
    assert_eq!(
        ReachMessage::decode(&too_many.encode()),
        Err(ReachError::TooManyClaims {
            count: MAX_CLAIMS + 1
        })
    );
    let unnamed = ReachMessage {
        claims: vec![Claim {
            region: String::new(),
            ..good
        }],
    };
    let err = ReachMessage::decode(&unnamed.encode()).unwrap_err();
    assert!(err.to_string().contains("region is 0 bytes"), "{err}");
    let garbage = ReachMessage::decode(b"\xff\x00garbage").unwrap_err();
    assert!(matches!(garbage, ReachError::Malformed(_)), "{garbage}");
}

#[test]
fn the_oldest_change_not_known_in_a_region_is_aged_until_that_region_claims_it() {
    let (run, other) = (RunId::random().document_id(), RunId::random().document_id());
    let mut at_a = table("a", "eu");
    at_a.stored_here(500, run, vec![hash(1)]);
    assert!(
        at_a.unreplicated(900).is_empty(),
        "no other region known yet"
    );
    at_a.stored_here(1_000, run, vec![hash(1)]);
    let claim = |run, heads| Claim {
        region: "us".into(),
        epoch: epoch(1),
        reporter: PeerId::from("b"),
        seq: 1,
        run,
        heads,
    };
    // "us" is known from a claim of another run: it lacks this one.
    at_a.heard(&PeerId::from("b"), [claim(other, vec![hash(9)])]);
    at_a.stored_here(1_500, run, vec![hash(2)]);
    assert_eq!(
        at_a.unreplicated(4_000)["us"],
        3_000,
        "aged from the first change since a region was known"
    );
    // "us" claims the newer heads: nothing stored here is missing there.
    let newer = Claim {
        seq: 2,
        ..claim(run, vec![hash(2)])
    };
    at_a.heard(&PeerId::from("b"), [newer]);
    assert_eq!(at_a.unreplicated(5_000)["us"], 0);
}
