//! The pipeline: steps with grafts in place (indented by depth), the graft form, and
//! prune / restore on every node. While a point of the past is shown, the pipeline as it
//! was, each node marked with what happened to it since (the run view hides the `edit`
//! controls then).

use leptos::prelude::*;
use runmesh_core::{NodeKind, PipelineNode};

use crate::app::session::OpenRun;
use crate::app::ui::ctx;

#[component]
pub fn Pipeline(open: OpenRun) -> impl IntoView {
    let ctx = ctx();
    let nodes = move || {
        ctx.with_shown(|s| s.map(|s| s.pipeline.clone()))
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
        open.edit(ctx, move |run, now| {
            run.graft(&anchor, &name, now).map(|_| ())
        });
        if ctx.error.with_untracked(Option::is_none) {
            agent.set(String::new());
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
                <select data-testid="graft-after" aria-label="Graft after"
                    prop:value=move || after.get()
                    on:change=move |ev| after.set(event_target_value(&ev))>
                    {move || nodes().into_iter().map(|node| view! {
                        <option value=node.id.to_string()>{option_label(&node)}</option>
                    }).collect_view()}
                </select>
                <button type="submit" data-testid="graft-submit">"Graft"</button>
            </form>
            // Keyed by everything a row shows, so a new graft inserts its row between the
            // others. Rebuilt in place (unkeyed), the rows were rewritten shifted down and
            // the last one appended, and the browser test could read the list in between.
            <ol class="pipeline" data-testid="pipeline">
                <For each=nodes key=row_key let:node>
                    <Node node=node after=after open=open />
                </For>
            </ol>
            <Show when=move || nodes().is_empty()>
                <p class="muted">"No steps yet: this run gets its steps elsewhere, or has not synced. Grafts may name any step id."</p>
            </Show>
        </section>
    }
}

/// What a pipeline row shows: a row is rebuilt when any of it changes.
type RowKey = (String, NodeKind, String, Option<String>, usize, bool);

fn row_key(node: &PipelineNode) -> RowKey {
    (
        node.id.to_string(),
        node.kind,
        node.name.clone(),
        node.agent.clone(),
        node.depth,
        node.pruned,
    )
}

fn option_label(node: &PipelineNode) -> String {
    let indent = "\u{a0}\u{a0}".repeat(node.depth);
    format!("{indent}{}", node.name)
}

#[component]
fn Node(node: PipelineNode, after: RwSignal<String>, open: OpenRun) -> impl IntoView {
    let ctx = ctx();
    let id = node.id.to_string();
    let kind = match node.kind {
        NodeKind::Step => "step",
        NodeKind::External => "external",
        NodeKind::Graft => "graft",
    };
    let class = format!(
        "node node-{kind}{}",
        if node.pruned { " pruned" } else { "" }
    );
    let style = format!("margin-left: {}rem", node.depth as f32 * 1.5);
    let pruned = node.pruned;
    let toggle_id = id.clone();
    let toggle = move |_| {
        let id = toggle_id.clone();
        if pruned {
            open.edit(ctx, move |run, now| run.restore(&id, now).map(|_| ()));
        } else {
            open.edit(ctx, move |run, now| run.prune(&id, now).map(|_| ()));
        }
    };
    let anchor_id = id.clone();
    let detail = match (&node.agent, node.kind) {
        (Some(agent), _) => format!("agent {agent}"),
        (None, NodeKind::Graft) => "grafted agent".to_owned(),
        (None, NodeKind::External) => "step managed elsewhere".to_owned(),
        (None, NodeKind::Step) => String::new(),
    };
    let since_id = id.clone();
    let since = move || since(ctx, &since_id, pruned);
    let name = node.name.clone();
    view! {
        <li class=class style=style data-testid="node" data-id=id.clone() data-kind=kind>
            <span class="kind">{kind}</span>
            <span class="name" data-testid="node-name">{node.name.clone()}</span>
            <span class="muted detail">{detail}</span>
            <span class="since" data-testid="since">{move || since().unwrap_or_default()}</span>
            <span class="spacer"></span>
            <button class="ghost edit" title="Graft an agent after this"
                aria-label=format!("Graft an agent after {name}")
                on:click=move |_| after.set(anchor_id.clone())>"+ after"</button>
            <button class="ghost edit" data-testid="toggle-prune" on:click=toggle>
                {if pruned { "Restore" } else { "Prune" }}
            </button>
        </li>
    }
}

/// While the past is shown: what happened since to the node `id` (pruned then if
/// `pruned`), if anything.
fn since(ctx: crate::app::context::Ctx, id: &str, pruned: bool) -> Option<&'static str> {
    ctx.past.with(Option::is_some).then_some(())?;
    ctx.state.with(|now| {
        let node = now.as_ref()?.pipeline.iter().find(|n| n.id.as_str() == id);
        match node {
            None => Some("taken out since"),
            Some(n) if n.pruned && !pruned => Some("pruned since"),
            Some(n) if !n.pruned && pruned => Some("restored since"),
            Some(_) => None,
        }
    })
}
