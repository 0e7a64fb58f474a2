"""``connect()``: how an application starts syncing a run with a relay."""

from __future__ import annotations

from typing import Any, Optional, Union

from ._connection import Connection
from ._doc import RunDoc


def connect(
    url: str,
    run: Union[str, RunDoc],
    *,
    token: Optional[str] = None,
    store: Any = None,
    region: str = "local",
    user: str = "anonymous",
    min_delay: float = 0.25,
    max_delay: float = 10.0,
    open_timeout: float = 10.0,
) -> Connection:
    """Syncs a run with a relay (``ws://host:port/ws``).

    Given a run id, starts from the ``store``'s copy (or an empty replica) and fetches
    the run; given a :class:`RunDoc`, syncs that one. With a ``store``, every change, made
    here or received, is saved there before anything goes to the relay: a process that
    dies and connects again on the same store loses nothing it made. Redials with
    backoff (``min_delay`` doubling to ``max_delay`` seconds, with jitter).
    """
    return Connection(
        url,
        run,
        token=token,
        store=store,
        region=region,
        user=user,
        min_delay=min_delay,
        max_delay=max_delay,
        open_timeout=open_timeout,
    )
