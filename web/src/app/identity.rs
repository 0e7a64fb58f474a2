//! Who this browser writes as: a user name and a region, kept in localStorage and
//! editable in the header.

use leptos::prelude::window;

const USER_KEY: &str = "runmesh.user";
const REGION_KEY: &str = "runmesh.region";
const TOKEN_KEY: &str = "runmesh.token";

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// The stored user name, or a new `guest-xxxx` (stored).
pub fn user() -> String {
    if let Some(name) = storage().and_then(|s| s.get_item(USER_KEY).ok().flatten())
        && !name.trim().is_empty()
    {
        return name;
    }
    let name = format!("guest-{:04x}", (js_sys::Math::random() * 65536.0) as u32);
    set_user(&name);
    name
}

/// Stores a new user name.
pub fn set_user(name: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(USER_KEY, name);
    }
}

/// The stored region (default `browser`).
pub fn region() -> String {
    storage()
        .and_then(|s| s.get_item(REGION_KEY).ok().flatten())
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "browser".to_owned())
}

/// The relay token (a JWT), if the relay needs one: taken from the page's `?token=` the
/// first time (then stored and removed from the address bar), else from localStorage.
pub fn token() -> Option<String> {
    let location = window().location();
    let search = location.search().unwrap_or_default();
    let from_url = search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty());
    if let Some(token) = from_url {
        if let Some(s) = storage() {
            let _ = s.set_item(TOKEN_KEY, &token);
        }
        if let (Ok(history), Ok(path)) = (window().history(), location.pathname()) {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
        }
        return Some(token);
    }
    storage()
        .and_then(|s| s.get_item(TOKEN_KEY).ok().flatten())
        .filter(|t| !t.is_empty())
}
