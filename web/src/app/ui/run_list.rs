//! The run list: create a run, open one by link or id, every run kept on this device,
//! and the relay's.

use leptos::prelude::*;
use runmesh_core::{RunId, StepSpec};

use crate::app::actions::Actions;
use crate::app::context::RunSummary;
use crate::app::ui::{open_run, relay_list};
use crate::route::Route;

/// Steps typed one per line or separated by commas.
fn parse_steps(text: &str) -> Result<Vec<StepSpec>, String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| StepSpec::new(s).map_err(|e| e.to_string()))
        .collect()
}

#[component]
pub fn RunList(actions: Actions, runs: RwSignal<Vec<RunSummary>>) -> impl IntoView {
    let title = RwSignal::new(String::new());
    let steps = RwSignal::new("plan, build, test, ship".to_owned());
    let link = RwSignal::new(String::new());
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match parse_steps(&steps.get_untracked()) {
            Ok(parsed) => actions.create(title.get_untracked().trim(), &parsed),
            Err(e) => actions.fail(e),
        }
    };
    let open = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = link.get_untracked();
        let id = text
            .trim()
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("");
        match id.parse::<RunId>() {
            Ok(run) => actions.navigate(Route::Run(run)),
            Err(e) => actions.fail(format!("{e}: paste a run link or its id")),
        }
    };
    view! {
        <section class="card">
            <h2>"New run"</h2>
            <form class="stack" on:submit=create>
                <label>"Title"
                    <input data-testid="new-title" placeholder="Release 42" maxlength="200"
                        prop:value=move || title.get()
                        on:input=move |ev| title.set(event_target_value(&ev)) />
                </label>
                <label>"Steps" <small>"(comma separated, in order)"</small>
                    <input data-testid="new-steps"
                        prop:value=move || steps.get()
                        on:input=move |ev| steps.set(event_target_value(&ev)) />
                </label>
                <div><button type="submit" data-testid="create-run">"Create run"</button></div>
            </form>
        </section>
        <section class="card">
            <h2>"Open a run"</h2>
            <form class="row" on:submit=open>
                <input data-testid="open-link" placeholder="https://…/runs/<id> or the run id"
                    aria-label="Run link or id"
                    prop:value=move || link.get()
                    on:input=move |ev| link.set(event_target_value(&ev)) />
                <button type="submit">"Open"</button>
            </form>
        </section>
        <section class="card">
            <h2>"On this device"</h2>
            <Show when=move || runs.with(|r| !r.is_empty())
                fallback=|| view! { <p class="muted">"No runs yet. Create one, or open a link someone shared."</p> }>
                <ul class="runs" data-testid="run-list">
                    {move || runs.get().into_iter().map(|run| {
                            let id = run.run_id.clone();
                            let href = format!("/runs/{id}");
                            let title = if run.title.is_empty() { "Untitled run".to_owned() } else { run.title.clone() };
                            view! {
                                <li>
                                    <a href=href on:click=open_run(actions, id)>{title}</a>
                                    <code class="muted">{run.run_id.clone()}</code>
                                </li>
                            }
                    }).collect_view()}
                </ul>
            </Show>
        </section>
        <relay_list::RelayRuns actions=actions runs=runs/>
    }
}

#[component]
pub fn NotFound(actions: Actions) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Nothing here"</h2>
            <p>"This address names no run. "
                <a href="/" on:click=move |ev| { ev.prevent_default(); actions.navigate(Route::Runs); }>"Back to the runs"</a>
            </p>
        </section>
    }
}
