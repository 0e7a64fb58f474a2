//! The relay binary's other commands: `token` (mint a JWT), `health` (probe a relay, for
//! container health checks), `export` and `import` (back up and restore runs).

pub mod backup;
pub mod health;
pub mod token;
