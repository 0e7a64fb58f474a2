//! Who else has this run open (presence through ephemeral messages).

use leptos::prelude::*;

use crate::app::ui::ctx;

#[component]
pub fn People() -> impl IntoView {
    let ctx = ctx();
    view! {
        <section class="card">
            <h2>"Here now"</h2>
            <ul class="people" data-testid="people">
                <li class="me">{move || ctx.user.get()} <span class="muted">" (you)"</span></li>
                <For each=move || ctx.people.get() key=|p| (p.peer.clone(), p.who.clone()) let:person>
                    <li>{person.who.user.clone()} <span class="muted">" · " {person.who.region.clone()}</span></li>
                </For>
            </ul>
        </section>
    }
}
