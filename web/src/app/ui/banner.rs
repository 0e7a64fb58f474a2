//! The last error, in words, until the next action succeeds.

use leptos::prelude::*;

#[component]
pub fn Banner(error: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || error.with(Option::is_some)>
            <div class="banner" role="alert" data-testid="error">
                <span>{move || error.get().unwrap_or_default()}</span>
                <button class="ghost" on:click=move |_| error.set(None)>"Dismiss"</button>
            </div>
        </Show>
    }
}
