"""Local stores for ``connect(..., store=...)``: where a run is kept on this machine so a
process that restarts loses nothing it made.

A store is any object with ``load(run_id) -> StoredRun | None`` and
``save(run_id, StoredRun)``, plain or ``async`` methods; plain ones run in a worker
thread. ``save`` returns only once the run is durable, and is called one at a time.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import List, Optional, Union

_RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


@dataclass(frozen=True)
class StoredRun:
    """What a store keeps of a run: the saved run and the heads the relay last
    acknowledged (so the count of unsent changes survives a restart)."""

    data: bytes
    acknowledged: List[str] = field(default_factory=list)


class DirectoryStore:
    """Keeps each run in ``directory`` (created if missing) as ``<run id>.run`` and
    ``<run id>.acked.json``: the layout of the npm package's ``directoryStore``, so one
    directory serves both. Each save writes a temporary file, flushes it to disk and
    renames it over the old one (then flushes the directory), so a crash leaves the old
    save or the new one, never half of one."""

    def __init__(self, directory: Union[str, "os.PathLike[str]"]) -> None:
        directory = os.fspath(directory)
        if not isinstance(directory, str) or directory == "":
            raise TypeError("DirectoryStore(directory) needs a directory path")
        self.directory = directory

    def load(self, run_id: str) -> Optional[StoredRun]:
        """The run as last saved, or None if this directory does not hold it."""
        try:
            with open(self._path(run_id, "run"), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        acknowledged: object = []
        try:
            with open(self._path(run_id, "acked.json"), encoding="utf-8") as f:
                acknowledged = json.load(f)
        except (OSError, ValueError):
            pass  # it only counts unsent changes: without it every change counts as unsent
        if not isinstance(acknowledged, list) or not all(isinstance(h, str) for h in acknowledged):
            acknowledged = []
        return StoredRun(data, acknowledged)

    def save(self, run_id: str, run: StoredRun) -> None:
        """Saves the run; returns once it is on disk."""
        os.makedirs(self.directory, exist_ok=True)
        _replace(self._path(run_id, "run"), run.data)
        _replace(self._path(run_id, "acked.json"), json.dumps(run.acknowledged).encode())

    def _path(self, run_id: str, ext: str) -> str:
        if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
            raise ValueError(f"run id {run_id!r} is not a UUID")
        return os.path.join(self.directory, f"{run_id.lower()}.{ext}")

    def __repr__(self) -> str:
        return f"DirectoryStore({self.directory!r})"


def _replace(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
