//! The flags editor: each flag's value, every concurrent value when replicas disagree,
//! set and clear.

use leptos::prelude::*;
use runmesh_core::FlagValue;

use crate::app::actions::Actions;
use crate::app::context::ShownRun;

fn show(value: &FlagValue) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[component]
pub fn Flags(actions: Actions, run: ShownRun) -> impl IntoView {
    let flags = move || {
        run.with_shown(|s| {
            s.map(|s| {
                s.flags
                    .iter()
                    .map(|(k, v)| {
                        let others: Vec<String> = s
                            .flag_conflicts
                            .get(k)
                            .map(|all| all.iter().skip(1).map(show).collect())
                            .unwrap_or_default();
                        (k.clone(), show(v), others)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .unwrap_or_default()
    };
    let key = RwSignal::new(String::new());
    let value = RwSignal::new(String::new());
    let set = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (k, v) = (key.get_untracked(), value.get_untracked());
        // JSON scalars as themselves (`true`, `3`, `null`, `"x"`), anything else as text.
        let set = actions.edit(move |run, now| {
            let flag = FlagValue::from_typed(&k, &v)?;
            run.set_flag(&k, flag, now)
        });
        if set {
            key.set(String::new());
            value.set(String::new());
        }
    };
    view! {
        <section class="card">
            <h2>"Flags"</h2>
            <table class="flags" data-testid="flags">
                {move || flags().into_iter().map(|flag| {
                        let (k, v, others) = flag;
                        let clear_key = k.clone();
                        let conflict = !others.is_empty();
                        view! {
                            <tr class:conflict=conflict>
                                <td class="key">{k.clone()}</td>
                                <td>
                                    <code>{v}</code>
                                    <Show when=move || conflict>
                                        <div class="conflict-note" title="Set concurrently on other replicas; the first value wins everywhere">
                                            "also set to " {others.join(", ")}
                                        </div>
                                    </Show>
                                </td>
                                <td><button class="ghost edit" aria-label=format!("Clear {k}") on:click={
                                    let clear_key = clear_key.clone();
                                    move |_| {
                                        let k = clear_key.clone();
                                        actions.edit(move |run, now| run.clear_flag(&k, now).map(|_| ()));
                                    }
                                }>"Clear"</button></td>
                            </tr>
                        }
                    }).collect_view()}
            </table>
            <Show when=move || flags().is_empty()>
                <p class="muted">"No flags set."</p>
            </Show>
            <form class="row edit" on:submit=set>
                <input placeholder="flag" maxlength="128" required data-testid="flag-key" aria-label="Flag"
                    prop:value=move || key.get() on:input=move |ev| key.set(event_target_value(&ev)) />
                <input placeholder="value" data-testid="flag-value" aria-label="Value"
                    prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) />
                <button type="submit" data-testid="flag-set">"Set"</button>
            </form>
        </section>
    }
}
