//! Frames and bytes through the relay's sockets, per kind of peer (`client`, `mesh`) and
//! direction (`in`, `out`): four series of each, whatever the traffic. With them an
//! operator sees who the relay is sending to and how much, and whether it is waiting on
//! its peers or working. Beside them, per region, the sync messages the runs generated
//! for their peers and the incoming ones coalesced into a batch with others (answered
//! by the batch's one persist and one message a peer): on a busy run the two tell how
//! much fan-out the batching saved.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::metrics::{Metrics, Region};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Flow {
    region: String,
    /// `client` or `mesh`.
    peer: &'static str,
    /// `in` or `out`.
    direction: &'static str,
}

/// The families, registered once.
#[derive(Debug)]
pub(crate) struct Traffic {
    frames: Family<Flow, Counter>,
    bytes: Family<Flow, Counter>,
    generated: Family<Region, Counter>,
    coalesced: Family<Region, Counter>,
}

impl Traffic {
    pub(crate) fn register(registry: &mut Registry, region: &Region) -> Self {
        let traffic = Self {
            frames: Family::default(),
            bytes: Family::default(),
            generated: Family::default(),
            coalesced: Family::default(),
        };
        registry.register(
            "runmesh_ws_frames",
            "WebSocket frames, by kind of peer (client, mesh) and direction (in, out)",
            traffic.frames.clone(),
        );
        registry.register(
            "runmesh_ws_frame_bytes",
            "Bytes of WebSocket frames, by kind of peer (client, mesh) and direction (in, out)",
            traffic.bytes.clone(),
        );
        registry.register(
            "runmesh_sync_messages_generated",
            "Sync messages the runs generated for their peers (clients and relays)",
            traffic.generated.clone(),
        );
        registry.register(
            "runmesh_sync_messages_coalesced",
            "Sync messages received in a batch after another: answered with it, by one persist and one message a peer",
            traffic.coalesced.clone(),
        );
        let _ = traffic.generated.get_or_create(region);
        let _ = traffic.coalesced.get_or_create(region);
        for peer in ["client", "mesh"] {
            for direction in ["in", "out"] {
                let flow = Flow {
                    region: region.region.clone(),
                    peer,
                    direction,
                };
                let _ = traffic.frames.get_or_create(&flow);
                let _ = traffic.bytes.get_or_create(&flow);
            }
        }
        traffic
    }
}

/// The counters one socket's frames go to, in one direction.
#[derive(Clone, Debug)]
pub struct FrameCounter {
    frames: Counter,
    bytes: Counter,
}

impl FrameCounter {
    /// A frame of `len` bytes passed.
    pub fn count(&self, len: usize) {
        self.frames.inc();
        self.bytes.inc_by(len as u64);
    }
}

impl Metrics {
    /// A run generated a sync message for a peer.
    pub fn sync_generated(&self) {
        self.traffic.generated.get_or_create(&self.region).inc();
    }

    /// A run took `received` sync messages in one batch: all but the first were
    /// coalesced with it.
    pub fn sync_batch(&self, received: usize) {
        let coalesced = received.saturating_sub(1) as u64;
        if coalesced > 0 {
            self.traffic
                .coalesced
                .get_or_create(&self.region)
                .inc_by(coalesced);
        }
    }

    /// The counters of a socket to a peer (`mesh`: another relay): frames in, frames out.
    pub fn frame_counters(&self, mesh: bool) -> (FrameCounter, FrameCounter) {
        let peer = if mesh { "mesh" } else { "client" };
        let counter = |direction| {
            let flow = Flow {
                region: self.region.region.clone(),
                peer,
                direction,
            };
            FrameCounter {
                frames: self.traffic.frames.get_or_create(&flow).clone(),
                bytes: self.traffic.bytes.get_or_create(&flow).clone(),
            }
        };
        (counter("in"), counter("out"))
    }
}

#[cfg(test)]
mod tests {
    use crate::metrics::{LamportSeries, Metrics};

    #[test]
    fn sync_messages_in_one_batch_after_the_first_are_coalesced() {
        let m = Metrics::new("eu", LamportSeries::Highest);
        let coalesced = |m: &Metrics| {
            let text = m.render();
            let series = "runmesh_sync_messages_coalesced_total{region=\"eu\"} ";
            text.lines()
                .find_map(|l| l.strip_prefix(series)?.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        };
        assert_eq!(coalesced(&m), 0);
        for received in [0, 1, 5, 2] {
            m.sync_batch(received);
        }
        assert_eq!(coalesced(&m), 4 + 1);
        m.sync_generated();
        assert!(
            m.render()
                .contains("runmesh_sync_messages_generated_total{region=\"eu\"} 1")
        );
    }
}
