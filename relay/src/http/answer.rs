//! What a change to a run answers: by default what it did — the ids it made or touched
//! and the run's new heads, a few hundred bytes whatever the run's size — and the whole
//! run (`state`, as `GET …/state` shows it) only when the client asks, with
//! `Prefer: return=representation` (RFC 7240) or `?return=representation`. A 10,000-graft
//! run's state is 2.5 MB of JSON and 3.3 ms to build: an orchestrator grafting an agent per
//! step paid both on every call for an answer it did not read.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use runmesh_core::RunId;

use crate::http::durable::Durable;
use crate::http::error::AppError;
use crate::http::reads::{StateBody, read};
use crate::http::state::AppState;
use crate::runs::Read;

/// The response header that says which preference was honoured (RFC 7240 §3).
pub const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");

/// How much a change answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Return {
    /// What the change did (the default).
    Minimal,
    /// What it did and the whole run afterwards.
    Representation,
}

/// The client's choice of [`Return`], and whether it came from a `Prefer` header (then the
/// answer says `Preference-Applied`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    /// What to answer.
    pub want: Return,
    /// Chosen by a `Prefer: return=…` header.
    pub preferred: bool,
    /// `?durable=regions:<n>`: answer once that many regions hold the change.
    pub durable: Option<Durable>,
}

impl<S: Send + Sync> FromRequestParts<S> for Wanted {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let durable = crate::http::durable::parse(parts.uri.query())?;
        // The query flag is the route's own parameter: a bad value is the client's error.
        // A bad `Prefer` is not: RFC 7240 has a preference the server does not understand
        // ignored.
        if let Some(value) = query_flag(parts.uri.query()) {
            let want = Return::named(value).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "return must be representation or minimal, not {value:?}"
                ))
            })?;
            return Ok(Self {
                want,
                preferred: false,
                durable,
            });
        }
        let headers = parts.headers.get_all(HeaderName::from_static("prefer"));
        let prefer = headers.iter().filter_map(|v| v.to_str().ok());
        Ok(match preferred_return(prefer) {
            Some(want) => Self {
                want,
                preferred: true,
                durable,
            },
            None => Self {
                want: Return::Minimal,
                preferred: false,
                durable,
            },
        })
    }
}

impl Return {
    fn named(value: &str) -> Option<Self> {
        if value.eq_ignore_ascii_case("representation") {
            Some(Self::Representation)
        } else if value.eq_ignore_ascii_case("minimal") {
            Some(Self::Minimal)
        } else {
            None
        }
    }

    fn token(self) -> &'static str {
        match self {
            Self::Minimal => "return=minimal",
            Self::Representation => "return=representation",
        }
    }
}

/// The value of `?return=`, if given.
fn query_flag(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == "return")
        .map(|(_, value)| value)
}

/// The `return` preference of `Prefer` header values (RFC 7240 §2): a comma-separated list
/// of `name[=value][; parameters]` over every `Prefer` header, names compared without
/// case, values maybe quoted. Only the first `return` counts (§2: a preference given twice
/// is read once); one with a value other than `minimal` or `representation` is ignored.
fn preferred_return<'a>(values: impl Iterator<Item = &'a str>) -> Option<Return> {
    let mut preferences = values.flat_map(split_outside_quotes);
    let first = preferences.find_map(|preference| {
        let head = preference.split(';').next().unwrap_or_default();
        let (name, value) = head.split_once('=').unwrap_or((head, ""));
        name.trim()
            .eq_ignore_ascii_case("return")
            .then(|| value.trim().trim_matches('"'))
    })?;
    Return::named(first)
}

/// `text` split at the commas that are not inside a quoted string.
fn split_outside_quotes(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Answers a change to `run` with `body` (what it did), and with the run as it is now under
/// `state` when the client asked for it (if the run cannot be read, the answer is what the
/// change did, without `Preference-Applied`: the change itself is made).
pub async fn answer(
    app: &AppState,
    run: RunId,
    wanted: Wanted,
    status: StatusCode,
    body: impl serde::Serialize,
) -> Response {
    let mut body = serde_json::to_value(body).expect("answers serialize");
    if let Some(durable) = wanted.durable {
        let heads = body["heads"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h.as_str()?.parse().ok())
            .collect();
        let held = crate::http::durable::wait(app, run, heads, durable).await;
        body["durability"] = serde_json::to_value(held).expect("serializes");
    }
    let mut applied = wanted.preferred;
    if wanted.want == Return::Representation {
        // Read after the change was answered: the run as it is now (RFC 7240's "current
        // state"), which holds the change and perhaps others made since.
        let now = read(&app.docs, run, Read::State).await;
        match now.and_then(|state| state.map_err(AppError::from)) {
            Ok(state) => {
                let state = StateBody::new(state, &app.region);
                body["state"] = serde_json::to_value(state).expect("the state serializes");
            }
            // The change is made and stored: an error would tell the client otherwise. It
            // gets what the change did, without the preference applied.
            Err(e) => {
                tracing::warn!(%run, error = %e, "the run after a change could not be read");
                applied = false;
            }
        }
    }
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    // The answer differs by `Prefer` (RFC 7240 §2: say so to caches).
    headers.insert(header::VARY, HeaderValue::from_static("prefer"));
    if applied {
        let token = HeaderValue::from_static(wanted.want.token());
        headers.insert(PREFERENCE_APPLIED, token);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefer(values: &[&str]) -> Option<Return> {
        preferred_return(values.iter().copied())
    }

    #[test]
    fn the_return_preference_is_read_as_rfc_7240_writes_it() {
        use Return::*;
        assert_eq!(prefer(&["return=representation"]), Some(Representation));
        assert_eq!(
            prefer(&["RETURN = \"representation\""]),
            Some(Representation)
        );
        assert_eq!(
            prefer(&["respond-async, wait=10", "return=representation; x=\"a,b\""]),
            Some(Representation)
        );
        assert_eq!(prefer(&["return=minimal"]), Some(Minimal));
        assert_eq!(
            prefer(&["handling=lenient; note=\"return=representation\""]),
            None,
            "a parameter is not a preference"
        );
        assert_eq!(
            prefer(&["return=minimal, return=representation"]),
            Some(Minimal),
            "only the first counts"
        );
    }

    #[test]
    fn values_it_does_not_know_are_ignored() {
        for bad in ["return=everything", "return", "return=", "wait=5", ""] {
            assert_eq!(prefer(&[bad]), None, "{bad:?}");
        }
        assert_eq!(prefer(&[]), None);
    }

    #[test]
    fn the_query_flag_is_found_among_other_parameters() {
        assert_eq!(query_flag(Some("a=1&return=minimal")), Some("minimal"));
        assert_eq!(query_flag(Some("return")), Some(""));
        assert_eq!(query_flag(Some("returns=1")), None);
        assert_eq!(query_flag(None), None);
    }
}
