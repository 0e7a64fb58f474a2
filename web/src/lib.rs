//! runmesh-web: the collaborative run editor that runs in the browser.
//!
//! Not built yet beyond this placeholder: the app (Leptos, Trunk) is tracked in its own
//! issue. It links the core so that the workspace proves the core builds for it.

/// The app's name, shown in its title bar.
pub const APP_NAME: &str = "runmesh";

/// The version of the core this app was built with.
pub fn core_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
