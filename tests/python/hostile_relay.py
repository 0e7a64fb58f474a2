"""A fake relay on 127.0.0.1 that plays a script against one client, for the hostile
tests: it answers the client's ``join`` as a relay would, then does whatever the script
says (garbage, floods, never reading). CBOR is written here by a few lines of encoder,
enough for automerge-repo's messages."""

from __future__ import annotations

import asyncio
import struct
from typing import Any, Awaitable, Callable, List, Set

from websockets.asyncio.server import Server, ServerConnection, serve

RELAY_ID = "hostile-relay"
Script = Callable[[ServerConnection, str], Awaitable[None]]


def cbor(value: Any) -> bytes:
    """``value`` (None, bool, int, float, str, bytes, list, dict) as CBOR."""
    if value is None:
        return b"\xf6"
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        return _head(3, len(value.encode())) + value.encode()
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(f"no CBOR for {type(value).__name__}")


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for extra, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | extra]) + struct.pack(fmt, n)
    raise ValueError(f"{n} is over CBOR's 64 bits")


def sender_of(join: bytes) -> str:
    """The ``senderId`` of a client's ``join`` (a short text string in its CBOR)."""
    at = join.index(b"senderId") + len(b"senderId")
    head = join[at] & 0x1F
    start, length = (at + 2, join[at + 1]) if head == 24 else (at + 1, head)
    return join[start : start + length].decode()


class HostileRelay:
    """Serves ``script`` to every client; ``url`` once started; ``sessions`` counts the
    WebSocket sessions clients opened."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.sessions = 0
        self.url = ""
        self._server: Server
        self._handlers: Set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> HostileRelay:
        self._server = await serve(self._handle, "127.0.0.1", 0, max_size=None)
        port = self._server.sockets[0].getsockname()[1] if self._server.sockets else 0
        self.url = f"ws://127.0.0.1:{port}/ws"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        for task in self._handlers:  # a script may wait on a socket that never closes
            task.cancel()
        await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _handle(self, ws: ServerConnection) -> None:
        self.sessions += 1
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        join = await ws.recv()
        assert isinstance(join, bytes)
        client = sender_of(join)
        await ws.send(cbor({"type": "peer", "senderId": RELAY_ID, "selectedProtocolVersion": "1", "targetId": client}))
        await self.script(ws, client)


def frames(kinds: List[bytes]) -> Script:
    """A script that sends ``kinds`` in order, then holds the socket open."""

    async def script(ws: ServerConnection, client: str) -> None:
        for frame in kinds:
            await ws.send(frame)
        await ws.wait_closed()

    return script
