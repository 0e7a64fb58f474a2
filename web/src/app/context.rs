//! [`Ctx`]: the signals the screens share, and the database handle.

use std::rc::Rc;

use leptos::prelude::*;
use runmesh_core::{HistoryEntry, RunId, RunState};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::app::{identity, store};
use crate::presence::Seen;
use crate::route::Route;

pub use store::RunSummary;

/// The connection as the header shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    /// No run open: nothing to sync.
    Idle,
    /// The browser is offline or the relay cannot be reached; edits stay local.
    Offline,
    /// Dialling the relay.
    Connecting,
    /// Connected, changes in flight.
    Syncing,
    /// Connected and in step with the relay.
    Online,
}

impl Net {
    pub fn label(self) -> &'static str {
        match self {
            Net::Idle => "ready",
            Net::Offline => "offline",
            Net::Connecting => "connecting",
            Net::Syncing => "syncing",
            Net::Online => "online",
        }
    }
}

/// A point of the open run's past being looked at (read-only).
#[derive(Clone, Debug, PartialEq)]
pub struct Past {
    /// The change it ends at.
    pub hash: String,
    /// That change in words, as the history says it.
    pub label: String,
    /// The run as it was then.
    pub state: RunState,
}

/// The open run as the screens read it: as it is, the point of its past being looked
/// at, its history, and the run it was forked from. The screens only read these; they
/// change the run through [`crate::app::actions::Actions`]. (`RwSignal`, not
/// `ReadSignal`: a second signal type per value costs the app 2 KB gzip.)
#[derive(Clone, Copy)]
pub struct ShownRun {
    pub state: RwSignal<Option<RunState>>,
    pub past: RwSignal<Option<Past>>,
    pub history: RwSignal<Vec<HistoryEntry>>,
    pub fork_of: RwSignal<Option<RunId>>,
}

impl ShownRun {
    /// Reads the run as shown: as it was at the point of the past being looked at, else
    /// as it is.
    pub fn with_shown<T>(&self, f: impl FnOnce(Option<&RunState>) -> T) -> T {
        if self.past.with(Option::is_some) {
            self.past.with(|p| f(p.as_ref().map(|p| &p.state)))
        } else {
            self.state.with(|s| f(s.as_ref()))
        }
    }
}

/// The app's signals and the database (opened on first use). The session and the past
/// write to it; the screens get the parts they read ([`Ctx::shown_run`] and single
/// signals) and [`crate::app::actions::Actions`].
#[derive(Clone, Copy)]
pub struct Ctx {
    pub route: RwSignal<Route>,
    pub user: RwSignal<String>,
    pub region: RwSignal<String>,
    pub net: RwSignal<Net>,
    /// Changes the relay has not acknowledged yet.
    pub pending: RwSignal<usize>,
    pub runs: RwSignal<Vec<RunSummary>>,
    pub state: RwSignal<Option<RunState>>,
    pub history: RwSignal<Vec<HistoryEntry>>,
    /// The point of the past shown instead of the run now, if any.
    pub past: RwSignal<Option<Past>>,
    /// The run the open run was forked from, if it is a fork.
    pub fork_of: RwSignal<Option<RunId>>,
    pub people: RwSignal<Vec<Seen>>,
    /// The last error, shown until the next successful action.
    pub error: RwSignal<Option<String>>,
    db: StoredValue<Option<Rc<idb::Database>>, LocalStorage>,
}

impl Ctx {
    pub fn new() -> Self {
        Self {
            route: RwSignal::new(Route::from_path(&location_path())),
            user: RwSignal::new(identity::user()),
            region: RwSignal::new(identity::region()),
            net: RwSignal::new(Net::Idle),
            pending: RwSignal::new(0),
            runs: RwSignal::new(Vec::new()),
            state: RwSignal::new(None),
            history: RwSignal::new(Vec::new()),
            past: RwSignal::new(None),
            fork_of: RwSignal::new(None),
            people: RwSignal::new(Vec::new()),
            error: RwSignal::new(None),
            db: StoredValue::new_local(None),
        }
    }

    /// The database, opened on first use.
    pub async fn db(&self) -> Result<Rc<idb::Database>, String> {
        if let Some(db) = self.db.with_value(|d| d.clone()) {
            return Ok(db);
        }
        let db = Rc::new(store::open().await?);
        self.db.set_value(Some(db.clone()));
        Ok(db)
    }

    /// The open run's signals, for the screens that show it.
    pub fn shown_run(&self) -> ShownRun {
        ShownRun {
            state: self.state,
            past: self.past,
            history: self.history,
            fork_of: self.fork_of,
        }
    }

    /// Goes to a screen and records it in the browser history.
    pub fn navigate(&self, route: Route) {
        if let Ok(history) = window().history() {
            let _ =
                history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&route.path()));
        }
        self.route.set(route);
    }

    /// Follows the browser's back and forward buttons.
    pub fn follow_history(&self) {
        let route = self.route;
        let on_popstate =
            Closure::<dyn Fn()>::new(move || route.set(Route::from_path(&location_path())));
        let _ = window()
            .add_event_listener_with_callback("popstate", on_popstate.as_ref().unchecked_ref());
        on_popstate.forget();
    }

    /// Re-reads the run list from IndexedDB.
    pub fn reload_runs(&self) {
        let ctx = *self;
        leptos::task::spawn_local(async move {
            match ctx.db().await {
                Ok(db) => match store::list(&db).await {
                    Ok(runs) => ctx.runs.set(runs),
                    Err(e) => ctx.error.set(Some(e)),
                },
                Err(e) => ctx.error.set(Some(e)),
            }
        });
    }
}

fn location_path() -> String {
    window().location().pathname().unwrap_or_default()
}
