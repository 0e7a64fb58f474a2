//! One run: its title and shareable link, Fork (and, on a fork, where it came from and
//! Merge back), the pipeline, flags, people and history.

use leptos::prelude::*;

use crate::app::actions::Actions;
use crate::app::context::ShownRun;
use crate::app::ui::{flags, history, past_banner, people, pipeline};
use crate::presence::Seen;
use crate::route::Route;
use runmesh_core::RunId;

#[component]
pub fn RunView(
    actions: Actions,
    run: ShownRun,
    user: RwSignal<String>,
    people: RwSignal<Vec<Seen>>,
) -> impl IntoView {
    let title = move || {
        run.with_shown(|s| s.map(|s| s.title.clone()))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "Untitled run".to_owned())
    };
    let link = move || window().location().href().unwrap_or_default();
    view! {
        <Show when=move || run.state.with(Option::is_some)
            fallback=|| view! { <section class="card"><p class="muted">"Opening the run…"</p></section> }>
            <div class="run-head">
                <h1 data-testid="run-title">{title}</h1>
                <input class="share" readonly title="Share this link" aria-label="Link to this run" prop:value=link
                    on:focus=move |ev| {
                        use wasm_bindgen::JsCast;
                        if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                            input.select();
                        }
                    } />
                <button type="button" class="ghost" data-testid="fork"
                    title="A new run with this one's history, to try changes on"
                    on:click=move |_| actions.fork(None)>"Fork"</button>
            </div>
            <ForkOrigin actions=actions fork_of=run.fork_of/>
            <past_banner::PastBanner actions=actions run=run/>
            // Showing the past: every `edit` control is hidden (style.css).
            <div class="columns" class:past=move || run.past.with(Option::is_some)>
                <div class="main-col">
                    <pipeline::Pipeline actions=actions run=run/>
                </div>
                <aside class="side-col">
                    <people::People user=user people=people/>
                    <flags::Flags actions=actions run=run/>
                    <history::History actions=actions run=run/>
                </aside>
            </div>
        </Show>
    }
}

/// On a fork: the run it came from, and Merge back (hidden on a run that is no fork).
#[component]
fn ForkOrigin(actions: Actions, fork_of: RwSignal<Option<RunId>>) -> impl IntoView {
    let parent = move || fork_of.get().map(|p| Route::Run(p).path());
    view! {
        <p class="fork-origin" data-testid="fork-origin" hidden=move || fork_of.with(Option::is_none)>
            "Forked from "
            <a href=parent data-testid="fork-parent" on:click=move |ev| {
                ev.prevent_default();
                if let Some(parent) = fork_of.get_untracked() {
                    actions.navigate(Route::Run(parent));
                }
            }>"the original run"</a>
            ". "
            <button type="button" data-testid="merge-back"
                title="Take this fork's changes into the original run"
                on:click=move |_| actions.merge_back()>"Merge back"</button>
        </p>
    }
}
