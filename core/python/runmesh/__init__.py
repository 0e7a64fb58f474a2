"""runmesh: edit AI workflow runs together, from Python.

A run is one Automerge document: people and orchestrators graft agents into it after a
step, prune steps and set flags, online or offline, and every replica converges to the
same run. This package is runmesh's Rust core (the one the relay, the web app and the npm
package run), with an asyncio client that keeps a run in sync with a relay::

    import asyncio, runmesh

    async def main():
        async with runmesh.connect("ws://127.0.0.1:3030/ws", run_id,
                                   store=runmesh.DirectoryStore("runs")) as conn:
            await conn.synced()
            conn.doc.graft("step1", "SecurityAgent")
            async for change in conn.changes():
                print(conn.doc.state()["pipeline"])

    asyncio.run(main())
"""

from ._connect import connect
from ._connection import Connection, RunUnavailable
from ._core import MAX_FRAME_BYTES, MAX_PRESENCE_BYTES, RunError
from ._doc import RunDoc
from ._store import DirectoryStore, StoredRun
from ._types import (
    ChangeEvent,
    ForkOf,
    Graft,
    HistoryEntry,
    PipelineNode,
    PruneMark,
    RunDiff,
    RunState,
    Step,
)

__all__ = [
    "MAX_FRAME_BYTES",
    "MAX_PRESENCE_BYTES",
    "ChangeEvent",
    "Connection",
    "DirectoryStore",
    "ForkOf",
    "Graft",
    "HistoryEntry",
    "PipelineNode",
    "PruneMark",
    "RunDiff",
    "RunDoc",
    "RunError",
    "RunState",
    "RunUnavailable",
    "Step",
    "StoredRun",
    "connect",
]
