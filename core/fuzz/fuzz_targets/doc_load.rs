//! Any bytes as a saved run: never a panic; whatever loads materialises, and saves to
//! bytes that load to the same run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runmesh_core::{Identity, RunDoc, RunId};
use runmesh_core_fuzz as _; // the allocation cap

fuzz_target!(|data: &[u8]| {
    let run = RunId::from_bytes([7; 16]);
    let who = Identity::random("fuzz", "fuzz").expect("valid labels");
    if let Ok(mut doc) = RunDoc::load(run, who.clone(), data) {
        let state = doc.state();
        let again = RunDoc::load(run, who, &doc.save()).expect("a saved run loads");
        assert_eq!(again.state(), state);
    }
});
