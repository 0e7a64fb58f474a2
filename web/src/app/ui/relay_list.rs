//! The runs the relay holds that this user may read, a page at a time, beside those on
//! this device, by title (the relay's; this device's copy's if the relay has none).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::actions::Actions;
use crate::app::context::RunSummary;
use crate::app::relay_runs;
use crate::app::ui::open_run;

#[component]
pub fn RelayRuns(actions: Actions, runs: RwSignal<Vec<RunSummary>>) -> impl IntoView {
    // One signal for the whole listing: each signal type costs the app code of its own.
    // `total` is `u64::MAX` until the first page arrives; the text is why there is none.
    let listing = RwSignal::new((
        relay_runs::Page {
            total: u64::MAX,
            ..Default::default()
        },
        String::new(),
    ));
    let load = move |after: Option<String>| {
        spawn_local(async move {
            let page = relay_runs::page(after.as_deref()).await;
            listing.update(|(shown, problem)| match page {
                Ok(page) => {
                    shown.runs.extend(page.runs);
                    shown.total = page.total;
                    shown.next = page.next;
                    problem.clear();
                }
                Err(e) => *problem = format!("{e}: only the runs on this device are listed."),
            });
        });
    };
    load(None);
    let counted = move || {
        listing.with(|(page, _)| {
            let n = page.total;
            let s = if n == 1 { "" } else { "s" };
            if n == u64::MAX {
                String::new()
            } else {
                format!("{n} run{s} you may open, {} listed", page.runs.len())
            }
        })
    };
    view! {
        <section class="card">
            <h2>"On the relay"</h2>
            <p class="muted" data-testid="relay-total">{counted}</p>
            <p class="muted" data-testid="relay-problem">{move || listing.with(|(_, problem)| problem.clone())}</p>
            <ul class="runs" data-testid="relay-runs">
                {move || listing.with(|(page, _)| page.runs.clone()).into_iter().map(|(id, title)| {
                    let href = format!("/runs/{id}");
                    let here = || runs.with(|here| {
                        here.iter()
                            .find(|r| r.run_id == id)
                            .map(|r| r.title.clone())
                            .filter(|t| !t.is_empty())
                    });
                    let label = Some(title)
                        .filter(|t| !t.is_empty())
                        .or_else(here)
                        .unwrap_or_else(|| id.clone());
                    view! {
                        <li>
                            <a href=href on:click=open_run(actions, id)>{label}</a>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <button type="button" class="ghost" data-testid="relay-more"
                hidden=move || listing.with(|(page, _)| page.next.is_none())
                on:click=move |_| load(listing.with_untracked(|(page, _)| page.next.clone()))>"More"</button>
        </section>
    }
}
