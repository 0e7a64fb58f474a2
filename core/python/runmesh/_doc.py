"""``RunDoc``: one replica of a run, over the core's ``RawRunDoc``."""

from __future__ import annotations

import json
import logging
from typing import Callable, Dict, List, Optional, Sequence, Union, cast

from ._core import RawRunDoc, RunError
from ._types import ChangeEvent, ForkOf, HistoryEntry, RunDiff, RunState

FlagValue = Union[None, bool, int, float, str]
StepSpec = Union[str, Dict[str, str]]
Listener = Callable[[ChangeEvent], None]
_log = logging.getLogger("runmesh")


class RunDoc:
    """One replica of a run. Every method that edits commits one Automerge change.

    Make one with :meth:`create`, :meth:`load` or :meth:`empty`. Refused values raise
    :class:`runmesh.RunError` (a ``ValueError``) naming the value; arguments of the wrong
    type raise ``TypeError``.
    """

    __slots__ = ("_raw", "_listeners")

    def __init__(self, raw: RawRunDoc) -> None:
        if not isinstance(raw, RawRunDoc):
            raise TypeError("use RunDoc.create(), RunDoc.load() or RunDoc.empty()")
        self._raw = raw
        self._listeners: List[Listener] = []

    @classmethod
    def create(
        cls,
        *,
        title: str = "",
        steps: Sequence[StepSpec] = (),
        region: str = "local",
        user: str = "anonymous",
        run_id: str = "",
    ) -> RunDoc:
        """Creates a run with ``steps`` (step ids, or ``{"id", "name"?, "agent"?}`` dicts);
        ``run_id`` is a UUID, or a random one when left out."""
        if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence):
            raise TypeError(f"steps must be a list of step ids or dicts, got {type(steps).__name__}")
        try:
            steps_json = json.dumps(list(steps))
        except (TypeError, ValueError) as e:
            raise TypeError(f"steps must be a list of step ids or dicts: {e}") from None
        return cls(RawRunDoc.create(run_id, title, steps_json, region, user))

    @classmethod
    def load(
        cls,
        data: Union[bytes, bytearray, memoryview],
        *,
        run_id: str = "",
        region: str = "local",
        user: str = "anonymous",
    ) -> RunDoc:
        """Opens a full save, incremental chunks, or both concatenated. ``run_id`` is needed
        only when the bytes do not name their run. Raises ``RunError`` on corrupt bytes."""
        return cls(RawRunDoc.load(_bytes(data), run_id, region, user))

    @classmethod
    def empty(cls, run_id: str, *, region: str = "local", user: str = "anonymous") -> RunDoc:
        """A replica that holds nothing yet, to be filled by ``merge``, ``apply_changes``
        or ``connect``."""
        return cls(RawRunDoc.empty(run_id, region, user))

    @property
    def run_id(self) -> str:
        """The run's UUID."""
        return self._raw.run_id()

    @property
    def document_id(self) -> str:
        """The automerge-repo document id (bs58check of the run UUID)."""
        return self._raw.document_id()

    @property
    def lamport(self) -> int:
        """The run's lamport clock."""
        return self._raw.lamport()

    @property
    def graft_count(self) -> int:
        """How many grafts the run has."""
        return self._raw.graft_count()

    def graft(self, after: str, agent_name: str) -> str:
        """Grafts ``agent_name`` after a step or graft; returns the new graft's id."""
        graft_id = self._raw.graft(after, agent_name)
        self._emit(True)
        return graft_id

    def prune(self, node: str) -> bool:
        """Marks a step or graft pruned; False if it already was."""
        return self._edited(self._raw.prune(node))

    def restore(self, node: str) -> bool:
        """Removes the prune marks this replica has seen; False if there were none."""
        return self._edited(self._raw.restore(node))

    def set_flag(self, key: str, value: FlagValue) -> None:
        """Sets a flag to a JSON scalar (None, bool, number or str); an int must fit in
        64 bits (signed)."""
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            # Past 64 bits the core stored the int as a float, silently rounded.
            raise RunError(f"flag {key!r}: {value} is outside the 64-bit integer range")
        try:
            value_json = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise RunError(f"flag {key!r}: {value!r} is not a JSON scalar: {e}") from None
        self._raw.set_flag(key, value_json)
        self._emit(True)

    def clear_flag(self, key: str) -> bool:
        """Removes a flag; False if it was not set."""
        return self._edited(self._raw.clear_flag(key))

    def state(self) -> RunState:
        """The whole run, materialised: the same on every replica with the same changes."""
        return cast(RunState, self._raw.state())

    def history(self) -> List[HistoryEntry]:
        """Every change, oldest first, in the same order on every replica."""
        return cast(List[HistoryEntry], self._raw.history())

    def state_at(self, heads: Sequence[str]) -> RunState:
        """The run as it was at ``heads`` (from :meth:`heads` or :meth:`history`)."""
        return cast(RunState, self._raw.state_at(_hashes("heads", heads)))

    def diff(self, from_heads: Sequence[str], to_heads: Optional[Sequence[str]] = None) -> RunDiff:
        """What changed from ``from_heads`` to ``to_heads`` (default: now), with who did it."""
        to = [] if to_heads is None else _hashes("to_heads", to_heads)
        return cast(RunDiff, self._raw.diff(_hashes("from_heads", from_heads), to))

    def undo(self, change: str) -> str:
        """Reverses one earlier change (a hash from :meth:`history`) with a new change;
        returns the new change's hash."""
        new_hash = self._raw.undo(change)
        self._emit(True)
        return new_hash

    def fork(self, *, run_id: str = "", at: Optional[Sequence[str]] = None) -> RunDoc:
        """A new run (random id unless given) sharing this run's history up to ``at``
        (default: now); it can merge back with :meth:`merge_from`."""
        heads = [] if at is None else _hashes("at", at)
        return RunDoc(self._raw.fork(run_id, heads))

    @property
    def fork_of(self) -> Optional[ForkOf]:
        """Where this run was forked from (``{"run", "at"}``), or None."""
        return cast(Optional[ForkOf], self._raw.fork_of())

    def merge_from(self, other: RunDoc) -> bool:
        """Takes every change of a fork of this run (or of the run this one was forked
        from); True if anything came in."""
        raw = _raw_of("merge_from", other)
        return False if raw is self._raw else self._received(self._raw.merge_from(raw))

    def merge(self, other: RunDoc) -> bool:
        """Takes every change ``other`` (a replica of the same run) has; True if the run
        changed."""
        raw = _raw_of("merge", other)  # itself: nothing can come in
        return False if raw is self._raw else self._received(self._raw.merge(raw))

    def save(self) -> bytes:
        """The whole document, compacted."""
        return self._raw.save()

    def save_incremental(self) -> bytes:
        """The changes since the last ``save`` or ``save_incremental``."""
        return self._raw.save_incremental()

    def apply_changes(self, data: Union[bytes, bytearray, memoryview]) -> bool:
        """Adds changes from bytes; True if the run changed."""
        return self._received(self._raw.apply_changes(_bytes(data)))

    def heads(self) -> List[str]:
        """The document's heads (hex change hashes)."""
        return self._raw.heads()

    def on_change(self, listener: Listener) -> Callable[[], None]:
        """Calls ``listener(ChangeEvent)`` after every change, made here (``local``) or
        received; returns a function that unsubscribes."""
        if not callable(listener):
            raise TypeError("on_change() takes a function")
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def __repr__(self) -> str:
        return f"<RunDoc {self.run_id} grafts={self.graft_count}>"

    def _edited(self, changed: bool) -> bool:
        if changed:
            self._emit(True)
        return changed

    def _received(self, changed: bool) -> bool:
        if changed:
            self._emit(False)
        return changed

    def _emit(self, local: bool) -> None:
        event = ChangeEvent(local=local)
        for listener in list(self._listeners):
            # The edit is made: one listener's error must not keep it from the others
            # (a connection among them sends it).
            try:
                listener(event)
            except Exception:
                _log.exception("a change listener of run %s raised", self.run_id)


def _raw_of(method: str, other: object) -> RawRunDoc:
    if not isinstance(other, RunDoc):
        raise TypeError(f"{method}() takes another RunDoc, got {type(other).__name__}")
    return other._raw


def _bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"expected bytes, got {type(data).__name__}")


def _hashes(name: str, value: object) -> List[str]:
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, Sequence)
        or len(value) == 0
        or not all(isinstance(h, str) for h in value)
    ):
        raise TypeError(f"{name} must be a non-empty list of change hashes (hex str), as heads() returns")
    return list(value)
