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
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

use crate::app::actions::Actions;
use crate::app::context::ShownRun;
use crate::pipeline_html;

#[component]
pub fn Pipeline(actions: Actions, run: ShownRun) -> impl IntoView {
    let nodes = move || {
        run.with_shown(|s| s.map(|s| s.pipeline.clone()))
            .unwrap_or_default()
    };
    let after = RwSignal::new(String::new());
    let agent = RwSignal::new(String::new());
    // Default the anchor to the first node once there is one.
    Effect::new(move |_| {
        let first = nodes().first().map(|n| n.id.to_string());
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
    let shown = StoredValue::new_local(Vec::<pipeline_html::Row>::new());
    Effect::new(move |_| {
        let rows = run.past.with(|past| {
            run.state.with(|now| {
                let now = now.as_ref().map_or(&[][..], |s| s.pipeline.as_slice());
                match past {
                    Some(past) => pipeline_html::rows(&past.state.pipeline, Some(now)),
                    None => pipeline_html::rows(now, None),
                }
            })
        });
        if let Some(list) = list.get() {
            shown.update_value(|shown| patch_keeping_focus(&list, shown, rows));
        }
    });
    let select = NodeRef::<leptos::html::Select>::new();
    let shown_options = StoredValue::new_local(Vec::<pipeline_html::Row>::new());
    Effect::new(move |_| {
        let options =
            run.with_shown(|s| pipeline_html::options(s.map_or(&[][..], |s| &s.pipeline)));
        let chosen = after.get();
        if let Some(select) = select.get() {
            shown_options.update_value(|shown| patch(&select, shown, options));
            select.set_value(&chosen);
        }
    });
    let act = move |ev: leptos::ev::MouseEvent| {
        let Some(button) = ev
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .and_then(|t| t.closest("button[data-action]").ok().flatten())
        else {
            return;
        };
        let action = button.get_attribute("data-action").unwrap_or_default();
        let Some(id) = button
            .closest("[data-id]")
            .ok()
            .flatten()
            .and_then(|row| row.get_attribute("data-id"))
        else {
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
            <Show when=move || nodes().is_empty()>
                <p class="muted">"No steps yet: this run gets its steps elsewhere, or has not synced. Grafts may name any step id."</p>
            </Show>
        </section>
    }
}

/// Replaces the rows of `list` that differ from `shown` with those of `rows` (one new row
/// for a graft, one replaced for a prune); a row button that had the focus has it again.
fn patch_keeping_focus(
    list: &HtmlElement,
    shown: &mut Vec<pipeline_html::Row>,
    rows: Vec<pipeline_html::Row>,
) {
    let focused = document()
        .active_element()
        .filter(|e| list.contains(Some(e)))
        .and_then(|e| {
            let action = e.get_attribute("data-action")?;
            let id = e.closest("[data-id]").ok()??.get_attribute("data-id")?;
            Some((id, action))
        });
    patch(list, shown, rows);
    let Some((id, action)) = focused else {
        return;
    };
    let rows = list.children();
    for i in 0..rows.length() {
        let Some(row) = rows.item(i) else { continue };
        if row.get_attribute("data-id").as_deref() != Some(&id) {
            continue;
        }
        // Prune becomes Restore on the same row, and the other way round.
        let toggle = matches!(action.as_str(), "prune" | "restore");
        let selector = if toggle {
            "[data-testid=toggle-prune]"
        } else {
            "[data-action=after]"
        };
        if let Ok(Some(button)) = row.query_selector(selector)
            && let Ok(button) = button.dyn_into::<HtmlElement>()
        {
            let _ = button.focus();
        }
        return;
    }
}

/// Replaces the children of `parent` that differ from `shown` with those of `rows`, in one
/// step, and remembers `rows` as shown.
fn patch(parent: &Element, shown: &mut Vec<pipeline_html::Row>, rows: Vec<pipeline_html::Row>) {
    let (start, gone, new) = pipeline_html::changed(shown, &rows);
    let children = parent.children();
    for _ in 0..gone {
        if let Some(row) = children.item(start as u32) {
            row.remove();
        }
    }
    let html: String = rows[start..start + new]
        .iter()
        .map(|(_, h)| h.as_str())
        .collect();
    if !html.is_empty() {
        let placed = match start.checked_sub(1).and_then(|i| children.item(i as u32)) {
            Some(before) => before.insert_adjacent_html("afterend", &html),
            None => parent.insert_adjacent_html("afterbegin", &html),
        };
        if placed.is_err() {
            parent.set_inner_html(&rows.iter().map(|(_, h)| h.as_str()).collect::<String>());
        }
    }
    *shown = rows;
}
