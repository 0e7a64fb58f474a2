//! The pipeline: steps with grafts in place (indented by depth), the graft form, and
//! prune / restore on every node. While a point of the past is shown, the pipeline as it
//! was, each node marked with what happened to it since (the run view hides the `edit`
//! controls then).
//!
//! The rows are written as HTML (`pipeline_html.rs`); when the run changes only the rows
//! that differ are replaced, in one step, so a reader never sees the list half rebuilt.
//! One listener on the list handles every row's buttons, and a focused button keeps its
//! focus when its row is replaced.

use leptos::prelude::*;

use crate::app::actions::Actions;
use crate::app::context::ShownRun;
use crate::app::ui::rows;
use crate::html::Row;
use crate::pipeline_html;

#[component]
pub fn Pipeline(actions: Actions, run: ShownRun) -> impl IntoView {
    // The first node's id, if there is one (the pipeline itself is not copied).
    let first =
        move || run.with_shown(|s| s.and_then(|s| s.pipeline.first()).map(|n| n.id.to_string()));
    let after = RwSignal::new(String::new());
    let agent = RwSignal::new(String::new());
    // Default the anchor to the first node once there is one.
    Effect::new(move |_| {
        let first = first();
        if after.with_untracked(String::is_empty)
            && let Some(first) = first
        {
            after.set(first);
        }
    });
    let graft = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (anchor, name) = (after.get_untracked(), agent.get_untracked());
        let grafted = actions.edit(move |run, now| run.graft(&anchor, &name, now).map(|_| ()));
        if grafted {
            agent.set(String::new());
        }
    };
    let list = NodeRef::<leptos::html::Ol>::new();
    let shown = StoredValue::new_local(Vec::<Row>::new());
    Effect::new(move |_| {
        let fresh = run.past.with(|past| {
            run.state.with(|now| {
                let now = now.as_ref().map_or(&[][..], |s| s.pipeline.as_slice());
                match past {
                    Some(past) => pipeline_html::rows(&past.state.pipeline, Some(now)),
                    None => pipeline_html::rows(now, None),
                }
            })
        });
        if let Some(list) = list.get() {
            shown.update_value(|shown| rows::patch_keeping_focus(&list, shown, fresh, same_button));
        }
    });
    let select = NodeRef::<leptos::html::Select>::new();
    let shown_options = StoredValue::new_local(Vec::<Row>::new());
    Effect::new(move |_| {
        let options =
            run.with_shown(|s| pipeline_html::options(s.map_or(&[][..], |s| &s.pipeline)));
        let chosen = after.get();
        if let Some(select) = select.get() {
            shown_options.update_value(|shown| rows::patch(&select, shown, options));
            select.set_value(&chosen);
        }
    });
    let act = move |ev: leptos::ev::MouseEvent| {
        let Some((action, id)) = rows::clicked(&ev) else {
            return;
        };
        match action.as_str() {
            "after" => after.set(id),
            "prune" => {
                actions.edit(move |run, now| run.prune(&id, now).map(|_| ()));
            }
            "restore" => {
                actions.edit(move |run, now| run.restore(&id, now).map(|_| ()));
            }
            _ => {}
        }
    };
    view! {
        <section class="card">
            <h2>"Pipeline"</h2>
            <form class="row graft edit" on:submit=graft>
                <span>"Graft"</span>
                <input data-testid="agent-name" placeholder="Agent name" maxlength="200" required
                    aria-label="Agent name"
                    prop:value=move || agent.get()
                    on:input=move |ev| agent.set(event_target_value(&ev)) />
                <span>"after"</span>
                <select data-testid="graft-after" aria-label="Graft after" node_ref=select
                    on:change=move |ev| after.set(event_target_value(&ev))>
                </select>
                <button type="submit" data-testid="graft-submit">"Graft"</button>
            </form>
            <ol class="pipeline" data-testid="pipeline" node_ref=list on:click=act></ol>
            <Show when=move || first().is_none()>
                <p class="muted">"No steps yet: this run gets its steps elsewhere, or has not synced. Grafts may name any step id."</p>
            </Show>
        </section>
    }
}

/// The button a row's focused button becomes when the row is replaced: Prune becomes
/// Restore on the same row, and the other way round.
fn same_button(action: &str) -> String {
    if matches!(action, "prune" | "restore") {
        "[data-testid=toggle-prune]".to_owned()
    } else {
        format!("[data-action={action}]")
    }
}
