//! The browser app: shared context, the session of the open run, the socket, and the
//! screens (`ui/`).

mod connection;
mod identity;
mod session;
mod store;
mod ui;

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use rexie::Rexie;
use runmesh_core::{HistoryEntry, RunState};

use crate::presence::Seen;
use crate::route::Route;
pub use session::Session;
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

/// Everything the components share: signals, plus handles to the non-`Send` parts (the
/// open run's session, the database) kept in local storage.
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
    pub people: RwSignal<Vec<Seen>>,
    /// The last error, shown until the next successful action.
    pub error: RwSignal<Option<String>>,
    pub session: StoredValue<Option<Rc<RefCell<Session>>>, LocalStorage>,
    pub db: StoredValue<Option<Rc<Rexie>>, LocalStorage>,
}

impl Ctx {
    fn new() -> Self {
        Self {
            route: RwSignal::new(Route::from_path(&location_path())),
            user: RwSignal::new(identity::user()),
            region: RwSignal::new(identity::region()),
            net: RwSignal::new(Net::Idle),
            pending: RwSignal::new(0),
            runs: RwSignal::new(Vec::new()),
            state: RwSignal::new(None),
            history: RwSignal::new(Vec::new()),
            people: RwSignal::new(Vec::new()),
            error: RwSignal::new(None),
            session: StoredValue::new_local(None),
            db: StoredValue::new_local(None),
        }
    }

    /// The open run's session.
    pub fn session(&self) -> Option<Rc<RefCell<Session>>> {
        self.session.with_value(|s| s.clone())
    }

    /// The database, opened on first use.
    pub async fn db(&self) -> Result<Rc<Rexie>, String> {
        if let Some(db) = self.db.with_value(|d| d.clone()) {
            return Ok(db);
        }
        let db = Rc::new(store::open().await?);
        self.db.set_value(Some(db.clone()));
        Ok(db)
    }

    /// Goes to a screen and records it in the browser history.
    pub fn navigate(&self, route: Route) {
        if let Ok(history) = window().history() {
            let _ =
                history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&route.path()));
        }
        self.route.set(route);
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

/// Mounts the app.
pub fn start() {
    console_error_panic_hook::set_once();
    mount_to_body(App);
    // The end-to-end tests time first render from here.
    if let Some(root) = document().document_element() {
        let now = window().performance().map(|p| p.now()).unwrap_or(0.0);
        let _ = root.set_attribute("data-rendered-at", &format!("{now:.1}"));
    }
}

#[component]
fn App() -> impl IntoView {
    // Keep a `?token=` from the link before any navigation drops it.
    let _ = identity::token();
    let ctx = Ctx::new();
    provide_context(ctx);
    session::follow_route(ctx);
    connection::watch_browser(ctx);
    ctx.reload_runs();
    view! {
        <ui::header::Header/>
        <main>
            <ui::banner::Banner/>
            {move || match ctx.route.get() {
                Route::Runs => view! { <ui::run_list::RunList/> }.into_any(),
                Route::Run(_) => view! { <ui::run_view::RunView/> }.into_any(),
                Route::NotFound => view! { <ui::run_list::NotFound/> }.into_any(),
            }}
        </main>
    }
}
