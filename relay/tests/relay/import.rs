//! `runmesh-relay import` of archives with bad entries: each is named, the rest is
//! imported, and the command exits non-zero.

use std::path::Path;

use automerge::transaction::Transactable;
use runmesh_core::{Identity, RunDoc, RunId, StepSpec};

use crate::RELAY;
use runmesh_testkit::relay::*;

/// The hostile Automerge bytes the fuzzer found, among them the 141 bytes that made
/// Automerge allocate without bound (refused before parsing by `runmesh_core::bounds`);
/// the command runs under a memory cap, so a return of that bug fails here.
fn hostile() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/fuzz/regressions/doc_load");
    let mut found: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    found.sort();
    found
}

fn a_run(title: &str) -> (RunId, Vec<u8>) {
    let run = RunId::random();
    let who = Identity::random("us", "alice").unwrap();
    let steps = [StepSpec::new("step1").unwrap()];
    (
        run,
        RunDoc::create(run, who, title, &steps, 1).unwrap().save(),
    )
}

/// A run that also holds a change of its own history: what `/sync` let in before the
/// lineage rule.
fn damaged() -> (RunId, Vec<u8>) {
    let (run, bytes) = a_run("damaged");
    let mut doc = automerge::AutoCommit::load(&bytes).unwrap();
    let mut foreign = automerge::AutoCommit::new();
    foreign.put(automerge::ROOT, "title", "mine").unwrap();
    foreign
        .put_object(automerge::ROOT, "steps", automerge::ObjType::Map)
        .unwrap();
    doc.merge(&mut foreign).unwrap();
    (run, doc.save())
}

fn entry_name(run: RunId) -> String {
    format!("runs/{}.automerge", run.document_id())
}

fn archive(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    tar.into_inner().unwrap()
}

/// Runs `import` of `archive` into `dir` under a 2 GB address-space cap.
fn import(dir: &Path, archive: &[u8]) -> (bool, String) {
    let file = dir.join("in.tar");
    std::fs::write(&file, archive).unwrap();
    let data = dir.join("data");
    let out = std::process::Command::new("prlimit")
        .arg("--as=2000000000")
        .arg(env!("CARGO_BIN_EXE_runmesh-relay"))
        .args(["import", "--data-dir"])
        .arg(&data)
        .arg(&file)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn title_of(base: &str, run: RunId) -> (u16, serde_json::Value) {
    let (status, body) = get(&format!("{base}/api/crdt/runs/{run}/state")).await;
    (status, body["title"].clone())
}

#[tokio::test]
async fn bad_entries_are_named_the_rest_is_imported_and_the_exit_is_non_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, first_bytes) = a_run("first");
    let (last, last_bytes) = a_run("last");
    let (lost, lost_bytes) = damaged();
    let mut entries = vec![
        (entry_name(first), first_bytes),
        ("notes.txt".to_owned(), b"not a run".to_vec()),
        (entry_name(RunId::random()), b"not automerge".to_vec()),
        (entry_name(lost), lost_bytes),
    ];
    let hostile = hostile();
    assert!(hostile.len() >= 10, "the fuzz regressions are there");
    let mut hostile_names = Vec::new();
    for (_, bytes) in &hostile {
        let name = entry_name(RunId::random());
        hostile_names.push(name.clone());
        entries.push((name, bytes.clone()));
    }
    entries.push((entry_name(last), last_bytes));

    let (ok, err) = import(tmp.path(), &archive(&entries));
    assert!(!ok, "a bad entry makes the exit non-zero: {err}");
    assert!(
        !err.contains("panicked at") || err.contains("imported 2 runs"),
        "{err}"
    );
    assert!(
        err.contains("imported 2 runs"),
        "the good runs, first and last: {err}"
    );
    assert!(
        err.contains("entry notes.txt not imported: expected runs/"),
        "{err}"
    );
    let lineage = format!("entry {} not imported: change ", entry_name(lost));
    assert!(
        err.contains(&lineage) && err.contains("not the run's genesis"),
        "{err}"
    );
    for name in &hostile_names {
        assert!(
            err.contains(&format!("entry {name} not imported")),
            "{name}: {err}"
        );
    }
    let refused = hostile.len() + 3;
    assert!(
        err.contains(&format!("{refused} entries not imported")),
        "{err}"
    );

    let relay = RELAY.spawn(&tmp.path().join("data"), &[]);
    assert_eq!(title_of(&relay.base, first).await, (200, "first".into()));
    assert_eq!(title_of(&relay.base, last).await, (200, "last".into()));
    assert_eq!(title_of(&relay.base, lost).await.0, 404);
}

#[tokio::test]
async fn an_archive_cut_short_names_where_it_stopped_and_keeps_what_came_before() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, first_bytes) = a_run("first");
    let (second, second_bytes) = a_run("second");
    let second_len = second_bytes.len();
    let whole = archive(&[
        (entry_name(first), first_bytes),
        (entry_name(second), second_bytes),
    ]);
    // 100 bytes into the second entry's data: its header says more than follows. The
    // archive ends with the entry's data padded to 512-byte blocks, then 1,024 zeros.
    let padded = second_len.div_ceil(512) * 512;
    let cut = &whole[..whole.len() - 1024 - padded + 100];
    let (ok, err) = import(tmp.path(), cut);
    assert!(!ok, "{err}");
    assert!(err.contains("imported 1 runs"), "{err}");
    let inside = format!("ends inside entry {}", entry_name(second));
    assert!(
        err.contains(&inside) && err.contains("later entries were not read"),
        "{err}"
    );
    let relay = RELAY.spawn(&tmp.path().join("data"), &[]);
    assert_eq!(title_of(&relay.base, first).await, (200, "first".into()));
}

/// A run of 150,000 text ops, saved: a few kilobytes (more ops than that length lets a
/// stranger's bytes declare) weighing 38.4 MB at 256 bytes an op.
fn a_heavy_run() -> (RunId, Vec<u8>) {
    let run = RunId::random();
    let who = Identity::random("us", "alice").unwrap();
    let mut doc = RunDoc::create(run, who, "heavy", &[StepSpec::new("s").unwrap()], 1).unwrap();
    let am = doc.automerge_mut();
    let text = am
        .put_object(automerge::ROOT, "t", automerge::ObjType::Text)
        .unwrap();
    am.splice_text(&text, 0, 0, &"a".repeat(150_000)).unwrap();
    am.commit();
    (run, doc.save())
}

#[tokio::test]
async fn a_run_the_relay_could_hold_imports_whatever_its_ops_to_bytes_and_a_heavier_one_is_refused()
{
    let (run, bytes) = a_heavy_run();
    assert!(
        runmesh_core::bounds::check_storage(&bytes).is_err(),
        "a stranger's ceiling refuses it"
    );
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stderr) = import(tmp.path(), &archive(&[(entry_name(run), bytes.clone())]));
    assert!(ok, "{stderr}");
    // Under a 1 MB run limit (4 MB loadable), it weighs too much.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("in.tar");
    std::fs::write(&file, archive(&[(entry_name(run), bytes)])).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_runmesh-relay"))
        .args(["import", "--max-document-bytes", "1000000", "--data-dir"])
        .arg(tmp.path().join("data"))
        .arg(&file)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    // Refused by the ops it declares (more rows than a 4 MB run may hold).
    assert!(
        stderr.contains("not imported: refused document bytes"),
        "{stderr}"
    );
}

/// The tenth attack's E30: a 2 KB archive whose sparse entry declared 8 GiB was read
/// whole before its size was looked at (1.6 GB resident, then out of memory). An entry
/// larger than a run may weigh is refused by its header, unread, and named.
#[tokio::test]
async fn an_entry_declaring_more_than_a_run_may_weigh_is_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, first_bytes) = a_run("first");
    let huge = RunId::random();
    let mut bytes = archive(&[(entry_name(first), first_bytes)]);
    bytes.truncate(bytes.len() - 1024); // the end-of-archive blocks
    let mut header = tar::Header::new_gnu();
    header.set_path(entry_name(huge)).unwrap();
    header.set_size(10_000_000_000);
    header.set_mode(0o644);
    header.set_cksum();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(vec![0u8; 512]);
    let (ok, err) = import(tmp.path(), &bytes);
    assert!(!ok, "{err}");
    let refused = format!(
        "{} not imported: it declares 10000000000 bytes",
        entry_name(huge)
    );
    assert!(err.contains(&refused), "{err}");
    assert!(err.contains("imported 1 runs"), "{err}");
}

/// The eleventh attack's E33: `tar` read a GNU long-name entry whole before `import`
/// saw it (3 GiB declared: 2.1 GB resident), and a symbolic link named as a run was
/// stored as an empty run that then answered 409. Only regular files with bytes are
/// read; extension headers are judged by their header (a small one is skipped, a big
/// one refused, unread); everything else is refused by name.
#[tokio::test]
async fn links_empty_files_and_big_extension_headers_are_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, first_bytes) = a_run("first");
    let (second, second_bytes) = a_run("second");
    let (link, empty) = (RunId::random(), RunId::random());
    let mut bytes = archive(&[(entry_name(first), first_bytes)]);
    bytes.truncate(bytes.len() - 1024); // the end-of-archive blocks
    let mut append = |kind: tar::EntryType, name: &str, data: &[u8], size: u64| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_path(name).unwrap();
        if kind == tar::EntryType::Symlink {
            header.set_link_name("elsewhere").unwrap();
        }
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        bytes.extend(vec![0u8; (512 - data.len() % 512) % 512]);
    };
    append(tar::EntryType::Symlink, &entry_name(link), &[], 0);
    append(tar::EntryType::Regular, &entry_name(empty), &[], 0);
    // A small pax header, as some archivers add, before a run that imports.
    let pax = b"19 comment=hello12\n";
    append(
        tar::EntryType::XHeader,
        "PaxHeaders/x",
        pax,
        pax.len() as u64,
    );
    append(
        tar::EntryType::Regular,
        &entry_name(second),
        &second_bytes,
        second_bytes.len() as u64,
    );
    // A long name declaring 3 GiB, and the archive ends.
    append(tar::EntryType::GNULongName, "././@LongLink", &[], 3 << 30);
    let (ok, err) = import(tmp.path(), &bytes);
    assert!(!ok, "{err}");
    for expected in [
        format!(
            "{} not imported: a Symlink entry, not a regular file",
            entry_name(link)
        ),
        format!("{} not imported: an empty file", entry_name(empty)),
        "an extension header (GNULongName) of 3221225472 bytes".to_owned(),
        "imported 2 runs".to_owned(),
    ] {
        assert!(err.contains(&expected), "{expected:?} in {err}");
    }
    assert!(
        !err.contains("PaxHeaders"),
        "a small pax header is skipped: {err}"
    );
}
