//! Points in a run's past as query parameters: `?at=`, `?from=`, `?to=`, each one or more
//! change hashes (64 hex digits) separated by commas. A bad value is a 400 that names the
//! parameter; an unknown one, a 422 from the run.

use runmesh_core::ChangeHash;

use crate::http::error::AppError;

/// The query's parameters, each at most once, from `allowed` only.
pub fn params<'q>(
    query: Option<&'q str>,
    allowed: &[&str],
) -> Result<Vec<(&'q str, &'q str)>, AppError> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !allowed.contains(&key) {
            return Err(AppError::BadRequest(format!(
                "unknown query parameter {key:?}; this takes {}",
                allowed.join(", ")
            )));
        }
        if seen.iter().any(|(k, _)| *k == key) {
            return Err(AppError::BadRequest(format!("{key} is given twice")));
        }
        seen.push((key, value));
    }
    Ok(seen)
}

/// `value` as heads, or a 400 naming `name`.
pub fn parse(name: &str, value: &str) -> Result<Vec<ChangeHash>, AppError> {
    // Commas may arrive percent-encoded.
    let value = value.replace("%2C", ",").replace("%2c", ",");
    let heads: Result<Vec<ChangeHash>, AppError> = value
        .split(',')
        .map(|h| {
            h.parse().map_err(|_| {
                AppError::BadRequest(format!(
                    "{name}: {h:?} is not a change hash (64 hex digits; several separated by commas)"
                ))
            })
        })
        .collect();
    let heads = heads?;
    if heads.is_empty() || value.is_empty() {
        return Err(AppError::BadRequest(format!(
            "{name}: no heads given (one or more change hashes, separated by commas)"
        )));
    }
    Ok(heads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_and_bad_values_are_named() {
        let hash = "ab".repeat(32);
        let two = format!("{hash}%2C{}", "cd".repeat(32));
        assert_eq!(parse("at", &hash).unwrap().len(), 1);
        assert_eq!(parse("at", &two).unwrap().len(), 2);
        for bad in ["", "xyz", &hash[..10]] {
            let e = parse("from", bad).unwrap_err().to_string();
            assert!(e.starts_with("from: "), "{bad:?}: {e}");
        }
        let e = params(Some("at=1&since=2"), &["at"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"since\""), "{e}");
        let e = params(Some("at=1&at=2"), &["at"]).unwrap_err().to_string();
        assert!(e.contains("twice"), "{e}");
    }
}
