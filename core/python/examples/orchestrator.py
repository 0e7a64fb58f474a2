"""An orchestrator on a shared run: works through the run's steps in order, skips every
step a person has pruned (in the browser, or anywhere else), and after each finished step
grafts a review agent after it. It keeps the run in a local directory, so if it is killed
and started again it picks up where it was, without losing an edit.

    python orchestrator.py ws://127.0.0.1:3030/ws 123e4567-e89b-12d3-a456-426614174000
"""

from __future__ import annotations

import argparse
import asyncio

import runmesh


async def run_step(step: runmesh.PipelineNode, seconds: float) -> None:
    """Stands in for the real work of a step (an LLM call, a tool, a build)."""
    await asyncio.sleep(seconds)


async def orchestrate(url: str, run_id: str, store_dir: str, step_seconds: float) -> None:
    store = runmesh.DirectoryStore(store_dir)
    async with runmesh.connect(url, run_id, store=store, region="worker-1", user="orchestrator") as conn:
        await conn.synced()
        while True:
            # The state is live: prunes made in a browser meanwhile are already in it.
            state = conn.doc.state()
            done = state["flags"]
            step = next(
                (n for n in state["pipeline"] if n["kind"] == "step" and f"done:{n['id']}" not in done),
                None,
            )
            if step is None:
                break
            if step["pruned"]:
                print(f"skip {step['id']}: pruned")
                conn.doc.set_flag(f"done:{step['id']}", "skipped")
                continue
            print(f"run  {step['id']}")
            await run_step(step, step_seconds)
            conn.doc.graft(step["id"], f"Review of {step['name']}")
            conn.doc.set_flag(f"done:{step['id']}", "ok")
        await conn.synced()
        print("done:", [n["name"] for n in conn.doc.state()["pipeline"] if not n["pruned"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the relay's WebSocket URL, e.g. ws://127.0.0.1:3030/ws")
    parser.add_argument("run_id", help="the run's UUID")
    parser.add_argument("--store", default=".runmesh", help="where the run is kept on this machine")
    parser.add_argument("--step-seconds", type=float, default=1.0, help="how long each step takes")
    args = parser.parse_args()
    asyncio.run(orchestrate(args.url, args.run_id, args.store, args.step_seconds))


if __name__ == "__main__":
    main()
