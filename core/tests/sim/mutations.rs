//! The simulation must be able to fail: each deliberate mutation of a rule (a test-only
//! switch on the world's relays or clients) is caught by enough seeds.

use crate::world::World;

/// Runs seeds `0..seeds` with `mutate` applied, counts those that fail with an error
/// containing one of `why` (any error if it is empty), and asserts at least `least` did.
fn caught(seeds: u64, least: usize, what: &str, why: &[&str], mutate: impl Fn(&mut World)) {
    let caught = (0..seeds)
        .filter(|&seed| {
            let mut world = World::new(seed);
            mutate(&mut world);
            matches!(world.run(), Err(error) if why.is_empty() || why.iter().any(|w| error.contains(w)))
        })
        .count();
    eprintln!("{caught} of {seeds} seeds caught {what}");
    assert!(
        caught >= least,
        "only {caught} of {seeds} seeds caught {what}"
    );
}

/// A relay shell that tells its hubs a write is stored as soon as it starts (forwarding
/// before the write is durable) sends a sync message about an unstored change.
#[test]
fn a_shell_that_forwards_before_storing_is_caught() {
    let why = ["is not stored", "before change"];
    caught(20, 15, "the broken shell", &why, |world| {
        for relay in &mut world.relays {
            relay.ack_before_write = true;
        }
    });
}

/// Clients whose store says "stored" as soon as a write starts (so frames go out before
/// the change is on the device) send a change before their store held it.
#[test]
fn a_client_that_sends_before_storing_is_caught() {
    let what = "clients that send before storing";
    caught(20, 15, what, &["before its store held it"], |world| {
        for client in &mut world.clients {
            client.ack_before_write = true;
        }
    });
}

/// Catch-ups that lose the runs they are given to offer (so a run stored while a link
/// was down, and not loaded when it came back, never reaches the peer) leave relays
/// holding a run differently.
#[test]
fn a_catch_up_that_skips_a_run_is_caught() {
    caught(40, 5, "catch-ups that skip runs", &[], |world| {
        for relay in &mut world.relays {
            relay.skip_offers(1);
        }
    });
}

/// An admission that lets a session with a read grant write stores an intruder's
/// change, which spreads.
#[test]
fn a_session_admitted_without_its_grant_is_caught() {
    let what = "sessions admitted without their grant";
    caught(40, 10, what, &["without write access"], |world| {
        for relay in &mut world.relays {
            relay.ignore_grants = true;
        }
    });
}

/// A tie-break that keeps both links when two relays dial each other leaves two links
/// open.
#[test]
fn a_duplicate_link_kept_on_both_sides_is_caught() {
    caught(
        40,
        10,
        "duplicate links kept",
        &["mesh links open"],
        |world| {
            for relay in &mut world.relays {
                relay.keep_duplicate_links();
            }
        },
    );
}

/// Shards that tell the heads in memory as stored (a region reported to hold a change one
/// step early, before its write lands) let other relays hear a claim its store does not
/// back.
#[test]
fn a_region_reported_before_its_store_holds_the_change_is_caught() {
    let what = "claims of stored changes made before the store held them";
    caught(40, 10, what, &["its store does not hold it"], |world| {
        for relay in &mut world.relays {
            relay.tell_heads_early = true;
        }
    });
}
