//! [`Connection`]: the socket to the relay, as a stream of [`Event`]s. It dials, redials
//! with [`Backoff`] while the browser is online, and closes when the browser says it went
//! offline (a socket can otherwise linger half-open for minutes). It knows nothing of
//! what travels on it: the session reads the events and writes to the [`Outbox`].

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures::{FutureExt, SinkExt, StreamExt, pin_mut, select};
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::window;
use leptos::task::spawn_local;
use runmesh_core::Backoff;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// Reconnect waits: 250 ms doubling to 10 s, each half to all of its step.
const BACKOFF: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(10));

/// What happens to the socket.
#[derive(Debug)]
pub enum Event {
    /// Dialling the relay.
    Dialling,
    /// The socket is open; frames go out through the outbox.
    Open(Outbox),
    /// A binary frame from the relay.
    Frame(Vec<u8>),
    /// The socket closed (it redials).
    Closed,
    /// The browser is offline (it redials once it is back).
    Offline,
}

/// Frames to send on the open socket.
#[derive(Clone, Debug)]
pub struct Outbox(UnboundedSender<Vec<u8>>);

impl Outbox {
    pub fn send(&self, frame: Vec<u8>) {
        let _ = self.0.unbounded_send(frame);
    }
}

/// A redialling socket; dropping it does not stop it, [`Connection::stop`] does.
pub struct Connection {
    kick: Rc<RefCell<Option<UnboundedSender<()>>>>,
    stopped: Rc<Cell<bool>>,
    on_offline: Closure<dyn Fn()>,
}

impl Connection {
    /// Dials `url` now and whenever the socket closes, until stopped.
    pub fn spawn(url: String) -> (Self, UnboundedReceiver<Event>) {
        let (events, rx) = unbounded();
        let kick: Rc<RefCell<Option<UnboundedSender<()>>>> = Rc::default();
        let stopped = Rc::new(Cell::new(false));
        let on_offline = {
            let (kick, events) = (kick.clone(), events.clone());
            Closure::<dyn Fn()>::new(move || {
                if let Some(kick) = kick.borrow_mut().take() {
                    let _ = kick.unbounded_send(());
                }
                let _ = events.unbounded_send(Event::Offline);
            })
        };
        let _ = window()
            .add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
        spawn_local(redial(url, events, kick.clone(), stopped.clone()));
        let connection = Self {
            kick,
            stopped,
            on_offline,
        };
        (connection, rx)
    }

    /// Closes the current socket; it redials.
    pub fn kick(&self) {
        if let Some(kick) = self.kick.borrow_mut().take() {
            let _ = kick.unbounded_send(());
        }
    }

    /// Closes the socket for good.
    pub fn stop(&self) {
        self.stopped.set(true);
        self.kick();
        let _ = window().remove_event_listener_with_callback(
            "offline",
            self.on_offline.as_ref().unchecked_ref(),
        );
    }
}

fn online() -> bool {
    window().navigator().on_line()
}

async fn redial(
    url: String,
    events: UnboundedSender<Event>,
    kick: Rc<RefCell<Option<UnboundedSender<()>>>>,
    stopped: Rc<Cell<bool>>,
) {
    let mut failures = 0;
    while !stopped.get() {
        if !online() {
            let _ = events.unbounded_send(Event::Offline);
            TimeoutFuture::new(250).await;
            continue;
        }
        let _ = events.unbounded_send(Event::Dialling);
        let answered = once(&url, &events, &kick).await;
        if stopped.get() {
            return;
        }
        let _ = events.unbounded_send(Event::Closed);
        // A relay that answered and then went resets the waits; one that never answers
        // (down, or refusing) is dialled less and less often.
        failures = if answered { 1 } else { failures + 1 };
        let wait = BACKOFF.delay(failures, js_sys::Math::random());
        TimeoutFuture::new(wait.as_millis() as u32).await;
    }
}

/// One socket's life. Returns whether the relay sent anything on it.
async fn once(
    url: &str,
    events: &UnboundedSender<Event>,
    kick: &Rc<RefCell<Option<UnboundedSender<()>>>>,
) -> bool {
    let Ok(socket) = WebSocket::open(url) else {
        return false;
    };
    let (mut write, mut read) = socket.split();
    let (out_tx, mut out_rx) = unbounded::<Vec<u8>>();
    let (kick_tx, mut kick_rx) = unbounded::<()>();
    *kick.borrow_mut() = Some(kick_tx);
    let _ = events.unbounded_send(Event::Open(Outbox(out_tx)));
    let writer = async move {
        while let Some(frame) = out_rx.next().await {
            if write.send(Message::Bytes(frame)).await.is_err() {
                break;
            }
        }
        let _ = write.close().await;
    }
    .fuse();
    let answered = Cell::new(false);
    let reader = async {
        while let Some(message) = read.next().await {
            match message {
                Ok(Message::Bytes(frame)) => {
                    answered.set(true);
                    let _ = events.unbounded_send(Event::Frame(frame));
                }
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
    kick.borrow_mut().take();
    answered.get()
}
