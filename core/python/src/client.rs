//! `RawClient`: [`ClientRun`], the client machine, for Python. The package's asyncio
//! `Connection` (`runmesh/_connection.py`) performs its effects over a WebSocket and an
//! optional directory store; the rules (the protocol, stored before sent) stay here.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use runmesh_core::client::{ClientEffect, ClientInput, ClientRun, StoreId};
use runmesh_core::sync::PeerId;

use crate::error::refused;
use crate::run_doc::{RawRunDoc, parse_heads};

/// The client side of one run's sync with one relay.
#[pyclass(module = "runmesh._core")]
#[derive(Debug)]
pub struct RawClient {
    inner: ClientRun,
}

#[pymethods]
impl RawClient {
    /// Sync for the run `doc` holds, with no local store: frames go out at once.
    #[staticmethod]
    fn without_store(mut doc: PyRefMut<'_, RawRunDoc>) -> Self {
        let me = PeerId::random("runmesh-py");
        Self {
            inner: ClientRun::without_store(&mut doc.inner, me),
        }
    }

    /// Sync for the run `doc` holds, kept in a local store the caller performs.
    /// `stored`: the store holds `doc` as it is (it was loaded from there);
    /// `acknowledged`: the heads the relay last acknowledged, as stored with it.
    #[staticmethod]
    fn with_store(
        mut doc: PyRefMut<'_, RawRunDoc>,
        stored: bool,
        acknowledged: Vec<String>,
    ) -> PyResult<Self> {
        let acknowledged = parse_heads("acknowledged", &acknowledged)?;
        let me = PeerId::random("runmesh-py");
        Ok(Self {
            inner: ClientRun::new(&mut doc.inner, stored, acknowledged, me),
        })
    }

    /// This client's peer id.
    fn peer_id(&self) -> String {
        self.inner.peer_id().to_string()
    }

    /// A new socket opened.
    fn open<'py>(&mut self, py: Python<'py>, mut doc: PyRefMut<'_, RawRunDoc>) -> Effects<'py> {
        effects(py, self.inner.handle(&mut doc.inner, ClientInput::Opened))
    }

    /// The socket closed.
    fn close<'py>(&mut self, py: Python<'py>, mut doc: PyRefMut<'_, RawRunDoc>) -> Effects<'py> {
        effects(py, self.inner.handle(&mut doc.inner, ClientInput::Closed))
    }

    /// A frame from the relay.
    fn receive<'py>(
        &mut self,
        py: Python<'py>,
        mut doc: PyRefMut<'_, RawRunDoc>,
        frame: &[u8],
    ) -> Effects<'py> {
        let input = ClientInput::Frame(frame);
        effects(py, self.inner.handle(&mut doc.inner, input))
    }

    /// The local store holds write `id`.
    fn stored<'py>(
        &mut self,
        py: Python<'py>,
        mut doc: PyRefMut<'_, RawRunDoc>,
        id: u64,
    ) -> Effects<'py> {
        let input = ClientInput::Stored(StoreId(id));
        effects(py, self.inner.handle(&mut doc.inner, input))
    }

    /// Write `id` failed.
    fn store_failed<'py>(
        &mut self,
        py: Python<'py>,
        mut doc: PyRefMut<'_, RawRunDoc>,
        id: u64,
        why: String,
    ) -> Effects<'py> {
        let input = ClientInput::StoreFailed(StoreId(id), why);
        effects(py, self.inner.handle(&mut doc.inner, input))
    }

    /// The document was edited here.
    fn local_change<'py>(
        &mut self,
        py: Python<'py>,
        mut doc: PyRefMut<'_, RawRunDoc>,
    ) -> Effects<'py> {
        effects(py, self.inner.local_change(&mut doc.inner))
    }

    /// Tries the failed write again.
    fn retry_store<'py>(
        &mut self,
        py: Python<'py>,
        mut doc: PyRefMut<'_, RawRunDoc>,
    ) -> Effects<'py> {
        effects(py, self.inner.retry_store(&mut doc.inner))
    }

    /// The write to perform now, `(id, bytes, acknowledged)`, or None.
    fn take_store<'py>(
        &mut self,
        py: Python<'py>,
        mut doc: PyRefMut<'_, RawRunDoc>,
    ) -> Option<(u64, Bound<'py, PyBytes>, Vec<String>)> {
        let request = self.inner.take_store(&mut doc.inner)?;
        let acknowledged = request.acknowledged.iter().map(|h| h.to_string());
        Some((
            request.id.0,
            PyBytes::new(py, &request.bytes),
            acknowledged.collect(),
        ))
    }

    /// An ephemeral frame carrying `json` (any JSON value) as CBOR; None while not
    /// joined. Refuses data over the relay's limit, naming its size.
    fn ephemeral_json<'py>(
        &mut self,
        py: Python<'py>,
        json: &str,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let frame = self.inner.ephemeral_json(json).map_err(refused)?;
        Ok(frame.map(|frame| PyBytes::new(py, &frame)))
    }

    /// `(joined, stored, unacknowledged, synced)`.
    fn status(&mut self, mut doc: PyRefMut<'_, RawRunDoc>) -> (bool, bool, usize, bool) {
        let s = self.inner.status(&mut doc.inner);
        (s.joined, s.stored, s.unacknowledged, s.synced)
    }
}

/// Effects as `(kind, value)` tuples, in order: `("send", frame)`, `("storeDue", None)`,
/// `("changed", local)`, `("joined", None)`, `("unavailable", None)`,
/// `("ephemeral", (peer, json))`, `("drop", why)`, `("storeFailed", why)`.
type Effects<'py> = Vec<Bound<'py, PyTuple>>;

fn effects(py: Python<'_>, effects: Vec<ClientEffect>) -> Effects<'_> {
    let pair = |kind: &str, value| pair(py, kind, value);
    let none = || py.None().into_bound(py);
    effects
        .into_iter()
        .map(|effect| match effect {
            ClientEffect::Send(frame) => pair("send", PyBytes::new(py, &frame).into_any()),
            ClientEffect::StoreDue => pair("storeDue", none()),
            ClientEffect::Changed { local } => pair(
                "changed",
                local
                    .into_pyobject(py)
                    .expect("a bool")
                    .to_owned()
                    .into_any(),
            ),
            ClientEffect::Joined => pair("joined", none()),
            ClientEffect::Unavailable => pair("unavailable", none()),
            ClientEffect::Ephemeral { peer, data } => {
                let json = ciborium::from_reader::<serde_json::Value, _>(data.as_slice())
                    .map(|v| v.to_string())
                    .unwrap_or_else(|_| "null".into());
                let value = (peer.as_str(), json).into_pyobject(py).expect("a tuple");
                pair("ephemeral", value.into_any())
            }
            ClientEffect::Drop(why) => {
                pair("drop", why.into_pyobject(py).expect("a str").into_any())
            }
            ClientEffect::StoreFailed(why) => pair(
                "storeFailed",
                why.into_pyobject(py).expect("a str").into_any(),
            ),
        })
        .collect()
}

fn pair<'py>(py: Python<'py>, kind: &str, value: Bound<'py, PyAny>) -> Bound<'py, PyTuple> {
    let kind = kind.into_pyobject(py).expect("a str").into_any();
    PyTuple::new(py, [kind, value]).expect("a tuple of two")
}
