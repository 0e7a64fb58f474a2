//! [`Query`]: a request's query string as its route reads it. `?token=` is the caller's
//! credential on every route (an `EventSource` and a WebSocket cannot set headers):
//! [`Caller`](crate::http::caller::Caller) reads it, and it is taken out here, so no
//! route refuses it as a parameter of its own and none needs a case for it.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The query string without `token` (`None` if nothing else is left).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self(without_token(parts.uri.query())))
    }
}

fn without_token(query: Option<&str>) -> Option<String> {
    let rest: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| pair.split_once('=').map_or(*pair, |(key, _)| key) != "token")
        .collect();
    (!rest.is_empty()).then(|| rest.join("&"))
}

#[cfg(test)]
mod tests {
    use super::without_token;

    #[test]
    fn the_token_is_taken_out_and_the_rest_kept_in_order() {
        assert_eq!(without_token(None), None);
        assert_eq!(without_token(Some("token=abc")), None);
        assert_eq!(
            without_token(Some("at=1&token=abc&to=2")).as_deref(),
            Some("at=1&to=2")
        );
        assert_eq!(
            without_token(Some("tokens=1&token")).as_deref(),
            Some("tokens=1")
        );
    }
}
