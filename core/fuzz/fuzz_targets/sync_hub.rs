//! Any bytes as a client's sync message to a relay's hub for a stored run: never a panic
//! and never an allocation past libFuzzer's `-malloc_limit_mb`; whatever the hub takes
//! in, it persists, answers with a sync message, still serves the run's state, and saves
//! to bytes that load.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use runmesh_core::RunDoc;
use runmesh_core::hub::{Effect, HubConfig, Input, Link, PeerKind, RunHub, SessionId, Stored};
use runmesh_core::sync::{PeerId, decode_message};
use runmesh_core_fuzz::{RUN, identity, saved_run}; // and the allocation cap

fuzz_target!(|data: &[u8]| {
    runmesh_core_fuzz::contained_panics_pass();
    let Ok(message) = decode_message(data) else {
        return;
    };
    let config = Arc::new(HubConfig {
        me: PeerId::from("relay"),
        identity: identity("relay", 3),
        max_document_bytes: 1 << 20,
        snapshot_interval_events: 4,
        lookup_timeout: 3_000,
        trust_mesh: true,
        budget: None,
    });
    let mut hub: RunHub<u64> = RunHub::new(config, RUN.document_id());
    let stored = Stored {
        bytes: saved_run().to_vec(),
        chunks: 0,
    };
    hub.handle(0, Input::Loaded(Ok(Some(stored))));
    let before = hub.heads();
    let from = Link {
        peer: PeerId::from("client"),
        session: SessionId(1),
        kind: PeerKind::Client,
    };
    let mut effects = hub.handle(
        1,
        Input::Sync {
            from,
            message,
            request: false,
        },
    );
    // Complete every persist the hub asks for, so it sends what it holds back.
    while let Some(id) = effects.iter().find_map(|e| match e {
        Effect::Persist(p) => Some(p.id),
        _ => None,
    }) {
        effects.retain(|e| !matches!(e, Effect::Persist(p) if p.id == id));
        effects.extend(hub.handle(2, Input::Stored(id)));
    }
    let _ = hub.state();
    // What the hub took in saves to bytes that load (a run a relay cannot load again is
    // lost to it).
    if hub.heads() != before
        && let Ok(bytes) = hub.save()
    {
        RunDoc::load(RUN, identity("check", 4), &bytes)
            .expect("the hub's run saves to bytes that load");
    }
});
