//! The run's history, newest first: who, from which region, when, what; "View" to see
//! the run as it was after a change, and "Undo" on each change that can be undone (it
//! works offline, like every edit).

use leptos::prelude::*;
use runmesh_core::HistoryEntry;

use crate::app::actions::Actions;
use crate::app::context::ShownRun;

/// History entries shown at first, and added by each "Show older".
const PAGE: usize = 50;

fn when(seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(seconds as f64 * 1000.0));
    String::from(date.to_locale_time_string("default"))
}

/// The change in words; `agent` names a graft by its id, if the run has it.
fn describe(entry: &HistoryEntry, agent: impl Fn(&str) -> Option<String>) -> String {
    let node = entry.node.as_deref().unwrap_or("?");
    let graft = || agent(node).unwrap_or_else(|| node.to_owned());
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
        "retract" => format!("retracted graft {}{undo}", graft()),
        "reinstate" => format!("put graft {} back{undo}", graft()),
        "fork" => "forked this run".to_owned(),
        "merge" => format!("merged: {}", entry.detail),
        _ => entry.detail.clone(),
    }
}

/// Whether "Undo" is offered for the change.
fn undoable(entry: &HistoryEntry) -> bool {
    !matches!(entry.op.as_str(), "create" | "fork" | "merge" | "change")
}

#[component]
pub fn History(actions: Actions, run: ShownRun) -> impl IntoView {
    // A row is made once per change (keyed), so the lookup is not tracked.
    let agent = move |id: &str| {
        run.state.with_untracked(|s| {
            let s = s.as_ref()?;
            let graft = s.grafts.iter().find(|g| g.id.as_str() == id)?;
            Some(graft.agent_name.clone())
        })
    };
    // The newest entries only, more on request: a long run's whole history is most of
    // the work of showing it.
    let shown = RwSignal::new(PAGE);
    let newest = move || {
        let shown = shown.get();
        run.history
            .with(|h| h.iter().take(shown).cloned().collect::<Vec<_>>())
    };
    let older = move || run.history.with(Vec::len).saturating_sub(shown.get());
    view! {
        <section class="card">
            <h2>"History"</h2>
            // Keyed by change hash (a change never changes): a new change adds one row
            // instead of rewriting every row below it.
            <ol class="history" data-testid="history">
                <For each=newest key=|entry| entry.hash.clone() let:entry>
                    <li class:viewing={
                        let hash = entry.hash.clone();
                        move || run.past.with(|p| p.as_ref().is_some_and(|p| p.hash == hash))
                    }>
                        <button type="button" class="ghost view-at" data-testid="view-at"
                            aria-label=format!("View the run as it was after: {}", describe(&entry, agent))
                            on:click={
                                let (hash, said) = (entry.hash.clone(), describe(&entry, agent));
                                move |_| actions.view_past(&hash, said.clone())
                            }>"View"</button>
                        {undoable(&entry).then(|| {
                            let hash = entry.hash.clone();
                            let label = format!("Undo: {}", describe(&entry, agent));
                            view! {
                                <button type="button" class="ghost undo" data-testid="undo" aria-label=label
                                    on:click=move |_| {
                                        let Ok(change) = hash.parse() else { return };
                                        actions.edit(move |run, now| run.undo(&change, now).map(|_| ()));
                                    }>"Undo"</button>
                            }
                        })}
                        <span class="who">{entry.by.clone()}</span>
                        <span class="muted">" · " {entry.region.clone()} " · " {when(entry.at)}</span>
                        <div>{describe(&entry, agent)}</div>
                    </li>
                </For>
            </ol>
            <button type="button" class="ghost" data-testid="history-older"
                hidden=move || older() == 0
                on:click=move |_| shown.update(|n| *n += PAGE)>
                {move || format!("Show older ({})", older())}
            </button>
        </section>
    }
}
