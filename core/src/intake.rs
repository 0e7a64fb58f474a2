//! Bytes from outside into Automerge: checked against what they declare and a ceiling
//! (`bounds`), then parsed with a panic inside Automerge caught. Every parse of bytes a
//! replica did not write itself goes through here.

use automerge::{AutoCommit, AutomergeError, LoadOptions, OnPartialLoad};

use crate::error::RunError;

/// Parses and checks every chunk of `bytes`. `None`: the bytes are sound but depend on
/// changes they do not contain (incremental chunks).
pub(crate) fn strict_load(bytes: &[u8]) -> Result<Option<AutoCommit>, RunError> {
    crate::bounds::check_storage(bytes).map_err(|source| RunError::Refused {
        len: bytes.len(),
        source,
    })?;
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

/// Runs an Automerge parse of untrusted `bytes`, turning a panic inside Automerge into
/// an error (automerge 0.12 can panic on some malformed input: found by the `doc_load`
/// fuzz target, kept in its corpus). Callers only parse into fresh documents here, so
/// nothing half-built survives the panic. Needs `panic = "unwind"` (native builds); a
/// wasm build with `panic = "abort"` still traps.
pub(crate) fn guard<T>(len: usize, parse: impl FnOnce() -> T) -> Result<T, RunError> {
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
