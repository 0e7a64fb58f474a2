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

/// The shared signals.
pub fn ctx() -> Ctx {
    expect_context::<Ctx>()
}
