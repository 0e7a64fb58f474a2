"""The run-document workload of tests/npm/bench.mjs from Python, through runmesh and
through pycrdt (Yjs) side by side in one process: a 10,000-graft run built one graft per
change (a transaction in Yjs), then one more graft, a whole-state read (the pipeline with
grafts in place) and a load of the saved run. Prints a table; not a test.

    python bench.py        (RUNMESH_BENCH_GRAFTS=10000, RUNMESH_BENCH_SAMPLES=20)
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable, Dict, List, Tuple

import runmesh

GRAFTS = int(os.environ.get("RUNMESH_BENCH_GRAFTS", "10000"))
SAMPLES = int(os.environ.get("RUNMESH_BENCH_SAMPLES", "20"))
LOADS = min(SAMPLES, 10)
STEPS = ["plan", "build", "test", "ship"]


def ms(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def median_ms(n: int, fn: Callable[[int], Any]) -> float:
    return statistics.median(ms(lambda: fn(i)) for i in range(n))


def anchor(i: int, ids: List[str]) -> str:
    """Mostly steps, every fifth graft after an earlier graft (as bench.mjs)."""
    return ids[(i * 7919) % len(ids)] if i % 5 == 4 and ids else STEPS[i % len(STEPS)]


def runmesh_side() -> Dict[str, float]:
    doc = runmesh.RunDoc.create(title="Bench", steps=STEPS, region="us-east-1", user="bench")
    ids: List[str] = []
    build = ms(lambda: [ids.append(doc.graft(anchor(i, ids), f"Agent{i}")) for i in range(GRAFTS)])
    graft = median_ms(SAMPLES, lambda i: doc.graft(anchor(i, ids), "One"))
    nodes = len(doc.state()["pipeline"])
    read = median_ms(SAMPLES, lambda _: doc.state())
    data = doc.save()
    load = median_ms(LOADS, lambda _: runmesh.RunDoc.load(data))
    load_read = median_ms(LOADS, lambda _: runmesh.RunDoc.load(data).state())
    return dict(build=build, graft=graft, read=read, load=load, load_read=load_read, bytes=len(data), nodes=nodes)


def pipeline(steps: List[Dict[str, Any]], grafts: Dict[str, Dict[str, Any]]) -> List[Tuple[str, int]]:
    """The pipeline from plain data, ordered as runmesh orders it."""
    after: Dict[str, List[Dict[str, Any]]] = {}
    for graft_id, g in grafts.items():
        after.setdefault(g["after"], []).append({"id": graft_id, **g})
    out: List[Tuple[str, int]] = []

    def place(node: str, depth: int) -> None:
        for g in sorted(after.get(node, []), key=lambda g: (g["lamport"], g["region"], g["by"], g["id"])):
            out.append((g["id"], depth))
            place(g["id"], depth + 1)

    for step in steps:
        out.append((step["id"], 0))
        place(step["id"], 1)
    return out


def pycrdt_side() -> Dict[str, float]:
    from pycrdt import Array, Doc, Map

    doc: Any = Doc()
    steps: Any = doc.get("steps", type=Array)
    grafts: Any = doc.get("grafts", type=Map)
    with doc.transaction():
        for step in STEPS:
            steps.append(Map({"id": step, "name": step}))
    lamport = 0
    ids: List[str] = []

    def add(after: str, agent_name: str) -> str:
        nonlocal lamport
        lamport += 1
        graft_id = f"g{lamport:010d}-bench"
        with doc.transaction():
            grafts[graft_id] = Map(
                {"after": after, "agentName": agent_name, "by": "bench", "region": "us-east-1",
                 "lamport": lamport, "at": int(time.time() * 1000)}
            )
        return graft_id

    build = ms(lambda: [ids.append(add(anchor(i, ids), f"Agent{i}")) for i in range(GRAFTS)])
    graft = median_ms(SAMPLES, lambda i: add(anchor(i, ids), "One"))

    def read_from(d: Any) -> int:
        return len(pipeline(d.get("steps", type=Array).to_py(), d.get("grafts", type=Map).to_py()))

    nodes = read_from(doc)
    read = median_ms(SAMPLES, lambda _: read_from(doc))
    data = doc.get_update()

    def load() -> Any:
        loaded: Any = Doc()
        loaded.apply_update(data)
        return loaded

    load_ms = median_ms(LOADS, lambda _: load())
    load_read = median_ms(LOADS, lambda _: read_from(load()))
    return dict(build=build, graft=graft, read=read, load=load_ms, load_read=load_read, bytes=len(data), nodes=nodes)


def main() -> None:
    import pycrdt

    ours, theirs = runmesh_side(), pycrdt_side()
    if ours["nodes"] != theirs["nodes"]:
        raise SystemExit(f"pipelines differ in length: {ours['nodes']} vs {theirs['nodes']}")
    version = getattr(pycrdt, "__version__", "?")
    print(f"{GRAFTS} grafts, one per change; medians of {SAMPLES} (load: {LOADS}); "
          f"CPython {platform.python_version()}, pycrdt {version}")
    print("| operation | runmesh | pycrdt | pycrdt / runmesh |")
    print("| --- | --- | --- | --- |")
    for key, what in [
        ("graft", "one graft on the run"),
        ("read", "read the whole state (pipeline)"),
        ("load", "load the saved run"),
        ("load_read", "load, then read the whole state"),
        ("build", f"build the run ({GRAFTS} grafts)"),
    ]:
        print(f"| {what} | {ours[key]:.3f} ms | {theirs[key]:.3f} ms | {theirs[key] / ours[key]:.2f}× |")
    print(f"| saved size | {ours['bytes']} B | {theirs['bytes']} B | |")


if __name__ == "__main__":
    main()
