//! [`Actions`]: what the screens can ask of the app, in one handle. A screen gets the
//! signals it reads as props and this for what it does; none holds the whole context
//! (`context.rs`) that the session and the past write to.

use leptos::prelude::*;
use runmesh_core::{RunDoc, RunError, StepSpec};

use crate::app::context::Ctx;
use crate::app::session::{self, OpenRun};
use crate::app::{identity, past};
use crate::route::Route;

#[derive(Clone, Copy)]
pub struct Actions {
    ctx: Ctx,
    open: OpenRun,
}

impl Actions {
    pub fn new(ctx: Ctx, open: OpenRun) -> Self {
        Self { ctx, open }
    }

    /// Goes to a screen and records it in the browser history.
    pub fn navigate(self, route: Route) {
        self.ctx.navigate(route);
    }

    /// Shows an error until the next action succeeds.
    pub fn fail(self, message: String) {
        self.ctx.error.set(Some(message));
    }

    /// Applies an edit to the open run (stored, then offered to the relay); whether it
    /// was applied (if not, the error shows).
    pub fn edit(self, op: impl FnOnce(&mut RunDoc, u64) -> Result<(), RunError>) -> bool {
        self.open.edit(self.ctx, op)
    }

    /// The user's new name: kept on this device, carried by the open run's next changes
    /// and told to the others on it.
    pub fn rename(self, name: &str) {
        identity::set_user(name);
        self.ctx.user.set(name.to_owned());
        self.open.rename(self.ctx, name);
    }

    /// Creates a run, stores it and opens it.
    pub fn create(self, title: &str, steps: &[StepSpec]) {
        session::create(self.ctx, title, steps);
    }

    /// Shows the open run as it was after change `hash` (`label` says which).
    pub fn view_past(self, hash: &str, label: String) {
        past::view(self.open, self.ctx, hash, label);
    }

    /// Shows the open run as it is again.
    pub fn back_to_now(self) {
        past::back_to_now(self.ctx);
    }

    /// Forks the open run at change `at` (now if `None`) and opens the fork.
    pub fn fork(self, at: Option<&str>) {
        past::fork(self.open, self.ctx, at);
    }

    /// Takes the open fork's changes into the run it came from and opens that.
    pub fn merge_back(self) {
        past::merge_back(self.open, self.ctx);
    }
}
