//! `WasmClient`: [`ClientSync`] for JavaScript; the package's `connect()` drives it
//! over a WebSocket.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::sync::{ClientSync, PeerId, Received};
use crate::wasm::run_doc::WasmRunDoc;

/// The client side of one run's sync with one relay.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmClient {
    inner: ClientSync,
}

#[wasm_bindgen]
impl WasmClient {
    /// Sync for the run `doc` holds.
    #[wasm_bindgen(constructor)]
    pub fn new(doc: &WasmRunDoc) -> WasmClient {
        Self {
            inner: ClientSync::new(doc.inner.run_id(), PeerId::random("runmesh-js")),
        }
    }

    /// This client's peer id.
    #[wasm_bindgen(js_name = peerId)]
    pub fn peer_id(&self) -> String {
        self.inner.peer_id().to_string()
    }

    /// A new socket opened: the `join` frame to send.
    pub fn open(&mut self) -> Vec<u8> {
        self.inner.open()
    }

    /// The socket closed.
    pub fn close(&mut self) {
        self.inner.close()
    }

    /// Whether the handshake on the current socket completed.
    #[wasm_bindgen(js_name = isJoined)]
    pub fn is_joined(&self) -> bool {
        self.inner.is_joined()
    }

    /// Handles a frame from the relay: `{frames, changed, joined, unavailable,
    /// ephemeral: [{peer, data}]}`; throws on a refusal or garbage.
    pub fn receive(&mut self, doc: &mut WasmRunDoc, frame: &[u8]) -> Result<JsValue, JsError> {
        let received = self.inner.receive(&mut doc.inner, frame)?;
        Ok(to_js(received))
    }

    /// The frames that carry local changes to the relay.
    #[wasm_bindgen(js_name = localChange)]
    pub fn local_change(&mut self, doc: &mut WasmRunDoc) -> Array {
        frames(self.inner.local_change(&mut doc.inner))
    }

    /// An ephemeral frame carrying `json` (any JSON value) as CBOR; undefined while not
    /// joined.
    #[wasm_bindgen(js_name = ephemeralJson)]
    pub fn ephemeral_json(&mut self, json: &str) -> Result<Option<Vec<u8>>, JsError> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| JsError::new(&format!("ephemeral data is not JSON: {e}")))?;
        let mut cbor = Vec::new();
        ciborium::into_writer(&value, &mut cbor).expect("JSON values encode as CBOR");
        Ok(self.inner.ephemeral(cbor))
    }

    /// Whether this replica and the relay hold the same changes.
    #[wasm_bindgen(js_name = inSync)]
    pub fn in_sync(&self, doc: &mut WasmRunDoc) -> bool {
        self.inner.in_sync(&mut doc.inner)
    }

    /// How many changes the relay has not acknowledged yet.
    pub fn unacknowledged(&self, doc: &mut WasmRunDoc) -> usize {
        self.inner.unacknowledged(&mut doc.inner)
    }
}

fn frames(frames: Vec<Vec<u8>>) -> Array {
    frames
        .iter()
        .map(|f| JsValue::from(Uint8Array::from(f.as_slice())))
        .collect()
}

fn to_js(received: Received) -> JsValue {
    let out = Object::new();
    let set = |key: &str, value: JsValue| {
        Reflect::set(&out, &key.into(), &value).expect("setting a property on a plain object");
    };
    set("frames", frames(received.frames).into());
    set("changed", received.changed.into());
    set("joined", received.joined.into());
    set("unavailable", received.unavailable.into());
    let ephemeral: Array = received
        .ephemeral
        .into_iter()
        .map(|(peer, data)| {
            let item = Object::new();
            let json = ciborium::from_reader::<serde_json::Value, _>(data.as_slice())
                .map(|v| v.to_string())
                .unwrap_or_else(|_| "null".into());
            Reflect::set(&item, &"peer".into(), &peer.as_str().into()).expect("plain object");
            Reflect::set(&item, &"json".into(), &json.into()).expect("plain object");
            JsValue::from(item)
        })
        .collect();
    set("ephemeral", ephemeral.into());
    out.into()
}
