//! Above the pipeline while a point of the past is shown: which point, that it is
//! read-only, what was added since, and the way back to now or to a fork from there.
//! Always in the page and hidden when not needed: one fixed view costs the app less code
//! than one made and dropped on demand.

use leptos::prelude::*;

use crate::app::past;
use crate::app::session::OpenRun;
use crate::app::ui::ctx;

#[component]
pub fn PastBanner(open: OpenRun) -> impl IntoView {
    let ctx = ctx();
    let label = move || ctx.past.with(|p| p.as_ref().map(|p| p.label.clone()));
    // The nodes the run has now that it did not have then, in words ("" if none).
    let added = move || {
        ctx.past.with(|past| {
            let Some(past) = past else {
                return String::new();
            };
            ctx.state.with(|now| {
                let then = |id: &str| past.state.pipeline.iter().any(|n| n.id.as_str() == id);
                let names: Vec<&str> = now
                    .iter()
                    .flat_map(|now| &now.pipeline)
                    .filter(|n| !then(n.id.as_str()))
                    .map(|n| n.name.as_str())
                    .collect();
                if names.is_empty() {
                    String::new()
                } else {
                    format!("Added since: {}", names.join(", "))
                }
            })
        })
    };
    view! {
        <section class="card past-banner" role="status" data-testid="past-banner"
            hidden=move || ctx.past.with(Option::is_none)>
            <p>
                <strong>"The run as it was"</strong>
                " after: " {label} ". Read-only."
            </p>
            <p class="muted" data-testid="added-since">{added}</p>
            <div class="row">
                <button type="button" data-testid="back-to-now"
                    on:click=move |_| past::back_to_now(ctx)>"Back to now"</button>
                <button type="button" class="ghost" data-testid="fork-here"
                    on:click=move |_| {
                        let at = ctx.past.with_untracked(|p| p.as_ref().map(|p| p.hash.clone()));
                        past::fork(open, ctx, at.as_deref());
                    }>"Fork from here"</button>
            </div>
        </section>
    }
}
