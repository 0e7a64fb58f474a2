//! The relay's [`Feed`] from PostgreSQL: one connection that `LISTEN`s on
//! `runmesh_events`, where every append notifies `<run> <event id> <origin>` as it
//! commits. Notifications from this relay's own appends are skipped. When the connection
//! drops it is made again (with backoff) and [`FeedItem::Resumed`] tells the relay to
//! read what it missed meanwhile; so does the first connection, since runs loaded before
//! it was listening may have missed appends.
//!
//! Catching up reads each run in memory whole rather than "the events after the last id
//! seen": ids are handed out before commit, so an event with a smaller id can commit after
//! one with a larger id, and reading after the larger would skip it for good. While
//! listening nothing can be skipped that way: each notification names its own event.
//!
//! `LISTEN` needs a session of its own: behind PgBouncer in transaction mode, point
//! `DATABASE_LISTEN_URL` at PostgreSQL itself (or a session-mode pool).

use std::time::Duration;

use futures_util::StreamExt;
use runmesh_core::{Backoff, RunId};
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;
use uuid::Uuid;

use crate::store::pg::connect::Target;
use crate::store::{Appended, Feed, FeedItem};

/// The channel every append notifies.
pub(crate) const CHANNEL: &str = "runmesh_events";

/// Starts listening on `target`; notifications from `origin` (this relay) are skipped.
/// Stops once the returned feed is dropped.
pub(crate) fn start(target: Target, origin: String) -> Feed {
    let (tx, rx) = mpsc::channel(4096);
    tokio::spawn(listen_forever(target, origin, tx));
    rx
}

async fn listen_forever(target: Target, origin: String, tx: mpsc::Sender<FeedItem>) {
    let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    let mut failures = 0;
    loop {
        let mut listened = false;
        let outcome = tokio::select! {
            outcome = listen(&target, &origin, &tx, &mut listened) => outcome,
            () = tx.closed() => return,
        };
        if listened {
            failures = 0;
        }
        match outcome {
            Ok(()) => return, // the relay dropped the feed
            Err(why) => {
                failures = (failures + 1).min(1_000);
                tracing::warn!(error = %why, "the database notification feed dropped; reconnecting");
            }
        }
        let wait = backoff.delay(failures, jitter());
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = tx.closed() => return,
        }
    }
}

/// One listening connection, until it fails (`Err`) or the feed is dropped (`Ok`).
async fn listen(
    target: &Target,
    origin: &str,
    tx: &mpsc::Sender<FeedItem>,
    listened: &mut bool,
) -> Result<(), String> {
    let (client, mut connection) = target
        .config
        .connect(target.tls.clone())
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if notes_tx.send(n.payload().to_owned()).is_err() {
                        return Ok(());
                    }
                }
                Ok(_) => {}
                Err(e) => return Err(format!("the connection failed: {e}")),
            }
        }
        Err("the server closed the connection".to_owned())
    });
    let listening = client.batch_execute(&format!("LISTEN {CHANNEL}")).await;
    if let Err(e) = listening {
        driver.abort();
        return Err(format!("LISTEN {CHANNEL}: {e}"));
    }
    *listened = true;
    if tx.send(FeedItem::Resumed).await.is_err() {
        driver.abort();
        return Ok(());
    }
    while let Some(payload) = notes.recv().await {
        let Some(appended) = parse(&payload, origin) else {
            continue;
        };
        if tx.send(FeedItem::Appended(appended)).await.is_err() {
            driver.abort();
            return Ok(());
        }
    }
    drop(client);
    match driver.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(why)) => Err(why),
        Err(e) => Err(format!("the connection task failed: {e}")),
    }
}

/// `<run uuid> <event id> <origin>`, unless it came from `origin` or does not parse.
fn parse(payload: &str, origin: &str) -> Option<Appended> {
    let mut parts = payload.split(' ');
    let run: Uuid = parts.next()?.parse().ok()?;
    let event: i64 = parts.next()?.parse().ok()?;
    let from = parts.next()?;
    if from == origin {
        return None;
    }
    Some(Appended {
        doc: RunId::from_bytes(*run.as_bytes()).document_id(),
        event,
    })
}

fn jitter() -> f64 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_from_this_relay_or_unreadable_ones_are_skipped() {
        let run = RunId::random();
        let uuid = Uuid::from_bytes(*run.as_bytes());
        assert_eq!(
            parse(&format!("{uuid} 42 other"), "me"),
            Some(Appended {
                doc: run.document_id(),
                event: 42
            })
        );
        assert_eq!(parse(&format!("{uuid} 42 me"), "me"), None);
        assert_eq!(parse("garbage", "me"), None);
        assert_eq!(parse(&format!("{uuid} x other"), "me"), None);
    }
}
