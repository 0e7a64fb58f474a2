//! The screens and their parts.

pub mod banner;
pub mod flags;
pub mod header;
pub mod history;
pub mod past_banner;
pub mod people;
pub mod pipeline;
pub mod relay_list;
pub mod run_list;
pub mod run_view;

use leptos::prelude::*;

use crate::app::context::Ctx;
use crate::route::Route;

/// The shared signals.
pub fn ctx() -> Ctx {
    expect_context::<Ctx>()
}

/// What a click on a link to run `id` does: open it in the app, not by reloading.
pub fn open_run(ctx: Ctx, id: String) -> impl Fn(leptos::ev::MouseEvent) {
    move |ev| {
        ev.prevent_default();
        if let Ok(run) = id.parse() {
            ctx.navigate(Route::Run(run));
        }
    }
}
