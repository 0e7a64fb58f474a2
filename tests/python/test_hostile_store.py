"""A `DirectoryStore` whose files were damaged, swapped or raced for: a bad file is
refused by name, a damaged side file does not stop the run, and no save is lost to
another writer or written through a planted symlink."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import List

import pytest

import runmesh
from runmesh import DirectoryStore, RunDoc, RunError, StoredRun

RUN = "123e4567-e89b-12d3-a456-426614174000"
NOWHERE = "ws://127.0.0.1:9/ws"  # nothing listens: the store is all there is


async def open_from(directory: Path) -> RunDoc:
    conn = runmesh.connect(NOWHERE, RUN, store=DirectoryStore(directory), min_delay=5.0)
    await conn.start()
    await conn.aclose()
    return conn.doc


def write(directory: Path, name: str, data: bytes) -> None:
    (directory / name).write_bytes(data)


@pytest.mark.parametrize(
    "data, why",
    [
        (b"garbage", "not an Automerge chunk"),
        (RunDoc.create(steps=["a"], run_id=RUN).save()[:50], "declares .* bytes but only"),
        (b"", "genesis"),
    ],
)
async def test_a_damaged_run_file_is_refused_naming_the_file(tmp_path: Path, data: bytes, why: str) -> None:
    write(tmp_path, f"{RUN}.run", data)
    with pytest.raises(RunError, match=f"{tmp_path / RUN}.run: the stored copy of run {RUN} is refused: .*{why}"):
        await open_from(tmp_path)


async def test_the_file_of_another_run_is_refused_not_synced_as_this_one(tmp_path: Path) -> None:
    other = RunDoc.create(steps=["x"])
    write(tmp_path, f"{RUN}.run", other.save())
    with pytest.raises(RunError, match=f"{RUN}.run: .* are run {other.run_id}, not run {RUN}"):
        await open_from(tmp_path)


async def test_damaged_acknowledged_heads_are_dropped_not_fatal(tmp_path: Path) -> None:
    doc = RunDoc.create(steps=["a"], run_id=RUN)
    write(tmp_path, f"{RUN}.run", doc.save())
    write(tmp_path, f"{RUN}.acked.json", b'["zz", 7, null, "' + b"0" * 64 + b'"]')
    assert (await open_from(tmp_path)).heads() == doc.heads()
    assert DirectoryStore(tmp_path).load(RUN) == StoredRun(doc.save(), ["0" * 64])


def test_writers_racing_on_one_run_each_leave_a_whole_file(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    saves = [StoredRun(bytes([n]) * 200_000, []) for n in range(4)]
    errors: List[BaseException] = []

    def writer(run: StoredRun) -> None:
        try:
            for _ in range(25):
                store.save(RUN, run)
        except BaseException as e:  # noqa: BLE001 - the test reports it
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(run,)) for run in saves]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [], "a writer failed: they shared one temporary file"
    loaded = store.load(RUN)
    assert loaded is not None and loaded.data in [s.data for s in saves], "a whole save, not a mix"
    assert sorted(os.listdir(tmp_path)) == [f"{RUN}.acked.json", f"{RUN}.run"], "no temporary file left"


def test_a_save_does_not_write_through_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    for ext in ("run", "acked.json"):
        os.symlink(victim, store_dir / f"{RUN}.{ext}.tmp")
    DirectoryStore(store_dir).save(RUN, StoredRun(b"new", []))
    assert victim.read_bytes() == b"precious"
    assert (store_dir / f"{RUN}.run").read_bytes() == b"new"


async def test_two_connections_on_one_directory_lose_no_save(tmp_path: Path) -> None:
    doc = RunDoc.create(steps=["a"], run_id=RUN)
    write(tmp_path, f"{RUN}.run", doc.save())
    conns = [runmesh.connect(NOWHERE, RUN, store=DirectoryStore(tmp_path), min_delay=5.0) for _ in range(2)]
    for conn in conns:
        await conn.start()
    for n in range(20):
        for i, conn in enumerate(conns):
            conn.doc.graft("a", f"Agent {i}.{n}")
    await asyncio.gather(*(conn.stored() for conn in conns))
    for conn in conns:
        await conn.aclose()
        assert conn.store_error is None
    stored = await open_from(tmp_path)
    # Each saved its own replica, and the last save replaced the other's 20 grafts.
    assert stored.graft_count == 40, f"{stored.graft_count} of 40 grafts on disk"
