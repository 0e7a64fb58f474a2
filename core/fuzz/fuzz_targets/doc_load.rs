//! Any bytes as a saved run: never a panic; whatever loads materialises, and saves to
//! bytes that load to the same run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runmesh_core::RunDoc;
use runmesh_core_fuzz::{RUN, identity}; // and the allocation cap

fuzz_target!(|data: &[u8]| {
    runmesh_core_fuzz::contained_panics_pass();
    let who = identity("fuzz", 2);
    if let Ok(mut doc) = RunDoc::load(RUN, who.clone(), data) {
        let state = doc.state();
        let again = RunDoc::load(RUN, who, &doc.save()).expect("a saved run loads");
        assert_eq!(again.state(), state);
    }
});
