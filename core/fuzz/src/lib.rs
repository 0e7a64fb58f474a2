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

use runmesh_core::{ActorId, Identity, RunDoc, RunId, StepSpec};

/// The run every target works on.
pub const RUN: RunId = RunId::from_bytes([7; 16]);

/// An identity with a fixed actor, so that the run's bytes (and the hashes of its
/// changes, which an input can name as dependencies) are the same in every process:
/// a corpus entry means the same thing on every run of the fuzzer.
pub fn identity(user: &str, actor: u8) -> Identity {
    Identity::with_actor(ActorId::from([actor; 16]), "fuzz", user).expect("valid labels")
}

/// The run the targets start from, saved: two steps and one graft, built once.
pub fn saved_run() -> &'static [u8] {
    static RUN_BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    RUN_BYTES.get_or_init(|| {
        let who = identity("alice", 1);
        let steps = [
            StepSpec::new("step1").unwrap(),
            StepSpec::new("step2").unwrap(),
        ];
        let mut run = RunDoc::create(RUN, who, "T", &steps, 1).unwrap();
        run.graft("step1", "Agent", 2).unwrap();
        run.save()
    })
}

/// The saved run, loaded and its view read, once per process: a target clones it rather
/// than loading it for every input (loading and reading were 80% of each execution).
pub fn loaded_run() -> &'static RunDoc {
    static LOADED: OnceLock<RunDoc> = OnceLock::new();
    LOADED.get_or_init(|| {
        let run = RunDoc::load(RUN, identity("fuzz", 2), saved_run()).expect("the run loads");
        run.state();
        run
    })
}

/// Lets a panic that `runmesh_core`'s intake guard contains (Automerge panicking while
/// parsing bytes from outside into a fresh document, turned into an error) pass, and
/// every other panic crash the target as libFuzzer's own hook does. Call at the start of
/// every input (it wraps the hook once; libFuzzer installs its own before the first input).
pub fn contained_panics_pass() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let crash = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !runmesh_core::fuzzing::inside_guard() {
                crash(info);
            }
        }));
    });
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
