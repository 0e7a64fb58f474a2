//! Every Automerge call runmesh-core makes, exported so that none is optimised away, and
//! nothing else: the part of the npm package's wasm that is Automerge's.

use automerge::sync::{self, SyncDoc};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, AutoCommit, Change, ChangeHash, LoadOptions, ObjType, OnPartialLoad, PatchAction,
    ROOT, ReadDoc,
};
use wasm_bindgen::prelude::*;

type Result<T> = std::result::Result<T, String>;

fn text(e: impl ToString) -> String {
    e.to_string()
}

/// A document and one peer's sync state.
#[wasm_bindgen]
pub struct Doc {
    doc: AutoCommit,
    peer: sync::State,
}

#[wasm_bindgen]
impl Doc {
    /// A document with the containers a run has.
    pub fn create(actor: &[u8]) -> Result<Doc> {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(actor));
        let grafts = doc.put_object(ROOT, "grafts", ObjType::Map).map_err(text)?;
        doc.put_object(&grafts, "00", ObjType::Map).map_err(text)?;
        let steps = doc.put_object(ROOT, "steps", ObjType::List).map_err(text)?;
        let step = doc.insert_object(&steps, 0, ObjType::Map).map_err(text)?;
        doc.put(&step, "id", "s1").map_err(text)?;
        doc.put_object(ROOT, "flags", ObjType::Map).map_err(text)?;
        doc.commit_with(
            CommitOptions::default()
                .with_message("genesis")
                .with_time(0),
        );
        Ok(Doc {
            doc,
            peer: sync::State::new(),
        })
    }

    pub fn load(bytes: &[u8]) -> Result<Doc> {
        let options = LoadOptions::new().on_partial_load(OnPartialLoad::Error);
        let doc = AutoCommit::load_with_options(bytes, options).map_err(text)?;
        Ok(Doc {
            doc,
            peer: sync::State::new(),
        })
    }

    pub fn set_actor(&mut self, actor: &[u8]) {
        self.doc.set_actor(ActorId::from(actor));
    }

    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<usize> {
        self.doc.load_incremental(bytes).map_err(text)
    }

    pub fn apply_change(&mut self, bytes: &[u8]) -> Result<()> {
        let change = Change::from_bytes(bytes.to_vec()).map_err(text)?;
        self.doc.apply_changes([change]).map_err(text)
    }

    /// Puts `value` under `key` in `map`, or deletes the key when `value` is empty.
    pub fn put(&mut self, map: &str, key: &str, value: &str, at: i64) -> Result<()> {
        let (_, obj) = self.doc.get(ROOT, map).map_err(text)?.ok_or("no map")?;
        if value.is_empty() {
            self.doc.delete(&obj, key).map_err(text)?;
        } else {
            self.doc.put(&obj, key, value).map_err(text)?;
        }
        self.doc
            .commit_with(CommitOptions::default().with_message(key).with_time(at));
        Ok(())
    }

    /// Reads what the view reads: map entries, conflicts, keys, lengths and the steps.
    pub fn read(&self, map: &str) -> usize {
        let Ok(Some((_, obj))) = self.doc.get(ROOT, map) else {
            return 0;
        };
        let mut n = self.doc.length(&obj);
        for item in self.doc.map_range(&obj, ..) {
            let value: automerge::Value<'_> = item.value.into();
            n += item.key.len() + value.to_string().len();
        }
        for key in self.doc.keys(&obj) {
            for (value, _) in self.doc.get_all(&obj, key).unwrap_or_default() {
                n += value.to_string().len();
            }
        }
        if let Ok(Some((_, steps))) = self.doc.get(ROOT, "steps") {
            n += self.doc.list_range(&steps, ..).count();
        }
        n
    }

    /// Reads the patches since the last call as the view does: the key each names, and
    /// the value a put carries.
    pub fn patches(&mut self) -> usize {
        let patches = self.doc.diff_incremental();
        self.doc.update_diff_cursor();
        let mut n = 0;
        for patch in patches {
            n += patch.path.len();
            n += match patch.action {
                PatchAction::PutMap { key, value, .. } => key.len() + value.0.to_string().len(),
                PatchAction::DeleteMap { key } => key.len(),
                PatchAction::Conflict { prop } => prop.to_string().len(),
                _ => 0,
            };
        }
        n
    }

    /// The history as the view lists it: each change's actor, time and message.
    pub fn history(&mut self) -> usize {
        let mut n = 0;
        let mut hashes = Vec::new();
        for meta in self.doc.get_changes_meta(&[]) {
            n += meta.actor.to_bytes().len() + meta.message.map_or(0, |m| m.len());
            hashes.push(meta.hash);
        }
        for hash in hashes {
            if let Some(again) = self.doc.get_change_meta_by_hash(&hash) {
                n += again.deps.len();
            }
        }
        n + self.doc.get_changes(&[]).len()
    }

    pub fn change(&mut self, hash: &[u8]) -> Result<Vec<u8>> {
        let hash = ChangeHash::try_from(hash).map_err(text)?;
        let change = self.doc.get_change_by_hash(&hash).ok_or("no such change")?;
        Ok(change.raw_bytes().to_vec())
    }

    pub fn last_local_change(&mut self) -> Option<Vec<u8>> {
        self.doc
            .get_last_local_change()
            .map(|c| c.raw_bytes().to_vec())
    }

    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    pub fn merge(&mut self, other: &mut Doc) -> Result<usize> {
        self.doc
            .merge(&mut other.doc)
            .map(|h| h.len())
            .map_err(text)
    }

    pub fn heads(&mut self) -> Vec<u8> {
        self.doc.get_heads().iter().flat_map(|h| h.0).collect()
    }

    pub fn sync_out(&mut self) -> Option<Vec<u8>> {
        let message = self.doc.sync().generate_sync_message(&mut self.peer)?;
        Some(message.encode())
    }

    pub fn sync_in(&mut self, bytes: &[u8]) -> Result<()> {
        let message = sync::Message::decode(bytes).map_err(text)?;
        self.doc
            .sync()
            .receive_sync_message(&mut self.peer, message)
            .map_err(text)
    }
}
