"""The shapes ``RunDoc.state()``, ``history()``, ``diff()`` and ``fork_of`` return: plain
dicts and lists, the JSON the npm package and the REST API give, so keys are camelCase.
These types are for type checkers; at run time they are plain dicts."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Dict, List, Union

if sys.version_info >= (3, 11):
    from typing import NotRequired, TypedDict
else:  # pragma: no cover - older interpreters read the keys as required
    from typing import TypedDict

    NotRequired = Union

FlagValue = Union[None, bool, int, float, str]


@dataclass(frozen=True)
class ChangeEvent:
    """A change to a run: made on this replica (``local``) or received."""

    local: bool


class Step(TypedDict):
    """A base step of the run."""

    id: str
    name: str
    agent: NotRequired[str]


Who = TypedDict("Who", {"by": str, "region": str, "at": int})
"""Who made a change, where, and when."""

Graft = TypedDict(
    "Graft",
    {
        "id": str,
        "after": str,
        "agentName": str,
        "by": str,
        "region": str,
        "lamport": int,
        "at": int,
        "retracted": NotRequired[Who],
    },
)
"""An agent inserted after a step or another graft; ``at`` in ms since the epoch."""

PruneMark = TypedDict(
    "PruneMark", {"id": str, "by": str, "region": str, "lamport": int, "at": int}
)
"""A step or graft marked as pruned."""

PipelineNode = TypedDict(
    "PipelineNode",
    {
        "id": str,
        "kind": str,
        "name": str,
        "agent": NotRequired[str],
        "after": NotRequired[str],
        "depth": int,
        "pruned": bool,
    },
)
"""One entry of the ordered pipeline; ``kind`` is "step", "external" or "graft"."""

RunState = TypedDict(
    "RunState",
    {
        "runId": str,
        "title": str,
        "steps": List[Step],
        "pipeline": List[PipelineNode],
        "grafts": List[Graft],
        "prunedSteps": List[PruneMark],
        "flags": Dict[str, FlagValue],
        "flagConflicts": Dict[str, List[FlagValue]],
        "lamport": int,
        "issues": List[str],
    },
)
"""The whole run, materialised."""

HistoryEntry = TypedDict(
    "HistoryEntry",
    {
        "hash": str,
        "by": str,
        "region": str,
        "at": int,
        "op": str,
        "node": NotRequired[str],
        "detail": str,
        "undoes": NotRequired[str],
    },
)
"""One change in a run's history; ``at`` in seconds since the epoch."""

ForkOf = TypedDict("ForkOf", {"run": str, "at": List[str]})
"""Where a fork came from."""

RunDiff = TypedDict(
    "RunDiff",
    {
        "from": List[str],
        "to": List[str],
        "graftsAdded": List[Graft],
        "graftsRemoved": List[Graft],
        "retracted": List[Graft],
        "reinstated": List[Graft],
        "pruned": List[PruneMark],
        "restored": List[Dict[str, Union[str, int]]],
        "flags": List[Dict[str, Union[FlagValue, int]]],
        "changes": List[HistoryEntry],
    },
)
"""What changed between two points of a run."""
