//! Lists written as HTML text (`html.rs`) put in the page: only the rows that differ are
//! replaced, in one step, so a reader never sees a list half rebuilt, and a row's button
//! that had the focus has it again.

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

use crate::html::{self, Row};

/// [`patch`], then gives the focus back to the button it was on if that button's row was
/// replaced: the row's button that `same` (given the old button's `data-action`) selects.
pub fn patch_keeping_focus(
    list: &HtmlElement,
    shown: &mut Vec<Row>,
    rows: Vec<Row>,
    same: impl Fn(&str) -> String,
) {
    let focused = leptos::prelude::document()
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
        if let Ok(Some(button)) = row.query_selector(&same(&action))
            && let Ok(button) = button.dyn_into::<HtmlElement>()
        {
            // Without scrolling: the focused row may be out of view, kept in the page
            // while the list scrolls elsewhere (`pipeline_rows.rs`).
            let options = web_sys::FocusOptions::new();
            options.set_prevent_scroll(true);
            let _ = button.focus_with_options(&options);
        }
        return;
    }
}

/// Replaces the children of `parent` that differ from `shown` with those of `rows`, in one
/// step, and remembers `rows` as shown.
pub fn patch(parent: &Element, shown: &mut Vec<Row>, rows: Vec<Row>) {
    let (start, gone, new) = html::changed(shown, &rows);
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

/// The action of the button that was clicked in a list of rows, and its row's key.
pub fn clicked(ev: &leptos::ev::MouseEvent) -> Option<(String, String)> {
    let button = ev
        .target()?
        .dyn_into::<Element>()
        .ok()?
        .closest("button[data-action]")
        .ok()??;
    let action = button.get_attribute("data-action")?;
    let id = button
        .closest("[data-id]")
        .ok()??
        .get_attribute("data-id")?;
    Some((action, id))
}
