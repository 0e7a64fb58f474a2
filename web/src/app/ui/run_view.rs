//! One run: its title and shareable link, Fork (and, on a fork, where it came from and
//! Merge back), the pipeline, flags, people and history.

use leptos::prelude::*;

use crate::app::past;
use crate::app::session::OpenRun;
use crate::app::ui::{ctx, flags, history, past_banner, people, pipeline};
use crate::route::Route;

#[component]
pub fn RunView(open: OpenRun) -> impl IntoView {
    let ctx = ctx();
    let title = move || {
        ctx.with_shown(|s| s.map(|s| s.title.clone()))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "Untitled run".to_owned())
    };
    let link = move || window().location().href().unwrap_or_default();
    view! {
        <Show when=move || ctx.state.with(Option::is_some)
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
                    on:click=move |_| past::fork(open, ctx, None)>"Fork"</button>
            </div>
            <ForkOrigin open=open/>
            <past_banner::PastBanner open=open/>
            // Showing the past: every `edit` control is hidden (style.css).
            <div class="columns" class:past=move || ctx.past.with(Option::is_some)>
                <div class="main-col">
                    <pipeline::Pipeline open=open/>
                </div>
                <aside class="side-col">
                    <people::People/>
                    <flags::Flags open=open/>
                    <history::History open=open/>
                </aside>
            </div>
        </Show>
    }
}

/// On a fork: the run it came from, and Merge back (hidden on a run that is no fork).
#[component]
fn ForkOrigin(open: OpenRun) -> impl IntoView {
    let ctx = ctx();
    let parent = move || ctx.fork_of.get().map(|p| Route::Run(p).path());
    view! {
        <p class="fork-origin" data-testid="fork-origin" hidden=move || ctx.fork_of.with(Option::is_none)>
            "Forked from "
            <a href=parent data-testid="fork-parent" on:click=move |ev| {
                ev.prevent_default();
                if let Some(parent) = ctx.fork_of.get_untracked() {
                    ctx.navigate(Route::Run(parent));
                }
            }>"the original run"</a>
            ". "
            <button type="button" data-testid="merge-back"
                title="Take this fork's changes into the original run"
                on:click=move |_| past::merge_back(open, ctx)>"Merge back"</button>
        </p>
    }
}
