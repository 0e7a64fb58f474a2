//! [`Page`]: `?limit=&after=` of a listing, read strictly: a bad or unknown parameter is
//! a 400 that names it. Every listing that grows with the relay or with a run (the runs,
//! a run's history) pages the same way: `limit` items from after the cursor `after`, and
//! `next`, the `after` of the next page (`null` on the last).

use std::str::FromStr;

use runmesh_core::{ChangeHash, RunId};

use crate::http::error::AppError;

/// Items per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 100;
/// Most items one page may hold.
pub const MAX_LIMIT: usize = 1000;

/// What a listing's `after` names: the last item of the page before.
pub trait Cursor: FromStr + Copy {
    /// What a valid `after` looks like, for the error that refuses one.
    const WHAT: &'static str;
}

impl Cursor for RunId {
    const WHAT: &'static str = "a run id (a UUID)";
}

impl Cursor for ChangeHash {
    const WHAT: &'static str = "a change hash (64 hex digits)";
}

/// Which page of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page<C = RunId> {
    /// At most this many items.
    pub limit: usize,
    /// Only items after this one.
    pub after: Option<C>,
}

impl<C: Cursor> Page<C> {
    /// Reads the request's query string.
    pub fn parse(query: Option<&str>) -> Result<Self, AppError> {
        let mut page = Self {
            limit: DEFAULT_LIMIT,
            after: None,
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "limit" => {
                    page.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            AppError::BadRequest(format!(
                                "limit must be a whole number from 1 to {MAX_LIMIT}, not {value:?}"
                            ))
                        })?;
                }
                "after" => {
                    page.after = Some(value.parse().map_err(|_| {
                        AppError::BadRequest(format!("after must be {}, not {value:?}", C::WHAT))
                    })?);
                }
                other => {
                    return Err(AppError::BadRequest(format!(
                        "unknown query parameter {other:?}; this listing takes limit and after"
                    )));
                }
            }
        }
        Ok(page)
    }

    /// This page of `items` (in the listing's order) that starts after the item `is_after`
    /// picks, and whether more follow it; `None` if `after` was given and names no item.
    pub fn of_ordered<'a, T>(
        &self,
        items: &'a [T],
        is_after: impl Fn(&T, &C) -> bool,
    ) -> Option<(&'a [T], bool)> {
        let start = match &self.after {
            None => 0,
            Some(after) => items.iter().position(|item| is_after(item, after))? + 1,
        };
        Some(self.cut(&items[start..]))
    }

    fn cut<'a, T>(&self, rest: &'a [T]) -> (&'a [T], bool) {
        let end = rest.len().min(self.limit);
        (&rest[..end], rest.len() > end)
    }
}

impl Page<RunId> {
    /// This page of `sorted` (ascending), and whether more follow it. `after` need not be
    /// in the list (a run deleted since the page before).
    pub fn of<'a>(&self, sorted: &'a [RunId]) -> (&'a [RunId], bool) {
        let start = self
            .after
            .map_or(0, |after| sorted.partition_point(|r| *r <= after));
        self.cut(&sorted[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_each_other_without_gaps_or_repeats() {
        let mut runs: Vec<RunId> = (0..25).map(|_| RunId::random()).collect();
        runs.sort();
        let mut seen = Vec::new();
        let mut page = Page::<RunId>::parse(Some("limit=10")).unwrap();
        loop {
            let (items, more) = page.of(&runs);
            seen.extend_from_slice(items);
            if !more {
                break;
            }
            page.after = items.last().copied();
        }
        assert_eq!(seen, runs);
    }

    #[test]
    fn ordered_pages_start_after_the_item_named() {
        let items: Vec<ChangeHash> = (0..7u8).map(|i| ChangeHash([i; 32])).collect();
        let mut page = Page::<ChangeHash>::parse(Some("limit=3")).unwrap();
        let mut seen = Vec::new();
        loop {
            let (got, more) = page.of_ordered(&items, |a, b| a == b).unwrap();
            seen.extend_from_slice(got);
            if !more {
                break;
            }
            page.after = got.last().copied();
        }
        assert_eq!(seen, items);
        page.after = Some(ChangeHash([9; 32]));
        assert!(page.of_ordered(&items, |a, b| a == b).is_none());
    }

    #[test]
    fn bad_parameters_are_named() {
        for (query, names) in [
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=ten", "limit"),
            ("after=nope", "after must be a run id"),
            ("offset=3", "\"offset\""),
        ] {
            let e = Page::<RunId>::parse(Some(query)).unwrap_err().to_string();
            assert!(e.contains(names), "{query}: {e}");
        }
        let e = Page::<ChangeHash>::parse(Some("after=abc"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("after must be a change hash"), "{e}");
        assert_eq!(Page::<RunId>::parse(None).unwrap().limit, DEFAULT_LIMIT);
    }
}
