//! Test support: a real relay on 127.0.0.1:0 and a real WebSocket client that syncs a
//! run through it with core's sync engine, for the relay's tests and the workspace's
//! `tests/` crate.

mod http;
mod sync_client;
mod test_relay;

use std::time::{Duration, Instant};

use runmesh_core::RunState;

pub use crate::fixtures::run_id;
pub use http::{get, post};
pub use sync_client::SyncClient;
pub use test_relay::TestRelay;

/// Names of the pipeline's nodes.
pub fn names(state: &RunState) -> Vec<String> {
    state.pipeline.iter().map(|n| n.name.clone()).collect()
}

/// Polls `check` until it returns `Some`, at most 10 s; no fixed sleeps beyond a short poll.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
