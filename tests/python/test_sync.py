"""connect(): replicas kept in sync through the real relay binary, presence, changes as
an async iterator, a run the relay lacks, and an edit made offline that reaches the
other side on reconnect."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import pytest

import runmesh
from conftest import agents_on_relay, until
from relay import Relay
from runmesh import ChangeEvent, RunDoc


async def test_two_replicas_sync_through_a_relay_live_with_presence(relay: Relay) -> None:
    mine = RunDoc.create(title="Shared", steps=["a", "b"], region="us", user="alice")
    async with runmesh.connect(relay.ws, mine) as alice:
        await alice.synced()
        assert alice.status == "synced"
        assert alice.unacknowledged == 0
        async with runmesh.connect(relay.ws, mine.run_id, region="eu", user="bob") as bob:
            await bob.synced()
            assert bob.doc.state() == mine.state()

            changes = bob.changes().__aiter__()
            arrived = asyncio.ensure_future(changes.__anext__())
            await asyncio.sleep(0)  # the iterator subscribes
            graft_id = mine.graft("a", "SecurityAgent")
            assert await asyncio.wait_for(arrived, 10) == ChangeEvent(local=False)
            assert bob.doc.state()["grafts"][0]["id"] == graft_id

            bob.doc.set_flag("approved", True)
            await until(lambda: mine.state()["flags"] == {"approved": True}, "bob's flag at alice")
            await until(lambda: bob.unacknowledged == 0, "the relay to acknowledge bob")

            seen: asyncio.Future = asyncio.get_running_loop().create_future()
            bob.on_presence(lambda peer, value: seen.done() or seen.set_result((peer, value)))
            assert alice.send_presence({"user": "alice", "viewing": "a"}) is True
            assert await asyncio.wait_for(seen, 10) == (alice.peer_id, {"user": "alice", "viewing": "a"})
            with pytest.raises(runmesh.RunError, match="over the relay's limit of 65536 bytes"):
                alice.send_presence({"blob": "x" * 70_000})
            assert alice.status == "synced"
    assert alice.status == "closed"
    assert agents_on_relay(relay, mine.run_id) == ["SecurityAgent"]


async def test_a_run_the_relay_does_not_have_is_reported_not_created(relay: Relay) -> None:
    ghost = RunDoc.create().run_id
    async with runmesh.connect(relay.ws, ghost) as conn:
        with pytest.raises(runmesh.RunUnavailable, match="is not on the relay"):
            await conn.synced()
        assert conn.status == "unavailable"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{relay.http}/api/crdt/runs/{ghost}/state", timeout=10)
    assert refused.value.code == 404


async def test_an_edit_made_while_the_relay_is_down_reaches_the_other_replica_after_reconnect(
    relay: Relay,
) -> None:
    mine = RunDoc.create(title="Offline", steps=["a"], user="alice")
    statuses = []
    async with runmesh.connect(relay.ws, mine, min_delay=0.05, max_delay=0.2) as alice:
        alice.on_status(statuses.append)
        await alice.synced()
        relay.stop(keep_data=True)
        await until(lambda: alice.status == "offline", "alice to notice the relay is gone")
        mine.graft("a", "WrittenOffline")
        assert alice.unacknowledged == 1
        with pytest.raises(TimeoutError, match="not synced with .* after 0.2 s \\(status offline\\)"):
            await alice.synced(timeout=0.2)

        relay.restart()
        await until(lambda: alice.status == "synced", "alice to reconnect and sync")
        assert alice.unacknowledged == 0
        async with runmesh.connect(relay.ws, mine.run_id) as bob:
            await bob.synced()
            assert [g["agentName"] for g in bob.doc.state()["grafts"]] == ["WrittenOffline"]
    assert "offline" in statuses and statuses[-1] == "closed"


async def test_a_connection_works_without_async_with_and_its_token_travels(relay: Relay) -> None:
    doc = RunDoc.create(steps=["a"])
    conn = await runmesh.connect(relay.ws, doc, token="ignored-by-an-open-relay")
    try:
        await conn.synced()
        assert "token=ignored-by-an-open-relay" in conn._url
    finally:
        await conn.aclose()
    with pytest.raises(RuntimeError, match="connection closed"):
        await conn.synced()
