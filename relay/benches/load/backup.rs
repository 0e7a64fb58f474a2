//! `backup`: export a data directory of many runs while nothing else runs, and import the
//! archive into an empty one — the two halves of restoring a region
//! (docs/operations.md). `RUNMESH_BACKUP_RUNS` sets the number of runs (10,000).

use std::time::Instant;

use runmesh_core::{Identity, RunDoc, RunId, StepSpec};
use runmesh_relay::store::{DirStore, EventMeta, Store};
use runmesh_relay::tools::backup;

pub async fn run() {
    let runs: usize = std::env::var("RUNMESH_BACKUP_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let tmp = tempfile::tempdir().unwrap();
    let source = DirStore::open(&tmp.path().join("source")).unwrap();
    let steps = [
        StepSpec::new("step1").unwrap(),
        StepSpec::new("step2").unwrap(),
    ];
    let identity = Identity::random("bench", "bench").unwrap();
    let made = Instant::now();
    for i in 0..runs {
        let run_id = RunId::random();
        let mut run = RunDoc::create(run_id, identity.clone(), "backup", &steps, 1).unwrap();
        for g in 0..3 {
            run.graft("step1", &format!("Agent{i}-{g}"), 2).unwrap();
        }
        let bytes = run.save();
        source
            .snapshot(&run_id.document_id(), &bytes, &EventMeta::default(), 10)
            .await
            .unwrap();
    }
    println!(
        "backup: {runs} runs of 3 grafts written in {:.2?}",
        made.elapsed()
    );
    let archive = tmp.path().join("runs.tar");
    let started = Instant::now();
    let file = std::io::BufWriter::new(std::fs::File::create(&archive).unwrap());
    let exported = backup::export(&source, file, "runs.tar").await.unwrap();
    let export = started.elapsed();
    let size = std::fs::metadata(&archive).unwrap().len();
    let target = DirStore::open(&tmp.path().join("target")).unwrap();
    let started = Instant::now();
    let file = std::io::BufReader::new(std::fs::File::open(&archive).unwrap());
    let imported = backup::import(&target, file, "runs.tar", 10, 64 << 20)
        .await
        .unwrap();
    let import = started.elapsed();
    assert!(imported.complete(), "{:?}", imported.refused);
    assert_eq!((exported.runs, imported.copied.runs), (runs, runs));
    println!(
        "backup: export {export:.2?} ({size} bytes of archive), import into an empty store {import:.2?} ({:.2} ms per run)",
        import.as_secs_f64() * 1000.0 / runs as f64
    );
}
