//! Lists written as HTML text and set in one go: each row is its key and its HTML, and
//! when a list changes only the rows that differ are replaced (`changed`). Every text
//! from a run is escaped.

/// `text` as HTML text or a quoted attribute value.
pub fn escape_into(html: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
}

/// One row: its key (a node id, a change hash) and its HTML.
pub type Row = (String, String);

/// Which rows of `old` to replace to get `new`: the first index that differs, how many old
/// rows from there go, and how many new rows come in their place (rows equal at both ends
/// stay). A graft or a prune replaces one row or adds one.
pub fn changed(old: &[Row], new: &[Row]) -> (usize, usize, usize) {
    let start = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let room = old.len().min(new.len()) - start;
    let end = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    (start, old.len() - start - end, new.len() - start - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, html: &str) -> Row {
        (id.to_owned(), html.to_owned())
    }

    #[test]
    fn only_the_rows_that_differ_are_replaced() {
        let old = [row("a", "1"), row("b", "2"), row("c", "3")];
        assert_eq!(changed(&old, &old), (3, 0, 0));
        let inserted = [row("a", "1"), row("x", "9"), row("b", "2"), row("c", "3")];
        assert_eq!(changed(&old, &inserted), (1, 0, 1));
        let pruned = [row("a", "1"), row("b", "2*"), row("c", "3")];
        assert_eq!(changed(&old, &pruned), (1, 1, 1));
        let appended = [row("a", "1"), row("b", "2"), row("c", "3"), row("d", "4")];
        assert_eq!(changed(&old, &appended), (3, 0, 1));
        assert_eq!(changed(&[], &old), (0, 0, 3));
        assert_eq!(changed(&old, &[]), (0, 3, 0));
        // A repeated row: the ends may not overlap.
        let same = [row("a", "1"), row("a", "1")];
        assert_eq!(changed(&same[..1], &same), (1, 0, 1));
    }

    #[test]
    fn text_from_the_run_is_escaped() {
        let mut html = String::new();
        escape_into(&mut html, r#"<img src=x onerror="a&b">'"#);
        assert_eq!(html, "&lt;img src=x onerror=&quot;a&amp;b&quot;&gt;&#39;");
    }
}
