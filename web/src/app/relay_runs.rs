//! The runs the relay holds that this user may read, a page at a time
//! (`GET /api/crdt/runs?limit=&after=`, with the link's token if there is one).

use js_sys::{Array, Reflect};
use leptos::prelude::window;
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

use crate::app::identity;

/// Runs per page.
pub const LIMIT: usize = 20;

/// One page of the relay's list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// Run ids, in order, each with its title (empty if the relay has none for it).
    pub runs: Vec<(String, String)>,
    /// How many runs the relay holds that this user may read.
    pub total: u64,
    /// Where the next page starts, if there is one.
    pub next: Option<String>,
}

fn js(e: wasm_bindgen::JsValue) -> String {
    e.as_string()
        .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| e.message().into()))
        .unwrap_or_else(|| "the browser refused the request".to_owned())
}

/// The page after run `after` (the first page if `None`).
pub async fn page(after: Option<&str>) -> Result<Page, String> {
    let mut url = format!("/api/crdt/runs?limit={LIMIT}");
    if let Some(after) = after {
        url.push_str("&after=");
        url.push_str(after);
    }
    let init = RequestInit::new();
    if let Some(token) = identity::token() {
        let headers = Headers::new().map_err(js)?;
        headers
            .set("Authorization", &format!("Bearer {token}"))
            .map_err(js)?;
        init.set_headers(&headers);
    }
    let answer = JsFuture::from(window().fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|_| "the relay cannot be reached".to_owned())?;
    let response: Response = answer.dyn_into().map_err(js)?;
    if !response.ok() {
        return Err(format!("the relay answered {}", response.status()));
    }
    // The browser's own JSON parser: no JSON code of ours in the app for this.
    let body = JsFuture::from(response.json().map_err(js)?)
        .await
        .map_err(|_| "the relay's list is not JSON".to_owned())?;
    let field = |v: &JsValue, name: &str| Reflect::get(v, &name.into()).unwrap_or_default();
    let runs: Array = field(&body, "runs").dyn_into().unwrap_or_default();
    Ok(Page {
        runs: runs
            .iter()
            .filter_map(|r| {
                let title = field(&r, "title").as_string().unwrap_or_default();
                Some((field(&r, "runId").as_string()?, title))
            })
            .collect(),
        total: field(&body, "total").as_f64().unwrap_or(0.0) as u64,
        next: field(&body, "next").as_string(),
    })
}
