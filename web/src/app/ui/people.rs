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
                {move || ctx.people.get().into_iter().map(|person| view! {
                    <li>{person.who.user} <span class="muted">" · " {person.who.region}</span></li>
                }).collect_view()}
            </ul>
        </section>
    }
}
