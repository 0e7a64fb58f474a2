//! The pipeline's rows as HTML text (`html.rs`), and which rows of a long pipeline are in
//! the page. At 10,000 grafts, writing every row's HTML on each change and keeping every
//! row in the DOM made a local graft take 654 ms to appear; only the rows in and near the
//! list's viewport are written and shown ([`Window`]), each saying its place in the whole
//! list (`aria-posinset` / `aria-setsize`), so a screen reader still hears "row 5,001 of
//! 10,001".

use std::collections::HashMap;
use std::fmt::Write;

use runmesh_core::{NodeKind, PipelineNode};

use crate::html::{Row, escape_into};

/// Rows written beyond each edge of the viewport, so a scroll or a Tab to the next row
/// finds it in the page already.
pub const OVERSCAN: usize = 8;

/// Which rows of a list of `total` rows of `row_px` pixels are in the page when its
/// viewport shows `height` pixels from `scroll_top`, and the pixels of the rows left out.
#[derive(Debug, PartialEq)]
pub struct Window {
    /// The rows in the page, in list order: those in view plus [`OVERSCAN`] each side, and
    /// the row holding the keyboard focus wherever it is (so the focus stays on it while
    /// the list scrolls).
    pub rows: Vec<usize>,
    /// For each of `rows`, the rows left out just before it (as a gap of that many rows).
    pub gaps: Vec<usize>,
    /// Rows left out after the last one.
    pub after: usize,
}

impl Window {
    pub fn new(
        total: usize,
        row_px: f64,
        scroll_top: f64,
        height: f64,
        pin: Option<usize>,
    ) -> Self {
        let row_px = row_px.max(1.0);
        let first = ((scroll_top.max(0.0) / row_px) as usize).saturating_sub(OVERSCAN);
        let last = (((scroll_top.max(0.0) + height.max(0.0)) / row_px).ceil() as usize + OVERSCAN)
            .min(total);
        let first = first.min(last);
        let mut rows: Vec<usize> = (first..last).collect();
        if let Some(pin) = pin.filter(|&p| p < total && !(first..last).contains(&p)) {
            let at = rows.partition_point(|&r| r < pin);
            rows.insert(at, pin);
        }
        let mut gaps = Vec::with_capacity(rows.len());
        let mut next = 0;
        for &row in &rows {
            gaps.push(row - next);
            next = row + 1;
        }
        Window {
            rows,
            gaps,
            after: total - next,
        }
    }
}

/// A pipeline's nodes by id: to say what happened since to nodes from the past, and to
/// look nodes up without scanning the pipeline for each.
pub fn by_id(now: &[PipelineNode]) -> HashMap<&str, &PipelineNode> {
    now.iter().map(|n| (n.id.as_str(), n)).collect()
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

/// The row of `node`, the `index`th of `total`; `now` is the run now when `node` is from
/// the past (the row then says what happened to it since).
pub fn row(
    node: &PipelineNode,
    index: usize,
    total: usize,
    now: Option<&HashMap<&str, &PipelineNode>>,
) -> Row {
    let mut html = String::with_capacity(480);
    let kind = match node.kind {
        NodeKind::Step => "step",
        NodeKind::External => "external",
        NodeKind::Graft => "graft",
    };
    let pruned = if node.pruned { " pruned" } else { "" };
    let _ = write!(
        html,
        "<li class=\"node node-{kind}{pruned}\" style=\"--depth: {}\" aria-posinset=\"{}\" aria-setsize=\"{total}\" data-testid=\"node\" data-id=\"",
        node.depth,
        index + 1
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
    if let Some(now) = now {
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
    (node.id.as_str().to_owned(), html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_rows_in_view_and_near_it_are_in_the_page() {
        // 10,000 rows of 40 px, a 400 px viewport scrolled to row 100.
        let w = Window::new(10_000, 40.0, 4_000.0, 400.0, None);
        assert_eq!(w.rows, (100 - OVERSCAN..110 + OVERSCAN).collect::<Vec<_>>());
        assert_eq!(w.gaps[0], 100 - OVERSCAN);
        assert!(w.gaps[1..].iter().all(|&g| g == 0));
        assert_eq!(w.after, 10_000 - 110 - OVERSCAN);
        // A short list is all in the page.
        let w = Window::new(4, 40.0, 0.0, 400.0, None);
        assert_eq!((w.rows, w.after), (vec![0, 1, 2, 3], 0));
    }

    #[test]
    fn the_focused_row_stays_in_the_page_wherever_it_is() {
        let w = Window::new(10_000, 40.0, 4_000.0, 400.0, Some(3));
        assert_eq!((w.rows[0], w.gaps[0]), (3, 3));
        assert_eq!(w.gaps[1], 100 - OVERSCAN - 4);
        let w = Window::new(10_000, 40.0, 0.0, 400.0, Some(9_999));
        assert_eq!(*w.rows.last().unwrap(), 9_999);
        assert_eq!(w.after, 0);
        let rows = w.rows.len();
        assert_eq!(w.gaps[rows - 1], 9_999 - (10 + OVERSCAN));
        // Scrolled past the end (the list shrank): nothing out of range.
        let w = Window::new(5, 40.0, 4_000.0, 400.0, Some(7));
        assert!(w.rows.iter().all(|&r| r < 5));
    }
}
