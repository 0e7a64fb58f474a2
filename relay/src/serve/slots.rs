//! The connection cap: `--max-connections` slots for connections served in full, and a
//! few more ([`PROBE_SLOTS`]) where only health probes are answered, so that a relay
//! whose slots are all taken (by slow clients, say) still tells its orchestrator it is
//! alive. When the probes' room is full too, its oldest connection is closed to make
//! room for the new one: a probe sends its request at once and is answered in well under
//! a millisecond, so what is closed is almost always a client that sat on its slot, and
//! an attacker cannot keep the room full without outpacing every probe. Connections
//! served in full are never closed for newcomers; the header and body deadlines free the
//! slots slow clients hold.
//!
//! A slot is held by the socket itself ([`Held`]): a WebSocket, which leaves the HTTP
//! server when it upgrades, keeps its slot until it closes.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// Connections over the cap that are still read, for a health probe each.
pub const PROBE_SLOTS: usize = 32;

/// A new connection's slot.
#[derive(Debug)]
pub enum Slot {
    /// Served in full; the permit is held, never read: dropping it frees the slot.
    Served(#[expect(dead_code, reason = "held for its drop")] OwnedSemaphorePermit),
    /// Over the cap: one request, answered only if it is a health probe.
    Probe(ProbeSlot),
}

/// A place in the probes' room; fires [`ProbeSlot::evicted`] when a newer connection
/// needs it, and frees it when dropped.
#[derive(Debug)]
pub struct ProbeSlot {
    evicted: CancellationToken,
}

impl ProbeSlot {
    /// Cancelled when this connection must make room (or has ended).
    pub fn evicted(&self) -> CancellationToken {
        self.evicted.clone()
    }
}

impl Drop for ProbeSlot {
    fn drop(&mut self) {
        // Marks the place free; the room forgets it at its next admission.
        self.evicted.cancel();
    }
}

/// The relay's connection slots.
#[derive(Debug)]
pub struct Slots {
    served: Arc<Semaphore>,
    /// The probes' room, oldest first.
    probes: Mutex<VecDeque<CancellationToken>>,
    max: usize,
    /// Whether the last connection found the cap reached: said once per episode in the
    /// log, not once per connection (a flood would flood the log too).
    full: AtomicBool,
}

impl Slots {
    /// `max` connections served in full, plus [`PROBE_SLOTS`].
    pub fn new(max: usize) -> Self {
        Self {
            served: Arc::new(Semaphore::new(max)),
            probes: Mutex::new(VecDeque::with_capacity(PROBE_SLOTS)),
            max,
            full: AtomicBool::new(false),
        }
    }

    /// A slot for a new connection: a full one if any is free, else a place in the
    /// probes' room (closing its oldest connection if the room is full).
    pub fn admit(&self) -> Slot {
        if let Ok(slot) = self.served.clone().try_acquire_owned() {
            if self.full.swap(false, Ordering::Relaxed) {
                tracing::info!(
                    max = self.max,
                    "connections are below --max-connections again"
                );
            }
            return Slot::Served(slot);
        }
        if !self.full.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                max = self.max,
                "serving --max-connections connections: new ones get health probes only"
            );
        }
        let evicted = CancellationToken::new();
        let mut room = self.probes.lock().unwrap_or_else(|e| e.into_inner());
        room.retain(|place| !place.is_cancelled());
        if room.len() >= PROBE_SLOTS
            && let Some(oldest) = room.pop_front()
        {
            oldest.cancel();
        }
        room.push_back(evicted.clone());
        Slot::Probe(ProbeSlot { evicted })
    }
}

/// A socket and the slot it holds until it is dropped.
#[derive(Debug)]
pub struct Held<I> {
    io: I,
    _slot: Slot,
}

impl<I> Held<I> {
    /// `io`, holding `slot`.
    pub fn new(io: I, slot: Slot) -> Self {
        Self { io, _slot: slot }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Held<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Held<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_cap_come_probes_then_the_oldest_probe_makes_room() {
        let slots = Slots::new(2);
        let served: Vec<_> = (0..2).map(|_| slots.admit()).collect();
        assert!(served.iter().all(|s| matches!(s, Slot::Served(_))));
        let probes: Vec<ProbeSlot> = (0..PROBE_SLOTS)
            .map(|_| match slots.admit() {
                Slot::Probe(probe) => probe,
                Slot::Served(_) => panic!("over the cap"),
            })
            .collect();
        assert!(probes.iter().all(|p| !p.evicted().is_cancelled()));
        let Slot::Probe(newest) = slots.admit() else {
            panic!("over the cap")
        };
        assert!(probes[0].evicted().is_cancelled(), "the oldest made room");
        assert!(probes[1..].iter().all(|p| !p.evicted().is_cancelled()));
        // A probe that ended frees its place: the next one evicts nobody.
        drop(probes.into_iter().nth(5));
        let _next = slots.admit();
        assert!(!newest.evicted().is_cancelled());
        drop(served);
        assert!(matches!(slots.admit(), Slot::Served(_)));
    }
}
