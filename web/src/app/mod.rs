//! The browser app. From the top down: the screens (`ui/`), the open run's past
//! (`past.rs`: time travel, fork, merge back), its session (`session.rs`), the socket
//! (`connection.rs`) and the shared signals (`context.rs`), then IndexedDB (`store.rs`),
//! the relay's run list (`relay_runs.rs`) and who this browser is (`identity.rs`).

mod actions;
mod connection;
mod context;
mod driver;
mod identity;
mod past;
mod relay_runs;
mod session;
mod store;
mod ui;

use leptos::prelude::*;

use crate::app::actions::Actions;
use crate::app::context::Ctx;
use crate::app::session::OpenRun;
use crate::route::Route;

/// Mounts the app.
pub fn start() {
    console_error_panic_hook::set_once();
    mount_to_body(App);
    // The end-to-end tests time first render from here.
    if let Some(root) = document().document_element() {
        let now = window().performance().map(|p| p.now()).unwrap_or(0.0);
        // Whole milliseconds: writing a float would cost the app its float formatting.
        let _ = root.set_attribute("data-rendered-at", &(now as u64).to_string());
    }
}

#[component]
fn App() -> impl IntoView {
    // Keep a `?token=` from the link before any navigation drops it.
    let _ = identity::token();
    let ctx = Ctx::new();
    // Each screen gets the signals it reads and the actions; none gets `ctx` itself.
    let actions = Actions::new(ctx, OpenRun::follow_route(ctx));
    ctx.follow_history();
    ctx.reload_runs();
    let (run, runs) = (ctx.shown_run(), ctx.runs);
    view! {
        <ui::header::Header actions=actions net=ctx.net
            pending=ctx.pending user=ctx.user/>
        <main>
            <ui::banner::Banner error=ctx.error/>
            {move || match ctx.route.get() {
                Route::Runs => view! { <ui::run_list::RunList actions=actions runs=runs/> }.into_any(),
                Route::Run(_) => view! {
                    <ui::run_view::RunView actions=actions run=run
                        user=ctx.user people=ctx.people/>
                }.into_any(),
                Route::NotFound => view! { <ui::run_list::NotFound actions=actions/> }.into_any(),
            }}
        </main>
    }
}
