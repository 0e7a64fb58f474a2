//! Any bytes through the wire decoder: never a panic, and whatever decodes re-encodes to
//! bytes that decode to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runmesh_core::sync::WireMessage;
use runmesh_core_fuzz as _; // the allocation cap

fuzz_target!(|data: &[u8]| {
    runmesh_core_fuzz::contained_panics_pass();
    if let Ok(message) = WireMessage::decode(data, 1 << 20) {
        let again =
            WireMessage::decode(&message.encode(), usize::MAX).expect("re-encoded message decodes");
        assert_eq!(again, message);
    }
});
