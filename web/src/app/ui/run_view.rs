//! One run: its title and shareable link, the pipeline, flags, people and history.

use leptos::prelude::*;

use crate::app::session::OpenRun;
use crate::app::ui::{ctx, flags, history, people, pipeline};

#[component]
pub fn RunView(open: OpenRun) -> impl IntoView {
    let ctx = ctx();
    let title = move || {
        ctx.state
            .with(|s| s.as_ref().map(|s| s.title.clone()))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "Untitled run".to_owned())
    };
    let link = move || window().location().href().unwrap_or_default();
    view! {
        <Show when=move || ctx.state.with(Option::is_some)
            fallback=|| view! { <section class="card"><p class="muted">"Opening the run…"</p></section> }>
            <div class="run-head">
                <h1 data-testid="run-title">{title}</h1>
                <input class="share" readonly title="Share this link" prop:value=link
                    on:focus=move |ev| {
                        use wasm_bindgen::JsCast;
                        if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                            input.select();
                        }
                    } />
            </div>
            <div class="columns">
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
