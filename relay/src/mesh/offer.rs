//! [`offer_all`]: every run this relay stores or holds, offered to one mesh link.

use std::collections::HashSet;

use runmesh_core::DocumentId;

use crate::docs::{DocCmd, Documents, PeerLink};

/// Offers every stored or loaded run to a mesh link (a full sync: only what it lacks
/// travels). `Offer` also starts that link's sync session for the run afresh, so this
/// forces a resync.
pub async fn offer_all(docs: Documents, link: PeerLink) {
    let mut runs: HashSet<DocumentId> = match docs.stored().await {
        Ok(runs) => runs.into_iter().collect(),
        Err(e) => {
            tracing::error!(error = %e, "CRDT mesh: could not list stored runs to offer a peer");
            HashSet::new()
        }
    };
    runs.extend(docs.loaded());
    tracing::info!(peer = %link.peer(), runs = runs.len(), "CRDT mesh: offering runs to a peer");
    for run in runs {
        if link.close.is_cancelled() {
            return;
        }
        docs.send(run, DocCmd::Offer { to: link.clone() }).await;
    }
}
