"""The client against a relay that misbehaves (a fake one, `hostile_relay.py`): it stays
bounded, says what went wrong, redials with growing delays, and keeps its run intact."""

from __future__ import annotations

import asyncio
import time
from typing import List

import pytest
from websockets.asyncio.server import ServerConnection

import runmesh
from conftest import until
from hostile_relay import RELAY_ID, HostileRelay, cbor, frames
from runmesh import RunDoc


def doc_with_edits() -> RunDoc:
    doc = RunDoc.create(title="T", steps=["a", "b"])
    doc.graft("a", "Reviewer")
    return doc


async def test_a_relay_that_garbles_every_session_is_redialled_with_growing_delays() -> None:
    doc = doc_with_edits()
    heads, state = doc.heads(), doc.state()
    async with HostileRelay(frames([b"\xff\x00 not CBOR"])) as relay:
        async with runmesh.connect(relay.url, doc, min_delay=0.05, max_delay=5.0) as conn:
            await asyncio.sleep(2.0)
            # Delays 0.05, 0.1, 0.2, 0.4, 0.8 s (with jitter): about six sessions in 2 s.
            # Reset on every opened socket, it was one every 0.05 s: about thirty.
            assert relay.sessions <= 10, f"{relay.sessions} sessions in 2 s"
            assert conn.status in ("connecting", "offline")
            with pytest.raises(TimeoutError, match="not an automerge-repo message"):
                await conn.synced(timeout=0.1)
    assert doc.heads() == heads and doc.state() == state, "the run is untouched"


def odd(client: str, doc: RunDoc) -> List[bytes]:
    """Frames a relay should never send, each of which the client must survive."""
    ids = {"senderId": RELAY_ID, "targetId": client}
    doc_id = doc.document_id
    return [
        cbor({"type": "no-such-type", **ids}),
        cbor({"type": "peer", "senderId": "other", "selectedProtocolVersion": "9", "targetId": "x"}),
        cbor({"type": "sync", "documentId": "not-a-doc-id", "data": b"", **ids}),
        cbor({"type": "sync", "documentId": doc_id, "data": b"\x42\xff\xff\xff", **ids}),
        cbor({"type": "sync", "documentId": doc_id, "data": 7, **ids}),
        cbor({"type": "ephemeral", "documentId": doc_id, "count": -1, "sessionId": "s", "data": b"\xff", **ids}),
        cbor({"type": "ephemeral", "documentId": doc_id, "count": 1, "sessionId": "s", "data": b"\x81" * 100_000, **ids}),
        cbor([1, 2, 3]),
        cbor({"type": "error", "message": "x" * 100_000}),
        b"",
    ]


async def test_odd_frames_drop_the_session_not_the_client_nor_the_run() -> None:
    doc = doc_with_edits()
    heads, state = doc.heads(), doc.state()
    sent: List[bytes] = []

    async def script(ws: ServerConnection, client: str) -> None:
        if not sent:
            sent.extend(odd(client, doc))
        if sent:
            await ws.send(sent.pop(0))
        try:  # the client drops the session, or the relay ends it: the next frame next time
            await asyncio.wait_for(ws.wait_closed(), 0.2)
        except asyncio.TimeoutError:
            await ws.close()

    async with HostileRelay(script) as relay:
        async with runmesh.connect(relay.url, doc, min_delay=0.01, max_delay=0.02) as conn:
            await until(lambda: relay.sessions > len(odd("c", doc)), "a session for every odd frame")
            assert conn.status != "closed", "the dialler is still running"
    assert doc.heads() == heads and doc.state() == state, "the run is untouched"


async def test_presence_does_not_pile_up_while_the_relay_does_not_read(memory_cap: None) -> None:
    done = asyncio.Event()

    async def never_read(ws: ServerConnection, client: str) -> None:
        await done.wait()
        ws.transport.abort()  # a clean close would wait for the frames it never read

    async with HostileRelay(never_read) as relay:
        async with runmesh.connect(relay.url, doc_with_edits(), min_delay=0.05) as conn:
            await until(lambda: conn.status == "syncing", "the session")
            # 2,000 values of 60 KB: 120 MB if every one were kept.
            accepted = sum(conn.send_presence("x" * 60_000) for _ in range(2000))
            done.set()
            # The socket's buffers take a few; then 1 MiB waits, and the rest is refused.
            assert accepted < 100, f"{accepted} of 2,000 accepted: presence is refused once the backlog is full"


async def test_a_handshake_that_never_finishes_times_out_and_says_so() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)  # the HTTP upgrade request, never answered
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        started = time.monotonic()
        conn = runmesh.connect(f"ws://127.0.0.1:{port}/ws", doc_with_edits(), open_timeout=0.3, min_delay=0.05)
        async with conn:
            with pytest.raises(TimeoutError, match="status (connecting|offline)"):
                await conn.synced(timeout=1.0)
        assert time.monotonic() - started < 5
    finally:
        server.close()
