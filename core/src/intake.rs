//! Bytes from outside into Automerge: checked against what they declare and a ceiling
//! (`bounds`), then parsed with a panic inside Automerge caught. Every parse of bytes a
//! replica did not write itself goes through here.

use automerge::{AutoCommit, AutomergeError, LoadOptions, OnPartialLoad};

use crate::error::RunError;

/// Parses and checks every chunk of `bytes`. `None`: the bytes are sound but depend on
/// changes they do not contain (incremental chunks). Bytes from outside that may start
/// with changes go through `lineage::load_from_outside`, which checks their writers
/// first.
pub(crate) fn strict_load(bytes: &[u8]) -> Result<Option<AutoCommit>, RunError> {
    check_bounds(bytes)?;
    load_bounded(bytes)
}

/// [`strict_load`] of bytes a bounds check has passed.
pub(crate) fn load_bounded(bytes: &[u8]) -> Result<Option<AutoCommit>, RunError> {
    let loaded = guard(bytes.len(), || {
        AutoCommit::load_with_options(
            bytes,
            LoadOptions::new().on_partial_load(OnPartialLoad::Error),
        )
    })?;
    match loaded {
        Ok(doc) => Ok(Some(doc)),
        Err(AutomergeError::MissingDeps) => Ok(None),
        Err(e) => Err(corrupt(bytes, e)),
    }
}

/// The bounds check of `bytes` (`crate::bounds`), as a run error naming the limit.
pub(crate) fn check_bounds(bytes: &[u8]) -> Result<(), RunError> {
    crate::bounds::check_storage(bytes).map_err(|source| RunError::Refused {
        len: bytes.len(),
        source,
    })
}

/// Runs an Automerge parse of untrusted `bytes`, turning a panic inside Automerge into
/// an error (automerge 0.12 can panic on some malformed input: found by the `doc_load`
/// fuzz target, kept in its corpus). Callers only parse into fresh documents here, so
/// nothing half-built survives the panic. Needs `panic = "unwind"` (native builds); a
/// wasm build with `panic = "abort"` still traps.
pub(crate) fn guard<T>(len: usize, parse: impl FnOnce() -> T) -> Result<T, RunError> {
    #[cfg(feature = "fuzzing")]
    let _inside = fuzzing::Inside::enter();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)).map_err(|panic| {
        let reason = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("a panic without a message")
            .to_owned();
        RunError::Unparsable { len, reason }
    })
}

pub(crate) fn corrupt(bytes: &[u8], source: AutomergeError) -> RunError {
    RunError::CorruptBytes {
        len: bytes.len(),
        source: Box::new(source),
    }
}

/// For the fuzz targets: whether this thread is inside [`guard`], so that a panic there
/// (contained, turned into an error) is not counted as a crash.
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    use std::cell::Cell;

    thread_local! {
        static DEPTH: Cell<u32> = const { Cell::new(0) };
    }

    /// Whether the current thread is running a guarded parse.
    pub fn inside_guard() -> bool {
        DEPTH.with(|d| d.get() > 0)
    }

    pub(super) struct Inside;

    impl Inside {
        pub(super) fn enter() -> Self {
            DEPTH.with(|d| d.set(d.get() + 1));
            Self
        }
    }

    impl Drop for Inside {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get() - 1));
        }
    }
}
