//! Any bytes as changes applied to an open run (the npm package's `applyChanges`, the
//! relay's `/sync` and `import` into an existing run): never a panic, never an allocation
//! past the cap in `src/lib.rs`; a refusal leaves the run as it was, except when Automerge
//! took the changes in a form it cannot keep (`RunError::ApplyFailed`: the holder drops the
//! run, as a relay does); a run that takes them still saves and loads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runmesh_core::{RunDoc, RunError};
use runmesh_core_fuzz::{RUN, identity, loaded_run}; // and the allocation cap

fuzz_target!(|data: &[u8]| {
    runmesh_core_fuzz::contained_panics_pass();
    let original = loaded_run();
    let mut run = original.clone();
    match run.apply_bytes(data) {
        Ok(true) => {
            let saved = run.save();
            let again = RunDoc::load(RUN, identity("fuzz", 2), &saved).expect("a saved run loads");
            assert_eq!(again.state(), run.state());
        }
        Ok(false) | Err(RunError::ApplyFailed { .. }) => {}
        Err(_) => assert_eq!(
            run.state(),
            original.state(),
            "a refused apply changed the run"
        ),
    }
});
