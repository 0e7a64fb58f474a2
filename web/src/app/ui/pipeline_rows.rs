//! The pipeline's list in the page: only the rows in and near its viewport
//! (`pipeline_html::Window`), the rows left out kept as gaps of the same height, so the
//! scroll bar and the scroll position mean what they would with every row there.
//!
//! When the run changes, the viewport stays on the row it showed at its top (rows grafted
//! above it do not push it away), a list scrolled to its end stays at its end (new grafts
//! land there), and a graft made here is scrolled into view. The row holding the keyboard
//! focus stays in the page while the list scrolls, and keeps the focus when it is replaced.

use std::fmt::Write;

use runmesh_core::PipelineNode;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

use crate::app::ui::rows;
use crate::html::Row;
use crate::pipeline_html::{self, Window};

/// A row's height before one has been measured: one line of a row in `www/style.css`.
const ROW_PX: f64 = 46.0;

/// What the list keeps between renders.
pub struct Shown {
    /// The rows in the page, as written.
    rows: Vec<Row>,
    /// A row's height and the margin under it, measured once rows are in the page.
    row_px: Option<f64>,
    /// The row at the top of the viewport, and how far down it the viewport starts.
    top: Option<(String, f64)>,
    /// A node to scroll into view at the next render (a graft just made here).
    pub reveal: Option<String>,
}

impl Shown {
    pub fn new() -> Self {
        Shown {
            rows: Vec::new(),
            row_px: None,
            top: None,
            reveal: None,
        }
    }
}

fn index_of(nodes: &[PipelineNode], id: &str) -> Option<usize> {
    nodes.iter().position(|n| n.id.as_str() == id)
}

/// Puts the rows of `nodes` that the viewport of `list` needs in it. `changed`: the run
/// (or the point of its past shown) changed since the last render, rather than the list
/// having scrolled; `now` is the run now when `nodes` are from the past.
pub fn render(
    list: &HtmlElement,
    shown: &mut Shown,
    nodes: &[PipelineNode],
    now: Option<&[PipelineNode]>,
    changed: bool,
) {
    let row_px = shown.row_px.unwrap_or(ROW_PX);
    let total = nodes.len();
    let scroll_top = f64::from(list.scroll_top());
    let height = match list.client_height() {
        0 => leptos::prelude::window()
            .inner_height()
            .ok()
            .and_then(|h| h.as_f64())
            .unwrap_or(800.0),
        h => f64::from(h),
    };
    let at_end = scroll_top > 0.0 && scroll_top + height >= f64::from(list.scroll_height()) - 2.0;
    // A graft made here is revealed once the run shown has it (not by a scroll before).
    let reveal = shown.reveal.as_deref().filter(|_| changed);
    let target = if let Some(i) = reveal.and_then(|id| index_of(nodes, id)) {
        shown.reveal = None;
        (i as f64 * row_px - height / 2.0).max(0.0)
    } else if changed && at_end {
        total as f64 * row_px
    } else if changed && scroll_top > 0.0 {
        let top = shown.top.as_ref();
        top.and_then(|(id, within)| Some(index_of(nodes, id)? as f64 * row_px + within))
            .unwrap_or(scroll_top)
    } else {
        scroll_top
    };
    let window = Window::new(total, row_px, target, height, focused_row(list, nodes));
    let now = now.map(pipeline_html::by_id);
    let fresh = window
        .rows
        .iter()
        .map(|&i| pipeline_html::row(&nodes[i], i, total, now.as_ref()))
        .collect();
    rows::patch_keeping_focus(list, &mut shown.rows, fresh, same_button);
    // (Whole pixels: formatting floats would cost the app its float formatting code.)
    // The rows left out, as margins above the rows after them and below the last (the
    // list is a flex column, so margins add up rather than collapse, and the last row's
    // counts in its scroll height; padding would count in the list's own height instead).
    let children = list.children();
    let last = window.rows.len().saturating_sub(1);
    for (k, (&i, &gap)) in window.rows.iter().zip(&window.gaps).enumerate() {
        if let Some(row) = children.item(k as u32) {
            let mut style = format!("--depth: {}", nodes[i].depth);
            if gap > 0 {
                let _ = write!(style, "; margin-top: {}px", (gap as f64 * row_px) as u64);
            }
            if k == last && window.after > 0 {
                let px = (window.after as f64 * row_px) as u64;
                let _ = write!(style, "; margin-bottom: calc({px}px + 0.4rem)");
            }
            if row.get_attribute("style").as_deref() != Some(style.as_str()) {
                let _ = row.set_attribute("style", &style);
            }
        }
    }
    if (f64::from(list.scroll_top()) - target).abs() >= 1.0 {
        list.set_scroll_top(target as i32);
    }
    let top = (f64::from(list.scroll_top()) / row_px) as usize;
    shown.top = nodes.get(top).map(|n| {
        (
            n.id.as_str().to_owned(),
            f64::from(list.scroll_top()) - top as f64 * row_px,
        )
    });
    if shown.row_px.is_none() {
        shown.row_px = measured(list, &window.rows);
    }
}

/// A row's height with its margin: the distance between two neighbouring rows' tops.
fn measured(list: &HtmlElement, rows: &[usize]) -> Option<f64> {
    let k = rows.windows(2).position(|w| w[1] == w[0] + 1)?;
    let children = list.children();
    let top = |k: usize| {
        let row = children.item(k as u32)?.dyn_into::<HtmlElement>().ok()?;
        Some(f64::from(row.offset_top()))
    };
    let px = top(k + 1)? - top(k)?;
    (px > 0.0).then_some(px)
}

/// The index of the row whose button has the keyboard focus, if one has.
fn focused_row(list: &HtmlElement, nodes: &[PipelineNode]) -> Option<usize> {
    let focused = leptos::prelude::document().active_element()?;
    if !list.contains(Some(&focused)) {
        return None;
    }
    let id = focused
        .closest("[data-id]")
        .ok()??
        .get_attribute("data-id")?;
    index_of(nodes, &id)
}

/// The button a row's focused button becomes when the row is replaced: Prune becomes
/// Restore on the same row, and the other way round.
fn same_button(action: &str) -> String {
    if matches!(action, "prune" | "restore") {
        "[data-testid=toggle-prune]".to_owned()
    } else {
        format!("[data-action={action}]")
    }
}
