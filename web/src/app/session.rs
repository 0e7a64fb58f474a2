//! The open run as the screens share it ([`OpenRun`]): opening and closing it, edits,
//! making and storing new runs. The rules (every change stored in IndexedDB before
//! anything goes to the relay) are the core's client machine, [`ClientRun`]; `driver.rs`
//! holds the session and performs its effects.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use runmesh_core::client::ClientRun;
use runmesh_core::sync::PeerId;
use runmesh_core::{ChangeHash, Identity, RunDoc, RunError, RunId};

use crate::app::connection::Connection;
use crate::app::context::{Ctx, Net};
use crate::app::driver::{Session, follow, keep_announcing, perform, refresh};
use crate::app::{identity, store};
use crate::presence::PresenceBook;
use crate::route::Route;

/// The open run, if any: a handle the screens share.
#[derive(Clone, Copy)]
pub struct OpenRun(StoredValue<Option<Rc<RefCell<Session>>>, LocalStorage>);

impl OpenRun {
    fn get(&self) -> Option<Rc<RefCell<Session>>> {
        self.0.with_value(|s| s.clone())
    }

    /// Opens the run the route names, and closes it when the route moves on.
    pub fn follow_route(ctx: Ctx) -> Self {
        let open = Self(StoredValue::new_local(None));
        Effect::new(move |_| {
            let route = ctx.route.get();
            open.close(ctx);
            if let Route::Run(run_id) = route {
                spawn_local(open.open(ctx, run_id));
            }
        });
        open
    }

    fn close(&self, ctx: Ctx) {
        if let Some(session) = self.get() {
            let mut s = session.borrow_mut();
            s.closed = true;
            s.connection.stop();
        }
        self.0.set_value(None);
        ctx.state.set(None);
        ctx.history.set(Vec::new());
        ctx.past.set(None);
        ctx.fork_of.set(None);
        ctx.people.set(Vec::new());
        ctx.pending.set(0);
        ctx.net.set(Net::Idle);
    }

    async fn open(self, ctx: Ctx, run_id: RunId) {
        let (mut run, stored, acknowledged) = match load(ctx, run_id).await {
            Ok(opened) => opened,
            Err(e) => {
                ctx.error
                    .set(Some(format!("cannot open run {run_id}: {e}")));
                return;
            }
        };
        if ctx.route.get_untracked() != Route::Run(run_id) {
            return; // the user moved on while it loaded
        }
        let acknowledged = acknowledged
            .iter()
            .filter_map(|h| h.parse::<ChangeHash>().ok())
            .collect();
        let me = PeerId::random("web");
        let client = ClientRun::new(&mut run, stored, acknowledged, me);
        let (connection, events) = Connection::spawn(relay_url());
        let session = Rc::new(RefCell::new(Session {
            run,
            client,
            presence: PresenceBook::default(),
            connection,
            outbox: None,
            closed: false,
            history_at: Vec::new(),
            history_due: false,
        }));
        self.0.set_value(Some(session.clone()));
        refresh(ctx, &session, true);
        let effects = {
            let mut guard = session.borrow_mut();
            let s = &mut *guard;
            s.client.retry_store(&mut s.run)
        };
        perform(ctx, &session, effects);
        spawn_local(follow(ctx, session.clone(), events));
        spawn_local(keep_announcing(ctx, session));
    }

    /// Applies an edit to the open run; on success stores it, then offers it to the relay.
    /// Whether it was applied.
    pub fn edit(
        &self,
        ctx: Ctx,
        op: impl FnOnce(&mut RunDoc, u64) -> Result<(), RunError>,
    ) -> bool {
        let Some(session) = self.get() else {
            return false;
        };
        let now = js_sys::Date::now() as u64;
        let result = op(&mut session.borrow_mut().run, now);
        match result {
            Err(e) => {
                ctx.error.set(Some(e.to_string()));
                false
            }
            Ok(()) => {
                ctx.error.set(None);
                let effects = {
                    let mut guard = session.borrow_mut();
                    let s = &mut *guard;
                    s.client.local_change(&mut s.run)
                };
                perform(ctx, &session, effects);
                true
            }
        }
    }

    /// Reads or copies the open run's document as it is, without storing or syncing
    /// anything (the past, forks); `None` with no run open.
    pub fn with_run<T>(&self, f: impl FnOnce(&mut RunDoc) -> T) -> Option<T> {
        let session = self.get()?;
        let mut s = session.borrow_mut();
        Some(f(&mut s.run))
    }

    /// The user renamed themself: the open run's next changes carry the new name, and the
    /// others see it now, not at the next beat.
    pub fn rename(&self, ctx: Ctx, name: &str) {
        let Some(session) = self.get() else {
            return;
        };
        let mut s = session.borrow_mut();
        match s.run.act_as(name) {
            Ok(()) => s.announce(),
            Err(e) => ctx.error.set(Some(e.to_string())),
        }
    }
}

/// The run as the device stores it (and whether it does), with the heads the relay last
/// acknowledged.
async fn load(ctx: Ctx, run_id: RunId) -> Result<(RunDoc, bool, Vec<String>), String> {
    let db = ctx.db().await?;
    let stored = store::load(&db, run_id).await?;
    let identity = Identity::random(&ctx.region.get_untracked(), &ctx.user.get_untracked())
        .map_err(|e| e.to_string())?;
    Ok(match stored {
        Some(stored) => (
            RunDoc::load(run_id, identity, &stored.bytes).map_err(|e| e.to_string())?,
            true,
            stored.acknowledged,
        ),
        None => (RunDoc::genesis(run_id, identity), false, Vec::new()),
    })
}

fn relay_url() -> String {
    let location = window().location();
    let scheme = if location.protocol().as_deref() == Ok("https:") {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().unwrap_or_default();
    match identity::token() {
        Some(token) => format!("{scheme}://{host}/ws?token={token}"),
        None => format!("{scheme}://{host}/ws"),
    }
}

/// Creates a run, stores it, and opens it.
pub fn create(ctx: Ctx, title: &str, steps: &[runmesh_core::StepSpec]) {
    let identity = match Identity::random(&ctx.region.get_untracked(), &ctx.user.get_untracked()) {
        Ok(identity) => identity,
        Err(e) => return ctx.error.set(Some(e.to_string())),
    };
    let run_id = RunId::random();
    let mut run = match RunDoc::create(run_id, identity, title, steps, js_sys::Date::now() as u64) {
        Ok(run) => run,
        Err(e) => return ctx.error.set(Some(e.to_string())),
    };
    store_and_open(ctx, run_id, title.to_owned(), run.save());
}

/// Stores a run made on this device (a new run, a fork) and opens it.
pub fn store_and_open(ctx: Ctx, run_id: RunId, title: String, bytes: Vec<u8>) {
    spawn_local(async move {
        let saved = match ctx.db().await {
            Ok(db) => store::save(&db, run_id, &title, &bytes, &[]).await,
            Err(e) => Err(e),
        };
        match saved {
            Ok(()) => {
                ctx.error.set(None);
                ctx.reload_runs();
                ctx.navigate(Route::Run(run_id));
            }
            Err(e) => ctx.error.set(Some(e)),
        }
    });
}
