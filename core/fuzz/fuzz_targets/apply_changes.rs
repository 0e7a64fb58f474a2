//! Any bytes as changes applied to an open run (the npm package's `applyChanges`, the
//! relay's `/sync` and `import` into an existing run): never a panic, never an allocation
//! past libFuzzer's `-malloc_limit_mb`; a refusal leaves the run as it was.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use runmesh_core_fuzz as _; // the allocation cap
use runmesh_core::{Identity, RunDoc, RunId, StepSpec};

fn saved_run() -> &'static Vec<u8> {
    static RUN: OnceLock<Vec<u8>> = OnceLock::new();
    RUN.get_or_init(|| {
        let who = Identity::random("us", "alice").expect("valid labels");
        let steps = [StepSpec::new("step1").unwrap(), StepSpec::new("step2").unwrap()];
        let mut run = RunDoc::create(RunId::from_bytes([7; 16]), who, "T", &steps, 1).unwrap();
        run.graft("step1", "Agent", 2).unwrap();
        run.save()
    })
}

fuzz_target!(|data: &[u8]| {
    let who = Identity::random("fuzz", "fuzz").expect("valid labels");
    let mut run = RunDoc::load(RunId::from_bytes([7; 16]), who, saved_run()).expect("the run loads");
    let before = run.state();
    if run.apply_bytes(data).is_err() {
        assert_eq!(run.state(), before, "a refused apply changed the run");
    }
});
