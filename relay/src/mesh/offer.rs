//! [`offer_all`]: every run this relay stores or holds, offered to one mesh link — the
//! forced full resync of `register-peer`. (A new link offers only what reconciliation
//! finds to differ.)

use std::collections::BTreeSet;

use runmesh_core::DocumentId;

use crate::runs::{Documents, PeerLink};

/// Queues every stored or loaded run on the link's catch-up, which offers them a few at
/// a time; each offer starts that run's sync session afresh (only what differs travels).
pub async fn offer_all(docs: Documents, link: PeerLink) {
    let mut runs: BTreeSet<DocumentId> = match docs.stored().await {
        Ok(runs) => runs.into_iter().collect(),
        Err(e) => {
            tracing::error!(error = %e, "CRDT mesh: could not list stored runs to offer a peer");
            BTreeSet::new()
        }
    };
    runs.extend(docs.loaded());
    tracing::info!(peer = %link.peer(), runs = runs.len(), "CRDT mesh: offering every run to a peer");
    docs.offer(&link, runs, true);
}
