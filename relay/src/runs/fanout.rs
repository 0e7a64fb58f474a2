//! [`fan_out`]: what other relays sharing the store append (the store's [`Feed`]) goes
//! to the runs in memory here, which pass it on to their clients and mesh links. A run
//! not in memory reads everything when it is loaded; until a task here has read what
//! the store holds, its digest counts as not known. Such a run is offered to this
//! relay's mesh links too: the relay that appended may have no link to their regions
//! (the simulation found a change that never left its region that way). When the feed
//! lapsed and nothing can be trusted, every link reconciles again.
//!
//! The relay reads its digests from the store only once the feed listens
//! ([`until_listening`]): every append after that read is then heard.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::runs::command::DocCmd;
use crate::runs::registry::Documents;
use crate::store::{Feed, FeedItem};

/// Waits (at most `wait`) for `feed` to say it listens, and takes that word: nothing was
/// read from the store before it, so nothing was missed. `false` if it did not say so in
/// time; its word then comes later and makes every digest unknown, which is safe.
pub async fn until_listening(feed: &mut Feed, wait: Duration) -> bool {
    matches!(
        tokio::time::timeout(wait, feed.recv()).await,
        Ok(Some(FeedItem::Resumed))
    )
}

/// Forwards `feed` to the runs of `docs` until the feed ends or `shutdown`.
pub async fn fan_out(mut feed: Feed, docs: Documents, shutdown: CancellationToken) {
    loop {
        let item = tokio::select! {
            item = feed.recv() => item,
            () = shutdown.cancelled() => return,
        };
        match item {
            None => return,
            Some(FeedItem::Appended(appended)) => {
                docs.reconciler().changed_elsewhere(appended.doc);
                let cmd = DocCmd::StoredElsewhere {
                    events: vec![appended.event],
                };
                if !docs.send_if_loaded(appended.doc, cmd).await {
                    docs.offer_everywhere(appended.doc);
                }
            }
            Some(FeedItem::Resumed) => {
                docs.lapsed().await;
                for doc in docs.loaded() {
                    let cmd = DocCmd::StoredElsewhere { events: Vec::new() };
                    docs.send_if_loaded(doc, cmd).await;
                }
            }
        }
    }
}
