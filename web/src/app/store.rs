//! The local copy of every run opened, in IndexedDB (database `runmesh`, store `runs`,
//! keyed by run UUID): the saved document, its title for the list, and the heads the relay
//! last acknowledged (so the count of unsent changes survives a reload).

use js_sys::{Array, Object, Reflect, Uint8Array};
use rexie::{ObjectStore, Rexie, TransactionMode};
use runmesh_core::RunId;
use wasm_bindgen::JsValue;

const DB: &str = "runmesh";
const RUNS: &str = "runs";

/// A run as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSummary {
    pub run_id: String,
    pub title: String,
    /// When it was last saved here, ms since the epoch.
    pub updated: u64,
}

/// A run as stored.
#[derive(Debug)]
pub struct StoredRun {
    pub bytes: Vec<u8>,
    pub acknowledged: Vec<String>,
}

/// Opens (creating on first use) the database.
pub async fn open() -> Result<Rexie, String> {
    Rexie::builder(DB)
        .version(1)
        .add_object_store(ObjectStore::new(RUNS))
        .build()
        .await
        .map_err(|e| format!("cannot open IndexedDB: {e}"))
}

/// Saves a run; resolves once IndexedDB has committed it.
pub async fn save(
    db: &Rexie,
    run_id: RunId,
    title: &str,
    bytes: &[u8],
    acknowledged: &[String],
) -> Result<(), String> {
    let record = Object::new();
    set(&record, "runId", &run_id.to_string().into());
    set(&record, "title", &title.into());
    set(&record, "bytes", &Uint8Array::from(bytes).into());
    let heads: Array = acknowledged
        .iter()
        .map(|h| JsValue::from(h.as_str()))
        .collect();
    set(&record, "acknowledged", &heads.into());
    set(&record, "updated", &js_sys::Date::now().into());
    let tx = db
        .transaction(&[RUNS], TransactionMode::ReadWrite)
        .map_err(|e| e.to_string())?;
    let store = tx.store(RUNS).map_err(|e| e.to_string())?;
    store
        .put(&record.into(), Some(&run_id.to_string().into()))
        .await
        .map_err(|e| format!("saving run {run_id} locally failed: {e}"))?;
    tx.done().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// The stored copy of a run, if there is one.
pub async fn load(db: &Rexie, run_id: RunId) -> Result<Option<StoredRun>, String> {
    let tx = db
        .transaction(&[RUNS], TransactionMode::ReadOnly)
        .map_err(|e| e.to_string())?;
    let store = tx.store(RUNS).map_err(|e| e.to_string())?;
    let Some(record) = store
        .get(run_id.to_string().into())
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let bytes = Uint8Array::new(&get(&record, "bytes")).to_vec();
    let acknowledged = Array::from(&get(&record, "acknowledged"))
        .iter()
        .filter_map(|h| h.as_string())
        .collect();
    Ok(Some(StoredRun {
        bytes,
        acknowledged,
    }))
}

/// Every stored run, most recently saved first.
pub async fn list(db: &Rexie) -> Result<Vec<RunSummary>, String> {
    let tx = db
        .transaction(&[RUNS], TransactionMode::ReadOnly)
        .map_err(|e| e.to_string())?;
    let store = tx.store(RUNS).map_err(|e| e.to_string())?;
    let records = store.get_all(None, None).await.map_err(|e| e.to_string())?;
    let mut runs: Vec<RunSummary> = records
        .iter()
        .filter_map(|r| {
            Some(RunSummary {
                run_id: get(r, "runId").as_string()?,
                title: get(r, "title").as_string().unwrap_or_default(),
                updated: get(r, "updated").as_f64().unwrap_or(0.0) as u64,
            })
        })
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.updated));
    Ok(runs)
}

fn set(target: &Object, key: &str, value: &JsValue) {
    Reflect::set(target, &key.into(), value).expect("setting a field of a plain object");
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED)
}
