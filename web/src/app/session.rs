//! The open run: its document, its sync with the relay, who else is on it. Every edit is
//! applied at once, stored in IndexedDB, and only then offered to the relay; frames that
//! would go out while a store is in flight wait for it.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;
use leptos::task::spawn_local;
use runmesh_core::sync::{ClientSync, PeerId};
use runmesh_core::{ChangeHash, Identity, RunDoc, RunError, RunId};

use crate::app::{Ctx, Net, connection, store};
use crate::presence::{Announce, PresenceBook};
use crate::route::Route;

/// One open run.
pub struct Session {
    pub run: RunDoc,
    pub sync: ClientSync,
    pub presence: PresenceBook,
    /// The current socket's outgoing queue, while connected.
    pub outbox: Option<UnboundedSender<Vec<u8>>>,
    /// Closes the current socket (the browser went offline, or the run was left).
    pub kick: Option<UnboundedSender<()>>,
    /// The user left the run: its loops stop.
    pub closed: bool,
    /// Stores in flight; frames wait in `held` until they are done.
    unsaved: u32,
    held: Vec<Vec<u8>>,
}

impl Session {
    /// Sends frames now, or after the stores in flight.
    pub fn send(&mut self, frames: Vec<Vec<u8>>) {
        if self.unsaved > 0 {
            self.held.extend(frames);
            return;
        }
        if let Some(outbox) = &self.outbox {
            for frame in frames {
                let _ = outbox.unbounded_send(frame);
            }
        }
    }

    /// Tells the others on the run who this tab is (an ephemeral message); nothing while
    /// not joined.
    pub fn announce(&mut self) {
        let who = Announce {
            user: self.run.identity().user().to_owned(),
            region: self.run.identity().region().to_owned(),
        };
        let mut cbor = Vec::new();
        if ciborium::into_writer(&who, &mut cbor).is_ok()
            && let Some(frame) = self.sync.ephemeral(cbor)
        {
            self.send(vec![frame]);
        }
    }
}

/// Opens the run the route names, and closes it when the route moves on.
pub fn follow_route(ctx: Ctx) {
    Effect::new(move |_| {
        let route = ctx.route.get();
        close(ctx);
        if let Route::Run(run_id) = route {
            spawn_local(open(ctx, run_id));
        }
    });
}

fn close(ctx: Ctx) {
    if let Some(session) = ctx.session() {
        let mut s = session.borrow_mut();
        s.closed = true;
        if let Some(kick) = s.kick.take() {
            let _ = kick.unbounded_send(());
        }
    }
    ctx.session.set_value(None);
    ctx.state.set(None);
    ctx.history.set(Vec::new());
    ctx.people.set(Vec::new());
    ctx.pending.set(0);
    ctx.net.set(Net::Idle);
}

async fn open(ctx: Ctx, run_id: RunId) {
    let result = async {
        let db = ctx.db().await?;
        let stored = store::load(&db, run_id).await?;
        let identity = Identity::random(&ctx.region.get_untracked(), &ctx.user.get_untracked())
            .map_err(|e| e.to_string())?;
        let (run, acknowledged) = match stored {
            Some(stored) => (
                RunDoc::load(run_id, identity, &stored.bytes).map_err(|e| e.to_string())?,
                stored.acknowledged,
            ),
            None => (RunDoc::genesis(run_id, identity), Vec::new()),
        };
        Ok::<_, String>((run, acknowledged))
    }
    .await;
    let (run, acknowledged) = match result {
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
    let mut sync = ClientSync::new(run_id, PeerId::random("web"));
    sync.set_acknowledged_heads(
        acknowledged
            .iter()
            .filter_map(|h| h.parse::<ChangeHash>().ok())
            .collect(),
    );
    let session = Rc::new(RefCell::new(Session {
        run,
        sync,
        presence: PresenceBook::default(),
        outbox: None,
        kick: None,
        closed: false,
        unsaved: 0,
        held: Vec::new(),
    }));
    ctx.session.set_value(Some(session.clone()));
    refresh(ctx, &session, true);
    connection::spawn(ctx, session.clone());
    connection::spawn_presence(ctx, session);
}

/// Brings the signals up to date with the session.
pub fn refresh(ctx: Ctx, session: &Rc<RefCell<Session>>, changed: bool) {
    let mut guard = session.borrow_mut();
    let s = &mut *guard;
    if changed {
        ctx.state.set(Some(s.run.state()));
        let mut history = s.run.history();
        history.reverse();
        ctx.history.set(history);
    }
    ctx.pending.set(s.sync.unacknowledged(&mut s.run));
    if s.sync.is_joined() {
        let in_sync = s.unsaved == 0 && s.sync.in_sync(&mut s.run);
        ctx.net
            .set(if in_sync { Net::Online } else { Net::Syncing });
    }
}

/// Applies an edit to the open run; on success stores it, then offers it to the relay.
pub fn edit(ctx: Ctx, op: impl FnOnce(&mut RunDoc, u64) -> Result<(), RunError>) {
    let Some(session) = ctx.session() else {
        return;
    };
    let now = js_sys::Date::now() as u64;
    let result = op(&mut session.borrow_mut().run, now);
    match result {
        Err(e) => ctx.error.set(Some(e.to_string())),
        Ok(()) => {
            ctx.error.set(None);
            refresh(ctx, &session, true);
            spawn_local(async move {
                persist(ctx, &session).await;
                let frames = {
                    let mut guard = session.borrow_mut();
                    let s = &mut *guard;
                    s.sync.local_change(&mut s.run)
                };
                session.borrow_mut().send(frames);
                refresh(ctx, &session, false);
            });
        }
    }
}

/// Stores the run in IndexedDB; frames wait while it is in flight.
pub async fn persist(ctx: Ctx, session: &Rc<RefCell<Session>>) {
    let (run_id, title, bytes, acknowledged) = {
        let mut s = session.borrow_mut();
        s.unsaved += 1;
        let acknowledged = s
            .sync
            .acknowledged_heads()
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>();
        let title = s.run.state().title;
        (s.run.run_id(), title, s.run.save(), acknowledged)
    };
    let result = match ctx.db().await {
        Ok(db) => store::save(&db, run_id, &title, &bytes, &acknowledged).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        ctx.error.set(Some(e));
    }
    let mut s = session.borrow_mut();
    s.unsaved -= 1;
    if s.unsaved == 0 {
        let held = std::mem::take(&mut s.held);
        s.send(held);
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
    ctx.error.set(None);
    let bytes = run.save();
    let title = title.to_owned();
    spawn_local(async move {
        let saved = match ctx.db().await {
            Ok(db) => store::save(&db, run_id, &title, &bytes, &[]).await,
            Err(e) => Err(e),
        };
        match saved {
            Ok(()) => {
                ctx.reload_runs();
                ctx.navigate(Route::Run(run_id));
            }
            Err(e) => ctx.error.set(Some(e)),
        }
    });
}
