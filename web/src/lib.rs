//! runmesh-web: the offline-first collaborative run editor that runs in the browser.
//!
//! Built by Trunk from `www/index.html` (`trunk build --release`) and served by the relay
//! at `/`. Every run opened is kept in IndexedDB and edited there first; the core's
//! [`ClientSync`](runmesh_core::sync::ClientSync) carries edits to the relay over a
//! WebSocket that reconnects with backoff; a service worker (`www/sw.js`) keeps the app
//! itself available offline.
//!
//! The browser-only part is `app/` (Leptos components, IndexedDB, the socket); the plain
//! logic beside it (routes, presence, the pipeline's and the history's rows as HTML) is
//! tested natively.

pub mod history_html;
pub mod html;
pub mod pipeline_html;
pub mod presence;
pub mod route;

#[cfg(target_arch = "wasm32")]
mod app;

/// Starts the app in the page (in the browser; natively there is nothing to start).
pub fn start() {
    #[cfg(target_arch = "wasm32")]
    app::start();
}
