//! Above the pipeline while a point of the past is shown: which point, that it is
//! read-only, what was added since, and the way back to now or to a fork from there.
//! Always in the page and hidden when not needed: one fixed view costs the app less code
//! than one made and dropped on demand.

use leptos::prelude::*;

use crate::app::actions::Actions;
use crate::app::context::ShownRun;
use crate::pipeline_html;

/// Names listed in "Added since" before "and N more".
const SHOWN: usize = 20;

#[component]
pub fn PastBanner(actions: Actions, run: ShownRun) -> impl IntoView {
    let label = move || run.past.with(|p| p.as_ref().map(|p| p.label.clone()));
    // The nodes the run has now that it did not have then, in words ("" if none).
    let added = move || {
        run.past.with(|past| {
            let Some(past) = past else {
                return String::new();
            };
            run.state.with(|now| {
                // A set, not a scan of the past for each node now: at 10,000 grafts that
                // was 50 million comparisons on each point of the past shown.
                // (The pipeline's own map type: a second hash set type costs the app code.)
                let then = pipeline_html::by_id(&past.state.pipeline);
                let mut names = now
                    .iter()
                    .flat_map(|now| &now.pipeline)
                    .filter(|n| !then.contains_key(n.id.as_str()))
                    .map(|n| n.name.as_str());
                // The first few by name, then how many more: thousands of names are not read.
                let first: Vec<&str> = names.by_ref().take(SHOWN).collect();
                let more = names.count();
                match (first.is_empty(), more) {
                    (true, _) => String::new(),
                    (false, 0) => format!("Added since: {}", first.join(", ")),
                    (false, more) => format!("Added since: {} and {more} more", first.join(", ")),
                }
            })
        })
    };
    view! {
        <section class="card past-banner" role="status" data-testid="past-banner"
            hidden=move || run.past.with(Option::is_none)>
            <p>
                <strong>"The run as it was"</strong>
                " after: " {label} ". Read-only."
            </p>
            <p class="muted" data-testid="added-since">{added}</p>
            <div class="row">
                <button type="button" data-testid="back-to-now"
                    on:click=move |_| actions.back_to_now()>"Back to now"</button>
                <button type="button" class="ghost" data-testid="fork-here"
                    on:click=move |_| {
                        let at = run.past.with_untracked(|p| p.as_ref().map(|p| p.hash.clone()));
                        actions.fork(at.as_deref());
                    }>"Fork from here"</button>
            </div>
        </section>
    }
}
