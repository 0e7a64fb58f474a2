//! The run's history, newest first: who, from which region, when, what; "View" to see
//! the run as it was after a change, and "Undo" on each change that can be undone (it
//! works offline, like every edit). The rows are HTML text (`history_html.rs`), patched
//! like the pipeline's: a new change adds one row.

use leptos::prelude::*;
use runmesh_core::HistoryEntry;

use crate::app::actions::Actions;
use crate::app::context::ShownRun;
use crate::app::ui::rows;
use crate::history_html::{self, describe};
use crate::html::Row;
use crate::pipeline_html;

/// History entries shown at first, and added by each "Show older".
const PAGE: usize = 50;

thread_local! {
    /// One time formatter for every row, in the browser's locale: `toLocaleTimeString`
    /// builds one per call, which took 22 ms of opening a run in Chromium (a page of rows).
    static TIME: js_sys::Function = {
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"medium".into());
        js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &options).format()
    };
}

fn when(seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(seconds as f64 * 1000.0));
    TIME.with(|format| format.call1(&wasm_bindgen::JsValue::NULL, &date))
        .ok()
        .and_then(|time| time.as_string())
        .unwrap_or_default()
}

#[component]
pub fn History(actions: Actions, run: ShownRun) -> impl IntoView {
    // A graft's name, by its id, in the run now. From the newest graft back: the rows
    // shown first are the newest changes (a scan from the oldest was 50 rows × 100,000
    // grafts on every change of a big run).
    let agent = move |id: &str| {
        run.state.with_untracked(|s| {
            let s = s.as_ref()?;
            let graft = s.grafts.iter().rev().find(|g| g.id.as_str() == id)?;
            Some(graft.agent_name.clone())
        })
    };
    // The newest entries only, more on request: a long run's whole history is most of
    // the work of showing it. `wanted` is the fewest rows to show; every row shown stays
    // while new changes arrive on top, so a change adds one row and replaces none.
    let wanted = RwSignal::new(PAGE);
    let showing = RwSignal::new(0usize);
    let older = move || run.history.with(Vec::len).saturating_sub(showing.get());
    let list = NodeRef::<leptos::html::Ol>::new();
    let on_screen = StoredValue::new_local(Vec::<Row>::new());
    Effect::new(move |_| {
        let viewing = run.past.with(|p| p.as_ref().map(|p| p.hash.clone()));
        let wanted = wanted.get();
        let oldest = on_screen.with_value(|rows| rows.last().map(|(hash, _)| hash.clone()));
        let fresh = run.history.with(|h| {
            let kept = oldest
                .and_then(|oldest| h.iter().position(|e| e.hash == oldest))
                .map_or(0, |i| i + 1);
            let newest = &h[..wanted.max(kept).min(h.len())];
            run.state.with_untracked(|s| {
                // Past a page, grafts are named through the pipeline by id (a graft's node
                // is named after its agent): a scan of every graft for each row was 5,000
                // rows × 10,000 grafts once a big run's older rows were shown, on every
                // change and every point of the past viewed. A graft taken out of the
                // pipeline is still found by the scan.
                let by_id = match s {
                    Some(s) if newest.len() > PAGE => pipeline_html::by_id(&s.pipeline),
                    _ => Default::default(),
                };
                let name = |id: &str| match by_id.get(id) {
                    Some(node) => Some(node.name.clone()),
                    None => agent(id),
                };
                history_html::rows(newest, name, when, viewing.as_deref())
            })
        });
        showing.set(fresh.len());
        if let Some(list) = list.get() {
            on_screen.update_value(|on_screen| {
                rows::patch_keeping_focus(&list, on_screen, fresh, |action| {
                    format!("[data-action={action}]")
                });
            });
        }
    });
    let entry = move |hash: &str| -> Option<HistoryEntry> {
        run.history
            .with_untracked(|h| h.iter().find(|e| e.hash == hash).cloned())
    };
    let act = move |ev: leptos::ev::MouseEvent| {
        let Some((action, hash)) = rows::clicked(&ev) else {
            return;
        };
        match action.as_str() {
            "view" => {
                if let Some(entry) = entry(&hash) {
                    actions.view_past(&hash, describe(&entry, agent));
                }
            }
            "undo" => {
                if let Ok(change) = hash.parse() {
                    actions.edit(move |run, now| run.undo(&change, now).map(|_| ()));
                }
            }
            _ => {}
        }
    };
    view! {
        <section class="card">
            <h2>"History"</h2>
            <ol class="history" data-testid="history" node_ref=list on:click=act></ol>
            <button type="button" class="ghost" data-testid="history-older"
                hidden=move || older() == 0
                on:click=move |_| wanted.set(showing.get_untracked() + PAGE)>
                {move || format!("Show older ({})", older())}
            </button>
        </section>
    }
}
