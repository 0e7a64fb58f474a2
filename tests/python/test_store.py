"""connect(store=DirectoryStore(dir)): a process killed between an edit and the relay's
acknowledgement, started again on the same directory, delivers the edit; a store that
fails holds every change back from the relay until a save succeeds."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

import runmesh
from conftest import agents_on_relay
from relay import Relay
from runmesh import RunDoc, StoredRun

CHILD = str(Path(__file__).with_name("store_child.py"))
# Nothing listens on port 1: a relay that cannot be reached.
NOWHERE = "ws://127.0.0.1:1/ws"


def child(*args: str) -> "subprocess.Popen[str]":
    return subprocess.Popen([sys.executable, CHILD, *args], stdout=subprocess.PIPE, text=True)


async def first_line(proc: "subprocess.Popen[str]", timeout: float = 20.0) -> str:
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        raise AssertionError(f"store_child said nothing in {timeout} s") from None
    assert line, f"store_child exited ({proc.wait()}) before saying anything"
    return line.strip()


async def put_on_relay(relay: Relay) -> str:
    doc = RunDoc.create(title="Stored", steps=["a", "b"])
    async with runmesh.connect(relay.ws, doc) as conn:
        await conn.synced()
    return doc.run_id


async def test_a_process_killed_after_an_edit_is_stored_delivers_it_when_started_again(
    relay: Relay, tmp_path: Path
) -> None:
    run_id = await put_on_relay(relay)
    fetched = child("fetch", relay.ws, run_id, str(tmp_path))
    assert json.loads(await first_line(fetched)) == {"agents": []}
    assert fetched.wait(10) == 0
    assert sorted(os.listdir(tmp_path)) == [f"{run_id}.acked.json", f"{run_id}.run"], "the npm layout"

    editor = child("edit", NOWHERE, run_id, str(tmp_path), "Offline reviewer")
    assert await first_line(editor) == "stored"
    editor.kill()
    assert editor.wait(10) == -9
    assert agents_on_relay(relay, run_id) == [], "the relay never heard of it"

    again = child("deliver", relay.ws, run_id, str(tmp_path))
    assert json.loads(await first_line(again)) == {"agents": ["Offline reviewer"]}
    assert again.wait(10) == 0
    assert agents_on_relay(relay, run_id) == ["Offline reviewer"]


class FlakyStore:
    """A store in memory whose saves fail while ``failing`` is set."""

    def __init__(self) -> None:
        self.failing = True
        self.saved: List[StoredRun] = []

    async def load(self, run_id: str) -> None:
        return None

    async def save(self, run_id: str, run: StoredRun) -> None:
        if self.failing:
            raise OSError("disk full")
        self.saved.append(run)


async def test_nothing_goes_to_the_relay_while_the_store_fails(relay: Relay) -> None:
    run_id = await put_on_relay(relay)
    store = FlakyStore()
    async with runmesh.connect(relay.ws, run_id, store=store) as conn:
        with pytest.raises(TimeoutError, match="disk full"):
            await conn.synced(timeout=1.0)
        assert "disk full" in (conn.store_error or "")
        # Nothing this replica makes may leave while the store fails.
        conn.doc.graft("a", "HeldBack")
        await asyncio.sleep(0.3)
        assert agents_on_relay(relay, run_id) == [], "not sent while unstored"
        store.failing = False
        await conn.synced()
        await conn.stored()
        assert conn.store_error is None
    assert agents_on_relay(relay, run_id) == ["HeldBack"]
    assert RunDoc.load(store.saved[-1].data).state()["grafts"][0]["agentName"] == "HeldBack"
