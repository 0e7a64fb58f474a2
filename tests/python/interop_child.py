"""The Python client of tests/e2e/python-npm.test.mjs, one run edited by three kinds of
client at once:

    python interop_child.py URL RUN AGENT GRAFTS

connects and syncs, prints "ready", waits for a line on stdin, then grafts AGENT after
"plan" and prunes "ship", waits until the run has GRAFTS grafts and the relay has
everything, and prints the run's state as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys

import runmesh


async def main(url: str, run_id: str, agent: str, grafts: str) -> None:
    async with runmesh.connect(url, run_id, region="eu-west-1", user="python") as conn:
        await conn.synced()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        conn.doc.graft("plan", agent)
        conn.doc.prune("ship")
        changes = conn.changes()
        while conn.doc.graft_count < int(grafts):
            await changes.__anext__()
        await conn.synced()
        print(json.dumps(conn.doc.state()), flush=True)


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(*sys.argv[1:]), 60))
