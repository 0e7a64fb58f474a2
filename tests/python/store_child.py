"""A process embedding runmesh with a directory store, for test_store.py:

    python store_child.py fetch   URL RUN DIR        connect, sync, store, print the agents, exit
    python store_child.py edit    URL RUN DIR AGENT  graft AGENT, wait for the store, print "stored", idle
    python store_child.py deliver URL RUN DIR        connect, sync, print the agents the relay took
"""

from __future__ import annotations

import asyncio
import json
import sys

import runmesh


async def main(mode: str, url: str, run_id: str, directory: str, agent: str = "") -> None:
    store = runmesh.DirectoryStore(directory)
    async with runmesh.connect(url, run_id, store=store, min_delay=0.05, max_delay=0.2) as conn:
        if mode in ("fetch", "deliver"):
            await conn.synced()
            await conn.stored()
            print(json.dumps({"agents": [g["agentName"] for g in conn.doc.state()["grafts"]]}), flush=True)
            return
        conn.doc.graft("a", agent)
        await conn.stored()
        print("stored", flush=True)
        await asyncio.sleep(3600)  # until killed


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
