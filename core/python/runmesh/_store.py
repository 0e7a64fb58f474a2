"""Local stores for ``connect(..., store=...)``: where a run is kept on this machine so a
process that restarts loses nothing it made.

A store is any object with ``load(run_id) -> StoredRun | None`` and
``save(run_id, StoredRun)``, plain or ``async`` methods; plain ones run in a worker
thread. ``save`` returns only once the run is durable, and is called one at a time.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple, Union

from ._doc import RunDoc

_RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredRun:
    """What a store keeps of a run: the saved run and the heads the relay last
    acknowledged (so the count of unsent changes survives a restart)."""

    data: bytes
    acknowledged: List[str] = field(default_factory=list)
    #: Where the data was read from (a file's path), for error messages; "" if unknown.
    origin: str = field(default="", compare=False)


class DirectoryStore:
    """Keeps each run in ``directory`` (created if missing) as ``<run id>.run`` and
    ``<run id>.acked.json``: the layout of the npm package's ``directoryStore``, so one
    directory serves both. Each save writes a temporary file, flushes it to disk and
    renames it over the old one (then flushes the directory), so a crash leaves the old
    save or the new one, never half of one.

    Several processes may share the directory: saves take a lock on it, and a save that
    finds a file another writer put there since this store's last save merges that
    file's changes in rather than replacing them."""

    def __init__(self, directory: Union[str, "os.PathLike[str]"]) -> None:
        directory = os.fspath(directory)
        if not isinstance(directory, str) or directory == "":
            raise TypeError("DirectoryStore(directory) needs a directory path")
        self.directory = directory
        self._written: Dict[str, Tuple[int, int]] = {}  # path -> (device, inode) this store wrote

    def load(self, run_id: str) -> Optional[StoredRun]:
        """The run as last saved, or None if this directory does not hold it."""
        path = self._path(run_id, "run")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        acknowledged: object = []
        try:
            with open(self._path(run_id, "acked.json"), encoding="utf-8") as f:
                acknowledged = json.load(f)
        except (OSError, ValueError):
            pass  # it only counts unsent changes: without it every change counts as unsent
        if not isinstance(acknowledged, list):
            acknowledged = []
        # A damaged entry is dropped rather than refused, for the reason above.
        hashes = [h for h in acknowledged if isinstance(h, str) and _HASH.match(h)]
        return StoredRun(data, hashes, origin=path)

    def save(self, run_id: str, run: StoredRun) -> None:
        """Saves the run; returns once it is on disk."""
        os.makedirs(self.directory, exist_ok=True)
        path = self._path(run_id, "run")
        with _locked(self.directory):
            self._written[path] = _replace(path, self._with_others(run_id, path, run.data))
            _replace(self._path(run_id, "acked.json"), json.dumps(run.acknowledged).encode())

    def _with_others(self, run_id: str, path: str, data: bytes) -> bytes:
        """``data`` with the changes of the file at ``path`` if another writer put it there:
        two connections on one run in one directory each saved its own replica, and the
        last one replaced the other's changes."""
        try:
            st = os.stat(path)
            if self._written.get(path) == (st.st_dev, st.st_ino):
                return data
            with open(path, "rb") as f:
                theirs = RunDoc.load(f.read(), run_id=run_id)
        except (OSError, ValueError):
            return data  # nothing there, or nothing that can be kept: ours replaces it
        ours = RunDoc.load(data, run_id=run_id)
        return ours.save() if ours.merge(theirs) else data

    def _path(self, run_id: str, ext: str) -> str:
        if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
            raise ValueError(f"run id {run_id!r} is not a UUID")
        return os.path.join(self.directory, f"{run_id.lower()}.{ext}")

    def __repr__(self) -> str:
        return f"DirectoryStore({self.directory!r})"


@contextmanager
def _locked(directory: str) -> Iterator[None]:
    """Holds an exclusive lock on ``directory`` (an advisory ``flock``, which other
    processes and other threads of this one both respect)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _replace(path: str, data: bytes) -> Tuple[int, int]:
    """Writes ``path`` whole; returns the new file's (device, inode)."""
    # A temporary file of its own for every write (created, never opened through a
    # symlink): two processes saving one run in one directory each rename a whole file;
    # with one shared ".tmp" name they truncated each other's and one rename failed.
    directory, name = os.path.split(path)
    fd, tmp = tempfile.mkstemp(prefix=name + ".", suffix=".tmp", dir=directory or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            written = os.fstat(f.fileno())
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
    return (written.st_dev, written.st_ino)
