"""The orchestrator example (core/python/examples/orchestrator.py) on a run a person
edits: it skips the step they pruned and grafts a reviewer after each step it ran."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import runmesh
from conftest import agents_on_relay
from relay import ROOT, Relay
from runmesh import RunDoc

EXAMPLE = ROOT / "core" / "python" / "examples" / "orchestrator.py"


async def test_the_orchestrator_skips_a_pruned_step_and_grafts_after_the_others(
    relay: Relay, tmp_path: Path
) -> None:
    person = RunDoc.create(title="Release", steps=["plan", "build", "ship"], user="alice")
    person.prune("build")
    async with runmesh.connect(relay.ws, person) as conn:
        await conn.synced()

    out = subprocess.run(
        [sys.executable, str(EXAMPLE), relay.ws, person.run_id, "--store", str(tmp_path), "--step-seconds", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "skip build: pruned" in out.stdout
    assert agents_on_relay(relay, person.run_id) == ["Review of plan", "Review of ship"]
