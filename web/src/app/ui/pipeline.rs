//! The pipeline: steps with grafts in place (indented by depth), the graft form, and
//! prune / restore on every node. While a point of the past is shown, the pipeline as it
//! was, each node marked with what happened to it since (the run view hides the `edit`
//! controls then).
//!
//! The list holds only the rows on screen and near it (`pipeline_rows.rs`), written as
//! HTML (`pipeline_html.rs`); one listener on the list handles every row's buttons. The
//! graft form's anchor is picked with a row's own "+ after" button rather than from a
//! `<select>` of every node, which at 10,000 grafts was 10,000 options to write and patch.

use leptos::prelude::*;

use crate::app::actions::Actions;
use crate::app::context::ShownRun;
use crate::app::ui::pipeline_rows::{self, Shown};
use crate::app::ui::rows;

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
    // The anchor's name, as the form shows it.
    let anchor = move || {
        after.with(|id| {
            run.with_shown(|s| {
                let node = s?.pipeline.iter().find(|n| n.id.as_str() == id)?;
                Some(node.name.clone())
            })
        })
    };
    let list = NodeRef::<leptos::html::Ol>::new();
    let shown = StoredValue::new_local(Shown::new());
    let render = move |changed: bool| {
        let Some(list) = list.get_untracked() else {
            return;
        };
        run.past.with_untracked(|past| {
            run.state.with_untracked(|now| {
                let now = now.as_ref().map_or(&[][..], |s| s.pipeline.as_slice());
                shown.update_value(|shown| match past {
                    Some(past) => pipeline_rows::render(
                        &list,
                        shown,
                        &past.state.pipeline,
                        Some(now),
                        changed,
                    ),
                    None => pipeline_rows::render(&list, shown, now, None, changed),
                });
            })
        });
    };
    Effect::new(move |_| {
        run.past.track();
        run.state.track();
        list.track();
        render(true);
    });
    let _resized = window_event_listener(leptos::ev::resize, move |_| render(false));
    let input = NodeRef::<leptos::html::Input>::new();
    let graft = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (anchor, name) = (after.get_untracked(), agent.get_untracked());
        let mut made = None;
        let grafted = actions.edit(|run, now| {
            made = Some(run.graft(&anchor, &name, now)?.to_string());
            Ok(())
        });
        if grafted {
            // Shown where it landed, wherever the list was scrolled to.
            shown.update_value(|shown| shown.reveal = made);
            agent.set(String::new());
        }
    };
    let act = move |ev: leptos::ev::MouseEvent| {
        let Some((action, id)) = rows::clicked(&ev) else {
            return;
        };
        match action.as_str() {
            "after" => {
                after.set(id);
                if let Some(input) = input.get_untracked() {
                    let _ = input.focus();
                }
            }
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
                    aria-label="Agent name" aria-describedby="graft-after" node_ref=input
                    prop:value=move || agent.get()
                    on:input=move |ev| agent.set(event_target_value(&ev)) />
                <span id="graft-after" data-testid="graft-after" data-id=move || after.get()
                    title="Pick another node with its row's “+ after”">
                    "after " <strong>{anchor}</strong>
                </span>
                <button type="submit" data-testid="graft-submit">"Graft"</button>
            </form>
            <ol class="pipeline" data-testid="pipeline" role="list" node_ref=list on:click=act
                on:scroll=move |_| render(false)></ol>
            <Show when=move || first().is_none()>
                <p class="muted">"No steps yet: this run gets its steps elsewhere, or has not synced. Grafts may name any step id."</p>
            </Show>
        </section>
    }
}
