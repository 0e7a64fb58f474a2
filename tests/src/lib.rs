//! Integration tests across the runmesh crates live in `tests/` and benchmarks in
//! `benches/`; what they share with the relay's own tests is `runmesh-testkit`. This
//! library is empty: a package needs a library or binary target.
