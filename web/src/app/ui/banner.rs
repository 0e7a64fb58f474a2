//! The last error, in words, until the next action succeeds.

use leptos::prelude::*;

use crate::app::ui::ctx;

#[component]
pub fn Banner() -> impl IntoView {
    let ctx = ctx();
    view! {
        <Show when=move || ctx.error.get().is_some()>
            <div class="banner" role="alert" data-testid="error">
                <span>{move || ctx.error.get().unwrap_or_default()}</span>
                <button class="ghost" on:click=move |_| ctx.error.set(None)>"Dismiss"</button>
            </div>
        </Show>
    }
}
