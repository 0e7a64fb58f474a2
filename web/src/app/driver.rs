//! The open run's [`Session`] (its document, client machine, presence and socket) and
//! what its client machine asks for, done: the socket's events fed in, its effects
//! performed (stores in IndexedDB, frames to the relay, the view refreshed), presence
//! announced while the run is open.

use std::cell::RefCell;
use std::rc::Rc;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use runmesh_core::client::{ClientEffect, ClientInput, ClientRun};
use runmesh_core::{ChangeHash, RunDoc};

use crate::app::connection::{Connection, Event, Outbox};
use crate::app::context::{Ctx, Net};
use crate::app::store;
use crate::presence::{ANNOUNCE_MS, Announce, PresenceBook};

/// One open run.
pub struct Session {
    pub(super) run: RunDoc,
    pub(super) client: ClientRun,
    pub(super) presence: PresenceBook,
    pub(super) connection: Connection,
    /// The current socket's outbox, while one is open.
    pub(super) outbox: Option<Outbox>,
    /// The user left the run: its loops stop.
    pub(super) closed: bool,
    /// The heads `ctx.history` was read at.
    pub(super) history_at: Vec<ChangeHash>,
    /// `ctx.history` is to be brought up to date after the next paint.
    pub(super) history_due: bool,
}

impl Session {
    pub(super) fn handle(&mut self, input: ClientInput<'_>) -> Vec<ClientEffect> {
        self.client.handle(&mut self.run, input)
    }

    /// Tells the others on the run who this tab is (an ephemeral message); nothing while
    /// not joined.
    pub(super) fn announce(&mut self) {
        let who = Announce {
            user: self.run.identity().user().to_owned(),
            region: self.run.identity().region().to_owned(),
        };
        let mut cbor = Vec::new();
        if ciborium::into_writer(&who, &mut cbor).is_ok()
            && let Some(outbox) = &self.outbox
        {
            for effect in self.client.ephemeral(cbor) {
                if let ClientEffect::Send(frame) = effect {
                    outbox.send(frame);
                }
            }
        }
    }
}

/// Reads the connection's events until the run is closed.
pub(super) async fn follow(
    ctx: Ctx,
    session: Rc<RefCell<Session>>,
    mut events: UnboundedReceiver<Event>,
) {
    while let Some(event) = events.next().await {
        if session.borrow().closed {
            return;
        }
        match event {
            Event::Dialling => ctx.net.set(Net::Connecting),
            Event::Offline => ctx.net.set(Net::Offline),
            Event::Open(outbox) => {
                let effects = {
                    let mut s = session.borrow_mut();
                    s.outbox = Some(outbox);
                    s.handle(ClientInput::Opened)
                };
                perform(ctx, &session, effects);
            }
            Event::Frame(frame) => {
                let effects = session.borrow_mut().handle(ClientInput::Frame(&frame));
                perform(ctx, &session, effects);
            }
            Event::Closed => {
                let mut s = session.borrow_mut();
                s.outbox = None;
                s.handle(ClientInput::Closed);
                drop(s);
                ctx.net.set(Net::Offline);
            }
        }
    }
}

/// Performs the client machine's effects, in order.
pub(super) fn perform(ctx: Ctx, session: &Rc<RefCell<Session>>, effects: Vec<ClientEffect>) {
    let mut changed = false;
    for effect in effects {
        match effect {
            ClientEffect::Send(frame) => {
                if let Some(outbox) = &session.borrow().outbox {
                    outbox.send(frame);
                }
            }
            ClientEffect::StoreDue => spawn_local(persist(ctx, session.clone())),
            ClientEffect::Changed { .. } => changed = true,
            ClientEffect::Joined => session.borrow_mut().announce(),
            ClientEffect::Unavailable => ctx.error.set(Some(
                "This run is not on the relay (nor on any relay it knows). Check the link, or create it again."
                    .to_owned(),
            )),
            ClientEffect::Ephemeral { peer, data } => {
                let mut s = session.borrow_mut();
                if let Ok(who) = ciborium::from_reader::<Announce, _>(data.as_slice()) {
                    s.presence.heard(peer.as_str(), who, js_sys::Date::now());
                }
                ctx.people.set(s.presence.list());
            }
            ClientEffect::Drop(why) => {
                ctx.error.set(Some(why));
                session.borrow().connection.kick();
            }
            ClientEffect::StoreFailed(why) => {
                ctx.error
                    .set(Some(format!("cannot save the run on this device: {why}")));
                spawn_local(retry_store(ctx, session.clone()));
            }
        }
    }
    refresh(ctx, session, changed);
}

/// Tries a failed write again after a while (the changes wait for it).
pub(super) async fn retry_store(ctx: Ctx, session: Rc<RefCell<Session>>) {
    TimeoutFuture::new(2_000).await;
    if session.borrow().closed {
        return;
    }
    let effects = {
        let mut guard = session.borrow_mut();
        let s = &mut *guard;
        s.client.retry_store(&mut s.run)
    };
    perform(ctx, &session, effects);
}

/// Announces this tab on the run every few seconds, and forgets peers gone quiet.
pub(super) async fn keep_announcing(ctx: Ctx, session: Rc<RefCell<Session>>) {
    loop {
        TimeoutFuture::new(ANNOUNCE_MS).await;
        if session.borrow().closed {
            return;
        }
        let mut s = session.borrow_mut();
        s.announce();
        if s.presence.expire(js_sys::Date::now()) {
            ctx.people.set(s.presence.list());
        }
    }
}

/// Brings the signals up to date with the session.
pub(super) fn refresh(ctx: Ctx, session: &Rc<RefCell<Session>>, changed: bool) {
    let mut guard = session.borrow_mut();
    let s = &mut *guard;
    if changed {
        // Patched where the change landed: a whole state of a 100,000-graft run took
        // longer than the 100 ms a graft may take to appear.
        ctx.state.update(|state| s.run.update_state(state));
        refresh_history(ctx, session, s);
        ctx.fork_of.set(s.run.fork_of().map(|f| f.run));
    }
    let status = s.client.status(&mut s.run);
    ctx.pending.set(status.unacknowledged);
    if status.joined {
        ctx.net.set(if status.synced {
            Net::Online
        } else {
            Net::Syncing
        });
    }
}

/// Brings `ctx.history` (newest first) up to the run's heads after the next paint, so a
/// change is on the screen first: reading the history of a run that just arrived whole
/// (100,000 entries) took longer than showing the run. The store's task reads it (one
/// task after the paint for both: a task of its own cost the app 312 bytes gzip).
fn refresh_history(ctx: Ctx, session: &Rc<RefCell<Session>>, s: &mut Session) {
    if !s.history_due {
        s.history_due = true;
        spawn_local(persist(ctx, session.clone()));
    }
}

/// If due, adds the entries that follow those `ctx.history` shows (a local edit, say),
/// else reads the whole history again.
fn read_history(ctx: Ctx, s: &mut Session) {
    if !s.history_due || s.closed {
        return;
    }
    s.history_due = false;
    // Nothing read yet (a run just opened): the whole history.
    let new = if s.history_at.is_empty() {
        None
    } else {
        s.run.history_after(&s.history_at)
    };
    match new {
        Some(new) if new.is_empty() => {}
        Some(new) => ctx.history.update(|history| {
            history.splice(0..0, new.into_iter().rev());
        }),
        None => {
            let mut history = s.run.history();
            history.reverse();
            ctx.history.set(history);
        }
    }
    s.history_at = s.run.heads();
}

/// Resolves once the browser has had a chance to paint (the next animation frame, then
/// a task after it), or after 50 ms: a hidden tab has no animation frames, and its saves
/// (and the frames that wait for them) must not wait for it to be shown.
pub(super) async fn after_paint() {
    let (done, painted) = futures::channel::oneshot::channel::<()>();
    let frame = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = done.send(());
    });
    use wasm_bindgen::JsCast;
    if window()
        .request_animation_frame(frame.unchecked_ref())
        .is_ok()
    {
        let _ = futures::future::select(painted, TimeoutFuture::new(50)).await;
    }
    TimeoutFuture::new(0).await;
}

/// After the next paint, brings the history up to date if it is due and stores the run
/// in IndexedDB if a write is due (the client machine asks for one; asked again, it
/// answers that none is); frames wait while a write is in flight. The edit is shown
/// first: saving a large run takes longer than a frame.
pub(super) async fn persist(ctx: Ctx, session: Rc<RefCell<Session>>) {
    after_paint().await;
    let request = {
        let mut guard = session.borrow_mut();
        let s = &mut *guard;
        read_history(ctx, s);
        s.client.take_store(&mut s.run)
    };
    let Some(request) = request else {
        return; // one is in flight already, or the store holds everything
    };
    let run_id = session.borrow().run.run_id();
    let acknowledged = request
        .acknowledged
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>();
    let title = ctx
        .state
        .with_untracked(|st| st.as_ref().map(|st| st.title.clone()))
        .unwrap_or_default();
    let result = match ctx.db().await {
        Ok(db) => store::save(&db, run_id, &title, &request.bytes, &acknowledged).await,
        Err(e) => Err(e),
    };
    let input = match result {
        Ok(()) => {
            ctx.reload_runs(); // the list shows the run as stored
            ClientInput::Stored(request.id)
        }
        Err(e) => ClientInput::StoreFailed(request.id, e),
    };
    let effects = session.borrow_mut().handle(input);
    perform(ctx, &session, effects);
}
