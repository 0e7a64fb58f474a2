//! Any bytes as changes applied to an open run (the npm package's `applyChanges`, the
//! relay's `/sync` and `import` into an existing run): never a panic, never an allocation
//! past libFuzzer's `-malloc_limit_mb`; a refusal leaves the run as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runmesh_core::{Identity, RunDoc, RunId};
use runmesh_core_fuzz::saved_run; // and the allocation cap

fuzz_target!(|data: &[u8]| {
    let who = Identity::random("fuzz", "fuzz").expect("valid labels");
    let mut run =
        RunDoc::load(RunId::from_bytes([7; 16]), who, saved_run()).expect("the run loads");
    let before = run.state();
    if run.apply_bytes(data).is_err() {
        assert_eq!(run.state(), before, "a refused apply changed the run");
    }
});
