//! [`Page`]: `?limit=&after=` of a listing, read strictly: a bad or unknown parameter is
//! a 400 that names it.

use runmesh_core::RunId;

use crate::http::error::AppError;

/// Items per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 100;
/// Most items one page may hold.
pub const MAX_LIMIT: usize = 1000;

/// Which page of a listing ordered by run id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// At most this many items.
    pub limit: usize,
    /// Only items after this run id.
    pub after: Option<RunId>,
}

impl Page {
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
                        AppError::BadRequest(format!(
                            "after must be a run id (a UUID), not {value:?}"
                        ))
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

    /// This page of `sorted` (ascending), and whether more follow it.
    pub fn of<'a>(&self, sorted: &'a [RunId]) -> (&'a [RunId], bool) {
        let start = self
            .after
            .map_or(0, |after| sorted.partition_point(|r| *r <= after));
        let rest = &sorted[start..];
        let end = rest.len().min(self.limit);
        (&rest[..end], rest.len() > end)
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
        let mut page = Page::parse(Some("limit=10")).unwrap();
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
    fn bad_parameters_are_named() {
        for (query, names) in [
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=ten", "limit"),
            ("after=nope", "after"),
            ("offset=3", "\"offset\""),
        ] {
            let e = Page::parse(Some(query)).unwrap_err().to_string();
            assert!(e.contains(names), "{query}: {e}");
        }
        assert_eq!(Page::parse(None).unwrap().limit, DEFAULT_LIMIT);
    }
}
