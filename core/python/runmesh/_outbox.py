"""``Outbox``: the frames waiting for one socket, and the bytes they hold.

A relay that stops reading leaves frames here. Sync frames are always queued: they carry
the run, and the client machine sends each change once, so they are bounded by the run.
Presence is not stored and only its latest value matters, so it is refused once the
backlog passes a cap instead of piling up in memory.
"""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import WebSocketException

from ._core import MAX_PRESENCE_BYTES

#: Presence is refused while this many bytes wait for the socket: sixteen of the
#: largest presence values. Without a cap, 2,000 presence values of 60 KB sent while a
#: relay did not read held 120 MB (2026-12-07).
MAX_PRESENCE_BACKLOG = 16 * MAX_PRESENCE_BYTES


class Outbox:
    """Frames for one socket, in order, with the count of bytes not yet sent."""

    def __init__(self) -> None:
        self._frames: asyncio.Queue[bytes] = asyncio.Queue()
        self.backlog = 0

    def put(self, frame: bytes) -> None:
        """Queues a frame that must go out (sync)."""
        self.backlog += len(frame)
        self._frames.put_nowait(frame)

    def offer(self, frame: bytes) -> bool:
        """Queues a frame that may be dropped (presence); False if the backlog is full."""
        if self.backlog + len(frame) > MAX_PRESENCE_BACKLOG:
            return False
        self.put(frame)
        return True

    async def send_all(self, ws: ClientConnection) -> None:
        """Sends frames as they come until the socket closes."""
        try:
            while True:
                frame = await self._frames.get()
                try:
                    await ws.send(frame)
                finally:
                    self.backlog -= len(frame)
        except WebSocketException:
            pass  # the receiving side sees the close and ends the session
