//! The history's rows as HTML text (`html.rs`), newest first: a change adds one row, and
//! looking at a point of the past marks one. Each row is keyed by its change's hash and
//! carries "View" and, where a change can be undone, "Undo" (`data-action`), which one
//! listener on the list serves.

use std::fmt::Write;

use runmesh_core::HistoryEntry;

use crate::html::{Row, escape_into};

/// The change in words; `agent` names a graft by its id, if the run has it.
pub fn describe(entry: &HistoryEntry, agent: impl Fn(&str) -> Option<String>) -> String {
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
pub fn undoable(entry: &HistoryEntry) -> bool {
    !matches!(entry.op.as_str(), "create" | "fork" | "merge" | "change")
}

/// The rows of `entries` (newest first): `agent` names a graft by its id, `when` writes
/// a time (seconds since the epoch), and the row of change `viewing` is marked.
pub fn rows(
    entries: &[HistoryEntry],
    agent: impl Fn(&str) -> Option<String>,
    when: impl Fn(i64) -> String,
    viewing: Option<&str>,
) -> Vec<Row> {
    entries
        .iter()
        .map(|entry| {
            let said = describe(entry, &agent);
            let mut html = String::with_capacity(400);
            let class = if viewing == Some(entry.hash.as_str()) {
                " class=\"viewing\""
            } else {
                ""
            };
            let _ = write!(html, "<li{class} data-id=\"");
            escape_into(&mut html, &entry.hash);
            html.push_str(
                "\"><button type=\"button\" class=\"ghost view-at\" data-testid=\"view-at\" data-action=\"view\" aria-label=\"View the run as it was after: ",
            );
            escape_into(&mut html, &said);
            html.push_str("\">View</button>");
            if undoable(entry) {
                html.push_str(
                    "<button type=\"button\" class=\"ghost undo\" data-testid=\"undo\" data-action=\"undo\" aria-label=\"Undo: ",
                );
                escape_into(&mut html, &said);
                html.push_str("\">Undo</button>");
            }
            html.push_str("<span class=\"who\">");
            escape_into(&mut html, &entry.by);
            html.push_str("</span><span class=\"muted\"> · ");
            escape_into(&mut html, &entry.region);
            html.push_str(" · ");
            escape_into(&mut html, &when(entry.at));
            html.push_str("</span><div>");
            escape_into(&mut html, &said);
            html.push_str("</div></li>");
            (entry.hash.clone(), html)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(hash: &str, op: &str, node: Option<&str>, detail: &str) -> HistoryEntry {
        HistoryEntry {
            hash: hash.to_owned(),
            by: "alice <a>".to_owned(),
            region: "eu".to_owned(),
            at: 60,
            op: op.to_owned(),
            node: node.map(str::to_owned),
            detail: detail.to_owned(),
            undoes: None,
        }
    }

    fn at(seconds: i64) -> String {
        format!("t{seconds}")
    }

    #[test]
    fn a_row_says_who_where_when_and_what_and_offers_undo_where_it_can() {
        let graft = entry("aa", "graft", Some("g1"), "Agent after plan");
        let created = entry("bb", "create", None, "Release (4 steps)");
        let rows = rows(&[graft, created], |_| None, at, None);
        assert_eq!(rows[0].0, "aa");
        assert_eq!(
            rows[0].1,
            "<li data-id=\"aa\"><button type=\"button\" class=\"ghost view-at\" data-testid=\"view-at\" data-action=\"view\" aria-label=\"View the run as it was after: grafted Agent after plan\">View</button><button type=\"button\" class=\"ghost undo\" data-testid=\"undo\" data-action=\"undo\" aria-label=\"Undo: grafted Agent after plan\">Undo</button><span class=\"who\">alice &lt;a&gt;</span><span class=\"muted\"> · eu · t60</span><div>grafted Agent after plan</div></li>"
        );
        assert!(
            !rows[1].1.contains("data-action=\"undo\""),
            "a creation is not undone"
        );
        assert!(rows[1].1.contains("created the run: Release (4 steps)"));
    }

    #[test]
    fn the_change_being_viewed_is_marked_and_grafts_are_named() {
        let retract = entry("cc", "retract", Some("g1"), "");
        let name = |id: &str| (id == "g1").then(|| "Agent<1>".to_owned());
        let rows = rows(&[retract], name, at, Some("cc"));
        assert!(
            rows[0]
                .1
                .starts_with("<li class=\"viewing\" data-id=\"cc\">")
        );
        assert!(
            rows[0]
                .1
                .contains("<div>retracted graft Agent&lt;1&gt;</div>")
        );
        let prune = entry("dd", "prune", Some("plan"), "");
        let unmarked = super::rows(&[prune], |_| None, at, Some("other"));
        assert!(unmarked[0].1.starts_with("<li data-id=\"dd\">"));
        assert!(unmarked[0].1.contains("<div>pruned plan</div>"));
    }
}
