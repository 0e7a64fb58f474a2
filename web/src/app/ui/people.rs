//! Who else has this run open (presence through ephemeral messages).

use leptos::prelude::*;

use crate::presence::Seen;

#[component]
pub fn People(user: RwSignal<String>, people: RwSignal<Vec<Seen>>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Here now"</h2>
            <ul class="people" data-testid="people">
                <li class="me">{move || user.get()} <span class="muted">" (you)"</span></li>
                {move || people.get().into_iter().map(|person| view! {
                    <li>{person.who.user} <span class="muted">" · " {person.who.region}</span></li>
                }).collect_view()}
            </ul>
        </section>
    }
}
