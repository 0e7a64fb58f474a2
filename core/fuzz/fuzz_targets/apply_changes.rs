//! Any bytes as changes applied to an open run (the npm package's `applyChanges`, the
//! relay's `/sync` and `import` into an existing run): never a panic, never an allocation
//! past the cap in `src/lib.rs`; a refusal leaves the run as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runmesh_core_fuzz::loaded_run; // and the allocation cap

fuzz_target!(|data: &[u8]| {
    runmesh_core_fuzz::contained_panics_pass();
    let original = loaded_run();
    let mut run = original.clone();
    if run.apply_bytes(data).is_err() {
        assert_eq!(run.state(), original.state(), "a refused apply changed the run");
    }
});
