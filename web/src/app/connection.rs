//! The socket to the relay's `/ws` (same origin), driven by the session's `ClientSync`:
//! reconnects with backoff, closes when the browser goes offline and comes back when it is
//! online again; and the presence announcements that ride on it.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::mpsc::unbounded;
use futures::{FutureExt, SinkExt, StreamExt, pin_mut, select};
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::app::session::{self, Session};
use crate::app::{Ctx, Net, identity};
use crate::backoff;
use crate::presence::{ANNOUNCE_MS, Announce};

fn online() -> bool {
    window().navigator().on_line()
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

/// Closes the open run's socket when the browser says it went offline (a socket can
/// otherwise linger half-open for minutes).
pub fn watch_browser(ctx: Ctx) {
    let on_offline = Closure::<dyn Fn()>::new(move || {
        if let Some(session) = ctx.session()
            && let Some(kick) = session.borrow_mut().kick.take()
        {
            let _ = kick.unbounded_send(());
        }
        ctx.net.set(Net::Offline);
    });
    let _ =
        window().add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
    on_offline.forget();
    let on_popstate = Closure::<dyn Fn()>::new(move || {
        let path = window().location().pathname().unwrap_or_default();
        ctx.route.set(crate::route::Route::from_path(&path));
    });
    let _ =
        window().add_event_listener_with_callback("popstate", on_popstate.as_ref().unchecked_ref());
    on_popstate.forget();
}

/// Keeps the session connected until it is closed.
pub fn spawn(ctx: Ctx, session: Rc<RefCell<Session>>) {
    spawn_local(async move {
        let mut attempt = 0;
        loop {
            if session.borrow().closed {
                return;
            }
            if !online() {
                ctx.net.set(Net::Offline);
                TimeoutFuture::new(250).await;
                continue;
            }
            ctx.net.set(Net::Connecting);
            if connect_once(ctx, &session).await {
                attempt = 0;
            }
            if session.borrow().closed {
                return;
            }
            ctx.net.set(Net::Offline);
            let delay = backoff::delay_ms(attempt, js_sys::Math::random());
            attempt += 1;
            TimeoutFuture::new(delay as u32).await;
        }
    });
}

/// One socket's life. Returns whether the handshake completed (resets the backoff).
async fn connect_once(ctx: Ctx, session: &Rc<RefCell<Session>>) -> bool {
    let Ok(socket) = WebSocket::open(&relay_url()) else {
        return false;
    };
    let (mut write, mut read) = socket.split();
    let (out_tx, mut out_rx) = unbounded::<Vec<u8>>();
    let (kick_tx, mut kick_rx) = unbounded::<()>();
    {
        let mut s = session.borrow_mut();
        let join = s.sync.open();
        let _ = out_tx.unbounded_send(join);
        s.outbox = Some(out_tx);
        s.kick = Some(kick_tx);
    }
    let mut joined = false;
    let writer = async move {
        while let Some(frame) = out_rx.next().await {
            if write.send(Message::Bytes(frame)).await.is_err() {
                break;
            }
        }
        let _ = write.close().await;
    }
    .fuse();
    let reader = async {
        while let Some(message) = read.next().await {
            match message {
                Ok(Message::Bytes(frame)) => joined |= on_frame(ctx, session, &frame),
                Ok(Message::Text(_)) => {}
                Err(_) => break,
            }
        }
    }
    .fuse();
    let kicked = kick_rx.next().fuse();
    pin_mut!(writer, reader, kicked);
    select! {
        _ = writer => {},
        _ = reader => {},
        _ = kicked => {},
    }
    let mut s = session.borrow_mut();
    s.outbox = None;
    s.kick = None;
    s.sync.close();
    joined
}

/// Handles a frame from the relay; true once joined.
fn on_frame(ctx: Ctx, session: &Rc<RefCell<Session>>, frame: &[u8]) -> bool {
    let result = {
        let mut guard = session.borrow_mut();
        let s = &mut *guard;
        s.sync.receive(&mut s.run, frame)
    };
    let received = match result {
        Ok(received) => received,
        Err(e) => {
            ctx.error.set(Some(e.to_string()));
            if let Some(kick) = session.borrow_mut().kick.take() {
                let _ = kick.unbounded_send(());
            }
            return false;
        }
    };
    session.borrow_mut().send(received.frames);
    if received.joined {
        session.borrow_mut().announce();
    }
    if !received.ephemeral.is_empty() {
        let now = js_sys::Date::now();
        let mut s = session.borrow_mut();
        for (peer, data) in &received.ephemeral {
            if let Ok(who) = ciborium::from_reader::<Announce, _>(data.as_slice()) {
                s.presence.heard(peer.as_str(), who, now);
            }
        }
        ctx.people.set(s.presence.list());
    }
    if received.unavailable {
        ctx.error.set(Some(
            "This run is not on the relay (nor on any relay it knows). Check the link, or create it again."
                .to_owned(),
        ));
    }
    session::refresh(ctx, session, received.changed);
    if received.changed {
        let ctx2 = ctx;
        let session = session.clone();
        spawn_local(async move {
            session::persist(ctx2, &session).await;
            ctx2.reload_runs();
        });
    }
    session.borrow().sync.is_joined()
}

/// Announces this tab on the run every few seconds, and forgets peers gone quiet.
pub fn spawn_presence(ctx: Ctx, session: Rc<RefCell<Session>>) {
    spawn_local(async move {
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
    });
}
