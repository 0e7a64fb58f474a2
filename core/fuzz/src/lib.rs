//! What every fuzz target shares: an allocator that counts one allocation over
//! [`LIMIT`] bytes as a crash, and the small run the targets sync and apply against.
//!
//! libFuzzer's own `-malloc_limit_mb` needs a sanitizer's malloc hooks; the targets run
//! with `--sanitizer none` (twice the executions per second on this 2-core machine), so
//! the limit is enforced here instead: the process aborts, and libFuzzer saves the input
//! as a crash. Automerge sizing a buffer from hostile input is exactly such an
//! allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::OnceLock;

use runmesh_core::{Identity, RunDoc, RunId, StepSpec};

/// The run the targets start from, saved: two steps and one graft, built once.
pub fn saved_run() -> &'static [u8] {
    static RUN: OnceLock<Vec<u8>> = OnceLock::new();
    RUN.get_or_init(|| {
        let who = Identity::random("us", "alice").expect("valid labels");
        let steps = [
            StepSpec::new("step1").unwrap(),
            StepSpec::new("step2").unwrap(),
        ];
        let mut run = RunDoc::create(RunId::from_bytes([7; 16]), who, "T", &steps, 1).unwrap();
        run.graft("step1", "Agent", 2).unwrap();
        run.save()
    })
}

/// The largest single allocation a target may make: 256 MiB.
pub const LIMIT: usize = 256 << 20;

/// The system allocator, aborting on any allocation over [`LIMIT`].
pub struct Capped;

fn check(size: usize) {
    if size > LIMIT {
        eprintln!("==fuzz== allocation of {size} bytes, over the {LIMIT}-byte limit");
        std::process::abort();
    }
}

// SAFETY: forwards to `System` unchanged; only refuses (by aborting) before it.
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Capped = Capped;
