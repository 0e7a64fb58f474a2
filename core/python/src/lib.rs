//! The native half of the Python package `runmesh` (module `runmesh._core`): the core's
//! run document and its client machine, for CPython through PyO3.
//!
//! Values cross as strings, bytes, JSON text and plain dicts and lists, much as they do for
//! the npm package's wasm layer (`core/src/wasm/`); the package's own Python (`runmesh/`)
//! makes the documented API, events and the asyncio client of them. Nothing here performs
//! I/O.
//!
//! Modules:
//! - `run_doc`: [`RawRunDoc`], one replica of a run.
//! - `client`: [`RawClient`], the store-before-send client machine of one run.
//! - `error`: the exception every refusal raises, `runmesh.RunError`.

mod client;
mod error;
mod run_doc;

use pyo3::prelude::*;

pub use client::RawClient;
pub use run_doc::RawRunDoc;

/// The wait in seconds before dialling again after `failures` failed attempts in a
/// row, with `unit` a random number in [0, 1]: the core's backoff, the one the relay's
/// mesh dialers and the browser app use.
#[pyfunction]
fn backoff_delay(failures: u32, unit: f64, first: f64, cap: f64) -> PyResult<f64> {
    let seconds = |what: &str, s: f64| {
        std::time::Duration::try_from_secs_f64(s).map_err(|_| {
            error::refused(format!(
                "{what}: {s} is not a duration in seconds (0 or more)"
            ))
        })
    };
    let backoff = runmesh_core::Backoff::new(seconds("first", first)?, seconds("cap", cap)?);
    Ok(backoff.delay(failures, unit).as_secs_f64())
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RawRunDoc>()?;
    m.add_class::<RawClient>()?;
    m.add_function(wrap_pyfunction!(backoff_delay, m)?)?;
    m.add("RunError", m.py().get_type::<error::RunError>())?;
    m.add(
        "MAX_FRAME_BYTES",
        runmesh_core::sync::MAX_CLIENT_FRAME_BYTES,
    )?;
    m.add("MAX_PRESENCE_BYTES", runmesh_core::node::MAX_PRESENCE_BYTES)?;
    Ok(())
}
