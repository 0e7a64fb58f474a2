//! The header: the app's name, the connection state with the count of changes the relay
//! has not acknowledged, and who you are.

use leptos::prelude::*;

use crate::app::actions::Actions;
use crate::app::context::Net;
use crate::route::Route;

#[component]
pub fn Header(
    actions: Actions,
    net: RwSignal<Net>,
    pending: RwSignal<usize>,
    user: RwSignal<String>,
) -> impl IntoView {
    let status = move || net.get();
    view! {
        <header class="top">
            <a class="brand" href="/" on:click=move |ev| {
                ev.prevent_default();
                actions.navigate(Route::Runs);
            }>"runmesh"</a>
            <div class="spacer"></div>
            <span class=move || format!("status status-{}", status().label())
                data-testid="net-status" title="Connection to the relay">
                <span class="dot"></span>{move || status().label()}
            </span>
            <Show when=move || { pending.get() > 0 && status() != Net::Idle }>
                <span class="pending" data-testid="pending" title="Changes the relay has not acknowledged yet">
                    {move || {
                        let n = pending.get();
                        format!("{n} unsent change{}", if n == 1 { "" } else { "s" })
                    }}
                </span>
            </Show>
            <label class="me">
                "You"
                <input
                    data-testid="user-name"
                    maxlength="64"
                    prop:value=move || user.get()
                    on:change=move |ev| {
                        let name = event_target_value(&ev).trim().to_owned();
                        if name.is_empty() {
                            return;
                        }
                        actions.rename(&name);
                    }
                />
            </label>
        </header>
    }
}
