//! `runmesh.RunError`: what every refusal of the core raises in Python. It is a
//! `ValueError`, and its message is the core's, which names the bad value and the limit.

use pyo3::PyErr;
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;

create_exception!(
    runmesh,
    RunError,
    PyValueError,
    "A value the run document or the sync client refused; the message names it."
);

/// The refusal `why` as a Python exception.
pub(crate) fn refused(why: impl std::fmt::Display) -> PyErr {
    RunError::new_err(why.to_string())
}
