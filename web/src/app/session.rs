//! The open run: its document, its sync with the relay over a [`Connection`], who else is
//! on it. The rules (every change stored in IndexedDB before anything goes to the relay)
//! are the core's client machine, [`ClientRun`]; this file performs its effects.

use std::cell::RefCell;
use std::rc::Rc;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use runmesh_core::client::{ClientEffect, ClientInput, ClientRun};
use runmesh_core::sync::PeerId;
use runmesh_core::{ChangeHash, Identity, RunDoc, RunError, RunId};

use crate::app::connection::{Connection, Event, Outbox};
use crate::app::context::{Ctx, Net};
use crate::app::{identity, store};
use crate::presence::{ANNOUNCE_MS, Announce, PresenceBook};
use crate::route::Route;

/// One open run.
pub struct Session {
    run: RunDoc,
    client: ClientRun,
    presence: PresenceBook,
    connection: Connection,
    /// The current socket's outbox, while one is open.
    outbox: Option<Outbox>,
    /// The user left the run: its loops stop.
    closed: bool,
    /// The heads `ctx.history` was read at.
    history_at: Vec<ChangeHash>,
}

impl Session {
    fn handle(&mut self, input: ClientInput<'_>) -> Vec<ClientEffect> {
        self.client.handle(&mut self.run, input)
    }

    /// Tells the others on the run who this tab is (an ephemeral message); nothing while
    /// not joined.
    fn announce(&mut self) {
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

/// Reads the connection's events until the run is closed.
async fn follow(ctx: Ctx, session: Rc<RefCell<Session>>, mut events: UnboundedReceiver<Event>) {
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
fn perform(ctx: Ctx, session: &Rc<RefCell<Session>>, effects: Vec<ClientEffect>) {
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
async fn retry_store(ctx: Ctx, session: Rc<RefCell<Session>>) {
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
async fn keep_announcing(ctx: Ctx, session: Rc<RefCell<Session>>) {
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
fn refresh(ctx: Ctx, session: &Rc<RefCell<Session>>, changed: bool) {
    let mut guard = session.borrow_mut();
    let s = &mut *guard;
    if changed {
        ctx.state.set(Some(s.run.state()));
        refresh_history(ctx, s);
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

/// Brings `ctx.history` (newest first) up to the run's heads: only the new entries when
/// they follow those it shows (a local edit, say), else the whole history read again.
fn refresh_history(ctx: Ctx, s: &mut Session) {
    let heads = s.run.heads();
    match s.run.history_after(&s.history_at) {
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
    s.history_at = heads;
}

/// Resolves once the browser has had a chance to paint (the next animation frame, then
/// a task after it), or after 50 ms: a hidden tab has no animation frames, and its saves
/// (and the frames that wait for them) must not wait for it to be shown.
async fn after_paint() {
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

/// Stores the run in IndexedDB (the write the client machine asked for); frames wait
/// while it is in flight. The edit is shown first: saving a large run takes longer than
/// a frame.
async fn persist(ctx: Ctx, session: Rc<RefCell<Session>>) {
    after_paint().await;
    let request = {
        let mut guard = session.borrow_mut();
        let s = &mut *guard;
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
