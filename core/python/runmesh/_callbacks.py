"""Calling application code from a connection: listeners (whose errors are logged, not
raised into the socket loop), queues of change events, and store methods that may be
plain or ``async``."""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Callable, List, Optional

from ._types import ChangeEvent

_log = logging.getLogger("runmesh")


async def call(method: Callable[..., Any], *args: Any) -> Any:
    """Awaits an ``async`` method, or runs a plain one in a worker thread."""
    if inspect.iscoroutinefunction(method):
        return await method(*args)
    return await asyncio.to_thread(method, *args)


def offer(queue: asyncio.Queue[Optional[ChangeEvent]], event: Optional[ChangeEvent]) -> None:
    """Queues an event unless the queue is full; the end (None) always gets through."""
    if event is None:
        while queue.full():
            queue.get_nowait()
    if not queue.full():
        queue.put_nowait(event)


def subscribe(listeners: List[Any], listener: Any) -> Callable[[], None]:
    """Adds ``listener``; returns the function that removes it."""
    if not callable(listener):
        raise TypeError("a listener must be a function")
    listeners.append(listener)

    def unsubscribe() -> None:
        if listener in listeners:
            listeners.remove(listener)

    return unsubscribe


def guarded(listener: Callable[..., None], *args: Any) -> None:
    """Calls ``listener``, logging what it raises."""
    try:
        listener(*args)
    except Exception:
        _log.exception("a runmesh listener raised")
