//! `WasmClient`: [`ClientRun`], the client machine, for JavaScript. The package's
//! `connect()` performs its effects over a WebSocket and an optional local store.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::client::{ClientEffect, ClientInput, ClientRun, StoreId};
use crate::sync::PeerId;
use crate::wasm::run_doc::WasmRunDoc;

/// The client side of one run's sync with one relay.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmClient {
    inner: ClientRun,
}

#[wasm_bindgen]
impl WasmClient {
    /// Sync for the run `doc` holds, with no local store: frames go out at once.
    #[wasm_bindgen(constructor)]
    pub fn new(doc: &mut WasmRunDoc) -> WasmClient {
        let me = PeerId::random("runmesh-js");
        Self {
            inner: ClientRun::without_store(&mut doc.inner, me),
        }
    }

    /// Sync for the run `doc` holds, kept in a local store the caller performs.
    /// `stored`: the store holds `doc` as it is (it was loaded from there);
    /// `acknowledged`: the heads the relay last acknowledged, as stored with it.
    #[wasm_bindgen(js_name = withStore)]
    pub fn with_store(
        doc: &mut WasmRunDoc,
        stored: bool,
        acknowledged: Vec<String>,
    ) -> Result<WasmClient, JsError> {
        let acknowledged = acknowledged
            .iter()
            .map(|h| {
                h.parse().map_err(|_| {
                    JsError::new(&format!("acknowledged head {h:?} is not a change hash"))
                })
            })
            .collect::<Result<_, _>>()?;
        let me = PeerId::random("runmesh-js");
        Ok(Self {
            inner: ClientRun::new(&mut doc.inner, stored, acknowledged, me),
        })
    }

    /// This client's peer id.
    #[wasm_bindgen(js_name = peerId)]
    pub fn peer_id(&self) -> String {
        self.inner.peer_id().to_string()
    }

    /// A new socket opened.
    pub fn open(&mut self, doc: &mut WasmRunDoc) -> Array {
        effects(self.inner.handle(&mut doc.inner, ClientInput::Opened))
    }

    /// The socket closed.
    pub fn close(&mut self, doc: &mut WasmRunDoc) -> Array {
        effects(self.inner.handle(&mut doc.inner, ClientInput::Closed))
    }

    /// A frame from the relay.
    pub fn receive(&mut self, doc: &mut WasmRunDoc, frame: &[u8]) -> Array {
        effects(self.inner.handle(&mut doc.inner, ClientInput::Frame(frame)))
    }

    /// The local store holds write `id`.
    pub fn stored(&mut self, doc: &mut WasmRunDoc, id: f64) -> Array {
        effects(
            self.inner
                .handle(&mut doc.inner, ClientInput::Stored(StoreId(id as u64))),
        )
    }

    /// Write `id` failed.
    #[wasm_bindgen(js_name = storeFailed)]
    pub fn store_failed(&mut self, doc: &mut WasmRunDoc, id: f64, why: String) -> Array {
        let input = ClientInput::StoreFailed(StoreId(id as u64), why);
        effects(self.inner.handle(&mut doc.inner, input))
    }

    /// The document was edited here.
    #[wasm_bindgen(js_name = localChange)]
    pub fn local_change(&mut self, doc: &mut WasmRunDoc) -> Array {
        effects(self.inner.local_change(&mut doc.inner))
    }

    /// Tries the failed write again.
    #[wasm_bindgen(js_name = retryStore)]
    pub fn retry_store(&mut self, doc: &mut WasmRunDoc) -> Array {
        effects(self.inner.retry_store(&mut doc.inner))
    }

    /// The write to perform now: `{id, bytes, acknowledged}`, or undefined.
    #[wasm_bindgen(js_name = takeStore)]
    pub fn take_store(&mut self, doc: &mut WasmRunDoc) -> JsValue {
        let Some(request) = self.inner.take_store(&mut doc.inner) else {
            return JsValue::UNDEFINED;
        };
        let acknowledged: Array = request
            .acknowledged
            .iter()
            .map(|h| JsValue::from(h.to_string()))
            .collect();
        object(&[
            ("id", (request.id.0 as f64).into()),
            ("bytes", Uint8Array::from(request.bytes.as_slice()).into()),
            ("acknowledged", acknowledged.into()),
        ])
    }

    /// An ephemeral frame carrying `json` (any JSON value) as CBOR; undefined while not
    /// joined.
    #[wasm_bindgen(js_name = ephemeralJson)]
    pub fn ephemeral_json(&mut self, json: &str) -> Result<Option<Vec<u8>>, JsError> {
        self.inner
            .ephemeral_json(json)
            .map_err(|why| JsError::new(&why))
    }

    /// `{joined, stored, unacknowledged, synced}`.
    pub fn status(&mut self, doc: &mut WasmRunDoc) -> JsValue {
        let s = self.inner.status(&mut doc.inner);
        object(&[
            ("joined", s.joined.into()),
            ("stored", s.stored.into()),
            ("unacknowledged", (s.unacknowledged as f64).into()),
            ("synced", s.synced.into()),
        ])
    }
}

fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let out = Object::new();
    for (key, value) in fields {
        Reflect::set(&out, &(*key).into(), value).expect("setting a property on a plain object");
    }
    out.into()
}

/// Effects as `{kind, …}` objects: `send {frame}`, `storeDue`, `changed {local}`,
/// `joined`, `unavailable`, `ephemeral {peer, json}`, `drop {why}`, `storeFailed {why}`.
fn effects(effects: Vec<ClientEffect>) -> Array {
    effects
        .into_iter()
        .map(|effect| {
            let kind = |k: &str| ("kind", JsValue::from(k));
            match effect {
                ClientEffect::Send(frame) => object(&[
                    kind("send"),
                    ("frame", Uint8Array::from(frame.as_slice()).into()),
                ]),
                ClientEffect::StoreDue => object(&[kind("storeDue")]),
                ClientEffect::Changed { local } => {
                    object(&[kind("changed"), ("local", local.into())])
                }
                ClientEffect::Joined => object(&[kind("joined")]),
                ClientEffect::Unavailable => object(&[kind("unavailable")]),
                ClientEffect::Ephemeral { peer, data } => {
                    let json = ciborium::from_reader::<serde_json::Value, _>(data.as_slice())
                        .map(|v| v.to_string())
                        .unwrap_or_else(|_| "null".into());
                    object(&[
                        kind("ephemeral"),
                        ("peer", peer.as_str().into()),
                        ("json", json.into()),
                    ])
                }
                ClientEffect::Drop(why) => object(&[kind("drop"), ("why", why.into())]),
                ClientEffect::StoreFailed(why) => {
                    object(&[kind("storeFailed"), ("why", why.into())])
                }
            }
        })
        .collect()
}
