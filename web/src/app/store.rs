//! The local copy of every run opened, in IndexedDB (database `runmesh`, store `runs`,
//! keyed by run UUID): the saved document, its title for the list, and the heads the relay
//! last acknowledged (so the count of unsent changes survives a reload).

use idb::{
    Database, DatabaseEvent, Factory, ObjectStoreParams, TransactionMode, TransactionResult,
};
use js_sys::{Array, Object, Reflect, Uint8Array};
use runmesh_core::RunId;
use wasm_bindgen::JsValue;

const DB: &str = "runmesh";
const RUNS: &str = "runs";

/// What a failed IndexedDB call says. The app reached IndexedDB through `rexie`, whose
/// errors all read "idb error"; the messages users see stay as they were.
fn idb_error(_: idb::Error) -> String {
    "idb error".to_owned()
}

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

/// Opens (creating on first use) the database. Written against `idb` itself: `rexie`'s
/// builder, which can also rename and delete stores and indexes, cost 5.7 KB gzip.
pub async fn open() -> Result<Database, String> {
    let opened = async {
        let mut request = Factory::new()?.open(DB, Some(1))?;
        request.on_upgrade_needed(|event| {
            // Version 1 is the only one: the upgrade runs once, on an empty database.
            if let Ok(db) = event.database()
                && !db.store_names().iter().any(|name| name == RUNS)
            {
                let _ = db.create_object_store(RUNS, ObjectStoreParams::new());
            }
        });
        let mut db = request.await?;
        // Another tab asking for a newer version: let it have the database.
        db.on_version_change(|event| {
            if let Ok(db) = event.database() {
                db.close();
            }
        });
        Ok::<_, idb::Error>(db)
    };
    opened
        .await
        .map_err(|e| format!("cannot open IndexedDB: {}", idb_error(e)))
}

/// Saves a run; resolves once IndexedDB has committed it.
pub async fn save(
    db: &Database,
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
        .map_err(idb_error)?;
    let store = tx.object_store(RUNS).map_err(idb_error)?;
    let put = async {
        store
            .put(&record.into(), Some(&run_id.to_string().into()))?
            .await
    };
    put.await
        .map_err(|e| format!("saving run {run_id} locally failed: {}", idb_error(e)))?;
    // Saved only once committed: an aborted transaction (quota, a closing database)
    // stored nothing, and the client machine must not send what is not on the device.
    match tx.await.map_err(idb_error)? {
        TransactionResult::Committed => Ok(()),
        TransactionResult::Aborted => Err(format!(
            "saving run {run_id} locally failed: IndexedDB aborted the write"
        )),
    }
}

/// The stored copy of a run, if there is one.
pub async fn load(db: &Database, run_id: RunId) -> Result<Option<StoredRun>, String> {
    let tx = db
        .transaction(&[RUNS], TransactionMode::ReadOnly)
        .map_err(idb_error)?;
    let store = tx.object_store(RUNS).map_err(idb_error)?;
    let key = JsValue::from(run_id.to_string());
    let Some(record) = store
        .get(key)
        .map_err(idb_error)?
        .await
        .map_err(idb_error)?
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
pub async fn list(db: &Database) -> Result<Vec<RunSummary>, String> {
    let tx = db
        .transaction(&[RUNS], TransactionMode::ReadOnly)
        .map_err(idb_error)?;
    let store = tx.object_store(RUNS).map_err(idb_error)?;
    let records = store
        .get_all(None, None)
        .map_err(idb_error)?
        .await
        .map_err(idb_error)?;
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
