//! The screens and their parts.

pub mod banner;
pub mod flags;
pub mod header;
pub mod history;
pub mod past_banner;
pub mod people;
pub mod pipeline;
pub mod pipeline_rows;
pub mod relay_list;
pub mod rows;
pub mod run_list;
pub mod run_view;

use crate::app::actions::Actions;
use crate::route::Route;

/// What a click on a link to run `id` does: open it in the app, not by reloading.
pub fn open_run(actions: Actions, id: String) -> impl Fn(leptos::ev::MouseEvent) {
    move |ev| {
        ev.prevent_default();
        if let Ok(run) = id.parse() {
            actions.navigate(Route::Run(run));
        }
    }
}
