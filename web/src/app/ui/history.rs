//! The run's history, newest first: who, from which region, when, what.

use leptos::prelude::*;
use runmesh_core::HistoryEntry;

use crate::app::ui::ctx;

fn when(seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(seconds as f64 * 1000.0));
    String::from(date.to_locale_time_string("default"))
}

/// The change in words.
fn describe(entry: &HistoryEntry) -> String {
    let node = entry.node.as_deref().unwrap_or("?");
    let undo = if entry.undoes.is_some() {
        " (undo)"
    } else {
        ""
    };
    match entry.op.as_str() {
        "create" => format!("created the run: {}", entry.detail),
        "graft" => format!("grafted {}", entry.detail),
        "prune" => format!("pruned {node}{undo}"),
        "restore" => format!("restored {node}{undo}"),
        "setFlag" => format!("set {node} to {}{undo}", entry.detail),
        "clearFlag" => format!("cleared {node}{undo}"),
        "retract" => format!("retracted graft {node}{undo}"),
        "reinstate" => format!("put graft {node} back{undo}"),
        "fork" => "forked this run".to_owned(),
        "merge" => format!("merged: {}", entry.detail),
        _ => entry.detail.clone(),
    }
}

#[component]
pub fn History() -> impl IntoView {
    let ctx = ctx();
    view! {
        <section class="card">
            <h2>"History"</h2>
            // Keyed by change hash (a change never changes): a new change adds one row
            // instead of rewriting every row below it.
            <ol class="history" data-testid="history">
                <For each=move || ctx.history.get() key=|entry| entry.hash.clone() let:entry>
                    <li>
                        <span class="who">{entry.by.clone()}</span>
                        <span class="muted">" · " {entry.region.clone()} " · " {when(entry.at)}</span>
                        <div>{describe(&entry)}</div>
                    </li>
                </For>
            </ol>
        </section>
    }
}
