//! `?durable=regions:<n>` on a change: the answer waits until the stores of `n` regions
//! hold the change (this relay's own counts), or until `durableTimeoutMs` (default
//! [`DEFAULT_TIMEOUT`], at most [`MAX_TIMEOUT`]) has passed, and says which regions hold
//! it: `durability: {regions, wanted, reached}`. The change is made and stored here either
//! way; `reached: false` says the regions asked for were not heard from in time.

use std::time::{Duration, Instant};

use runmesh_core::{ChangeHash, RunId};
use serde::Serialize;

use crate::http::error::AppError;
use crate::http::reads::read;
use crate::http::state::AppState;
use crate::runs::Read;

/// How long an answer waits by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest an answer may be asked to wait.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the regions are looked at again while waiting.
const POLL: Duration = Duration::from_millis(20);

/// What a change asked to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durable {
    /// Regions whose stores must hold the change.
    pub regions: usize,
    /// How long to wait for them.
    pub timeout: Duration,
}

/// What the answer says of the wait.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Durability {
    /// The regions whose stores hold the change, sorted.
    pub regions: Vec<String>,
    /// How many were asked for.
    pub wanted: usize,
    /// Whether that many held it in time.
    pub reached: bool,
}

/// `durable` and `durableTimeoutMs` from a query string; `None` when not asked.
pub fn parse(query: Option<&str>) -> Result<Option<Durable>, AppError> {
    let pairs = || {
        query
            .unwrap_or_default()
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
    };
    let Some((_, value)) = pairs().find(|(key, _)| *key == "durable") else {
        return Ok(None);
    };
    let regions = value
        .strip_prefix("regions:")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .ok_or_else(|| {
            AppError::BadRequest(format!("durable must be regions:<1 to 64>, not {value:?}"))
        })?;
    let timeout = match pairs().find(|(key, _)| *key == "durableTimeoutMs") {
        None => DEFAULT_TIMEOUT,
        Some((_, ms)) => ms
            .parse::<u64>()
            .ok()
            .map(Duration::from_millis)
            .filter(|t| *t <= MAX_TIMEOUT)
            .ok_or_else(|| {
                AppError::BadRequest(format!(
                    "durableTimeoutMs must be 0 to {} milliseconds, not {ms:?}",
                    MAX_TIMEOUT.as_millis()
                ))
            })?,
    };
    Ok(Some(Durable { regions, timeout }))
}

/// Waits until `durable.regions` regions hold `heads` of `run`, or the time is up.
pub async fn wait(
    app: &AppState,
    run: RunId,
    heads: Vec<ChangeHash>,
    durable: Durable,
) -> Durability {
    let deadline = Instant::now() + durable.timeout;
    loop {
        let wanted = Some(heads.clone());
        let regions = match read(&app.docs, run, |reply| Read::Durability(wanted, reply)).await {
            Ok(Ok(held)) => held.regions,
            _ => Vec::new(),
        };
        let reached = regions.len() >= durable.regions;
        if reached || Instant::now() >= deadline {
            return Durability {
                regions,
                wanted: durable.regions,
                reached,
            };
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_read_from_the_query() {
        assert_eq!(parse(None).unwrap(), None);
        assert_eq!(parse(Some("return=minimal")).unwrap(), None);
        let asked = parse(Some("durable=regions:2&durableTimeoutMs=1500")).unwrap();
        assert_eq!(
            asked,
            Some(Durable {
                regions: 2,
                timeout: Duration::from_millis(1500)
            })
        );
        assert_eq!(
            parse(Some("durable=regions:3")).unwrap().unwrap().timeout,
            DEFAULT_TIMEOUT
        );
    }

    #[test]
    fn a_bad_wait_is_an_error_naming_it() {
        for (query, named) in [
            ("durable=regions:0", "durable"),
            ("durable=all", "durable"),
            ("durable=regions:x", "durable"),
            (
                "durable=regions:2&durableTimeoutMs=99999999",
                "durableTimeoutMs",
            ),
            ("durable=regions:2&durableTimeoutMs=-1", "durableTimeoutMs"),
        ] {
            let err = parse(Some(query)).unwrap_err().to_string();
            assert!(err.contains(named), "{query}: {err}");
        }
    }
}
