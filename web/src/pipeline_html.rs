//! The pipeline's rows and the graft form's options as HTML text (`html.rs`): a thousand
//! rows made element by element took most of the time of opening a large run.

use std::collections::HashMap;
use std::fmt::Write;

use runmesh_core::{NodeKind, PipelineNode};

use crate::html::{Row, escape_into};

/// The `<option>`s of the graft form's anchor, one per node.
pub fn options(nodes: &[PipelineNode]) -> Vec<Row> {
    nodes
        .iter()
        .map(|node| {
            let mut html = String::with_capacity(64);
            html.push_str("<option value=\"");
            escape_into(&mut html, node.id.as_str());
            html.push_str("\">");
            html.push_str(&"&nbsp;&nbsp;".repeat(node.depth));
            escape_into(&mut html, &node.name);
            html.push_str("</option>");
            (node.id.as_str().to_owned(), html)
        })
        .collect()
}

/// What happened since to a node shown from the past, given the run now.
fn since(node: &PipelineNode, now: &HashMap<&str, &PipelineNode>) -> &'static str {
    match now.get(node.id.as_str()) {
        None => "taken out since",
        Some(n) if n.pruned && !node.pruned => "pruned since",
        Some(n) if !n.pruned && node.pruned => "restored since",
        Some(_) => "",
    }
}

/// The rows of `nodes`; `now` is the run now when `nodes` are from the past (each row then
/// says what happened to it since).
pub fn rows(nodes: &[PipelineNode], now: Option<&[PipelineNode]>) -> Vec<Row> {
    let now: Option<HashMap<&str, &PipelineNode>> =
        now.map(|now| now.iter().map(|n| (n.id.as_str(), n)).collect());
    let mut rows = Vec::with_capacity(nodes.len());
    for node in nodes {
        let mut html = String::with_capacity(480);
        let kind = match node.kind {
            NodeKind::Step => "step",
            NodeKind::External => "external",
            NodeKind::Graft => "graft",
        };
        let pruned = if node.pruned { " pruned" } else { "" };
        let _ = write!(
            html,
            "<li class=\"node node-{kind}{pruned}\" style=\"--depth: {}\" data-testid=\"node\" data-id=\"",
            node.depth
        );
        escape_into(&mut html, node.id.as_str());
        let _ = write!(
            html,
            "\" data-kind=\"{kind}\"><span class=\"kind\">{kind}</span><span class=\"name\" data-testid=\"node-name\">"
        );
        escape_into(&mut html, &node.name);
        html.push_str("</span><span class=\"muted detail\">");
        match (&node.agent, node.kind) {
            (Some(agent), _) => {
                html.push_str("agent ");
                escape_into(&mut html, agent);
            }
            (None, NodeKind::Graft) => html.push_str("grafted agent"),
            (None, NodeKind::External) => html.push_str("step managed elsewhere"),
            (None, NodeKind::Step) => {}
        }
        html.push_str("</span><span class=\"since\" data-testid=\"since\">");
        if let Some(now) = &now {
            html.push_str(since(node, now));
        }
        html.push_str(
            "</span><span class=\"spacer\"></span><button type=\"button\" class=\"ghost edit\" data-action=\"after\" title=\"Graft an agent after this\" aria-label=\"Graft an agent after ",
        );
        escape_into(&mut html, &node.name);
        let (action, label) = if node.pruned {
            ("restore", "Restore")
        } else {
            ("prune", "Prune")
        };
        let _ = write!(
            html,
            "\">+ after</button><button type=\"button\" class=\"ghost edit\" data-testid=\"toggle-prune\" data-action=\"{action}\">{label}</button></li>"
        );
        rows.push((node.id.as_str().to_owned(), html));
    }
    rows
}
