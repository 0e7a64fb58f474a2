//! The connection cap: `--max-connections` slots for connections served in full, and a
//! few more ([`PROBE_SLOTS`]) where only health probes are answered, so that a relay
//! whose slots are all taken (by slow clients, say) still tells its orchestrator it is
//! alive. Past both, a new connection is closed at once: refusing the newest keeps the
//! clients already served, and the header and body deadlines free slow clients' slots.
//!
//! A slot is held by the socket itself ([`Held`]): a WebSocket, which leaves the HTTP
//! server when it upgrades, keeps its slot until it closes.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections over the cap that are still read, for a health probe each.
pub const PROBE_SLOTS: usize = 32;

/// What a new connection gets.
#[derive(Debug)]
pub enum Admission {
    /// Served in full.
    Served(OwnedSemaphorePermit),
    /// Over the cap: one request, answered only if it is a health probe.
    ProbeOnly(OwnedSemaphorePermit),
    /// Over the cap and the probes' room: closed at once.
    Refused,
}

/// The relay's connection slots.
#[derive(Debug)]
pub struct Slots {
    served: Arc<Semaphore>,
    probes: Arc<Semaphore>,
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
            probes: Arc::new(Semaphore::new(PROBE_SLOTS)),
            max,
            full: AtomicBool::new(false),
        }
    }

    /// A slot for a new connection, if there is one.
    pub fn admit(&self) -> Admission {
        if let Ok(slot) = self.served.clone().try_acquire_owned() {
            if self.full.swap(false, Ordering::Relaxed) {
                tracing::info!(
                    max = self.max,
                    "connections are below --max-connections again"
                );
            }
            return Admission::Served(slot);
        }
        if !self.full.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                max = self.max,
                "serving --max-connections connections: new ones get health probes only, or are closed"
            );
        }
        match self.probes.clone().try_acquire_owned() {
            Ok(slot) => Admission::ProbeOnly(slot),
            Err(_) => Admission::Refused,
        }
    }
}

/// A socket and the slot it holds until it is dropped.
#[derive(Debug)]
pub struct Held<I> {
    io: I,
    _slot: OwnedSemaphorePermit,
}

impl<I> Held<I> {
    /// `io`, holding `slot`.
    pub fn new(io: I, slot: OwnedSemaphorePermit) -> Self {
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
    fn over_the_cap_come_probes_then_refusals_and_a_freed_slot_serves_again() {
        let slots = Slots::new(2);
        let served: Vec<_> = (0..2).map(|_| slots.admit()).collect();
        assert!(served.iter().all(|a| matches!(a, Admission::Served(_))));
        let probes: Vec<_> = (0..PROBE_SLOTS).map(|_| slots.admit()).collect();
        assert!(probes.iter().all(|a| matches!(a, Admission::ProbeOnly(_))));
        assert!(matches!(slots.admit(), Admission::Refused));
        drop(served);
        assert!(matches!(slots.admit(), Admission::Served(_)));
    }
}
