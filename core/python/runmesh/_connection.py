"""``Connection``: keeps a :class:`RunDoc` in sync with a relay over a WebSocket.

The rules (automerge-repo's protocol, *stored before sent*, what counts as synced) are
the core's client machine (``RawClient``); this module performs its effects: a
socket from the ``websockets`` library, writes to an optional local store, redials with
the core's backoff, and the events an application listens to.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any, AsyncIterator, Callable, List, Optional, Set, Tuple, Union

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import WebSocketException

from ._core import MAX_FRAME_BYTES, RawClient, RunError, backoff_delay
from ._callbacks import call, guarded, offer, subscribe
from ._doc import RunDoc
from ._outbox import Outbox
from ._store import StoredRun
from ._types import ChangeEvent
from ._url import check_seconds, relay_url

_log = logging.getLogger("runmesh")

#: A lagging reader of ``changes()`` sees events coalesced past this many.
MAX_QUEUED_CHANGES = 1024
#: A failed store write is tried again after this many seconds.
STORE_RETRY_SECONDS = 1.0

Status = str  # "connecting" | "syncing" | "synced" | "offline" | "unavailable" | "closed"


class RunUnavailable(LookupError):
    """The relay (and every relay it knows) does not have the run."""


class Connection:
    """One run kept in sync with one relay; make it with :func:`runmesh.connect`.

    Use it as ``async with runmesh.connect(...) as conn:`` or ``conn = await
    runmesh.connect(...)`` then ``await conn.aclose()``. Use it (and its ``doc``) from the
    event loop's thread.
    """

    def __init__(
        self,
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
    ) -> None:
        # The token stays out of every message: they show `_shown_url`.
        self._url, self._shown_url = relay_url(url, token)
        check_seconds("open_timeout", open_timeout)
        if store is not None and not (callable(getattr(store, "load", None)) and callable(getattr(store, "save", None))):
            raise TypeError("store must have load(run_id) and save(run_id, StoredRun)")
        backoff_delay(1, 0.0, min_delay, max_delay)  # refuses bad delays now, by name
        self._run = run
        self._store = store
        self._region, self._user = region, user
        self._min_delay, self._max_delay, self._open_timeout = min_delay, max_delay, open_timeout
        self.doc: RunDoc = run if isinstance(run, RunDoc) else RunDoc.empty(run, region=region, user=user)
        self._client: Optional[RawClient] = None
        self._status: Status = "connecting"
        self._closed = False
        self._started = False
        self._dialer: Optional[asyncio.Task[None]] = None
        self._ws: Optional[ClientConnection] = None
        self._outbox: Optional[Outbox] = None
        self._session_synced = False
        self._writer: Optional[asyncio.Task[None]] = None
        self._retry: Optional[asyncio.TimerHandle] = None
        self._error: Optional[BaseException] = None
        self._store_error: Optional[str] = None
        self._synced_waiters: List[asyncio.Future[None]] = []
        self._stored_waiters: List[asyncio.Future[None]] = []
        self._status_listeners: List[Callable[[Status], None]] = []
        self._presence_listeners: List[Callable[[str, Any], None]] = []
        self._change_queues: Set[asyncio.Queue[Optional[ChangeEvent]]] = set()
        self._unsubscribe: Callable[[], None] = lambda: None
        self._closing: Set[asyncio.Future[None]] = set()

    # -- life cycle -------------------------------------------------------------------

    async def start(self) -> Connection:
        """Loads the run from the store (if any) and starts dialling; returns at once."""
        if self._started:
            return self
        self._started = True
        raw = self.doc._raw
        if self._store is None:
            self._client = RawClient.without_store(raw)
        else:
            record = None
            if not isinstance(self._run, RunDoc):
                record = await call(self._store.load, self.doc.run_id)
                if record is not None and not isinstance(record, StoredRun):
                    raise TypeError(f"store.load({self.doc.run_id!r}) must return a StoredRun or None")
            try:
                if record is not None:
                    self.doc = RunDoc.load(record.data, run_id=self.doc.run_id, region=self._region, user=self._user)
                    raw = self.doc._raw
                acknowledged = record.acknowledged if record is not None else []
                self._client = RawClient.with_store(raw, record is not None, acknowledged)
            except RunError as e:
                # Name the file (or store) so the person who has to fix it can find it.
                source = (record.origin if record is not None else "") or repr(self._store)
                raise RunError(f"{source}: the stored copy of run {self.doc.run_id} is refused: {e}") from None
        self._unsubscribe = self.doc.on_change(self._on_doc_change)
        if self._store is not None:
            self._perform(self._client.retry_store(raw))
        self._dialer = asyncio.ensure_future(self._dial_loop())
        self._dialer.add_done_callback(self._dialer_ended)
        return self

    async def aclose(self) -> None:
        """Stops syncing; returns once the store holds every change (if there is one)."""
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        if self._retry is not None:
            self._retry.cancel()
        if self._dialer is not None:
            self._dialer.cancel()
            await asyncio.gather(self._dialer, return_exceptions=True)
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
        self._set_status("closed")
        self._settle(self._synced_waiters, RuntimeError("connection closed"))
        self._settle(self._stored_waiters, RuntimeError("connection closed"))
        for queue in self._change_queues:
            offer(queue, None)

    async def __aenter__(self) -> Connection:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __await__(self) -> Any:
        return self.start().__await__()

    # -- what an application reads ---------------------------------------------------

    @property
    def status(self) -> Status:
        """'connecting', 'syncing', 'synced', 'offline', 'unavailable' or 'closed'."""
        return self._status

    @property
    def peer_id(self) -> str:
        """This client's peer id, as other peers' presence events name it."""
        return self._started_client().peer_id()

    @property
    def unacknowledged(self) -> int:
        """Changes the relay has not acknowledged yet."""
        return self._started_client().status(self.doc._raw)[2]

    @property
    def store_error(self) -> Optional[str]:
        """Why the last save to the store failed, while nothing has been saved since."""
        return self._store_error

    async def synced(self, timeout: float = 10.0) -> None:
        """Returns once the relay holds everything this replica has and vice versa.
        Raises ``RunUnavailable`` if the relay does not have the run, ``TimeoutError``
        after ``timeout`` seconds."""
        if self._status == "synced":
            return
        if self._status == "unavailable":
            raise self._unavailable()
        if self._status == "closed":
            raise RuntimeError("connection closed")
        await self._wait(self._synced_waiters, timeout, f"not synced with {self._shown_url}")

    async def stored(self, timeout: float = 10.0) -> None:
        """Returns once the store holds every change this replica has."""
        if self._store is None:
            raise RuntimeError("this connection has no store: pass store= to connect()")
        if self._started_client().status(self.doc._raw)[1]:
            return
        await self._wait(self._stored_waiters, timeout, "not stored")

    def on_status(self, listener: Callable[[Status], None]) -> Callable[[], None]:
        """Calls ``listener(status)`` on every change of status; returns an unsubscribe."""
        return subscribe(self._status_listeners, listener)

    def on_presence(self, listener: Callable[[str, Any], None]) -> Callable[[], None]:
        """Calls ``listener(peer_id, value)`` for presence from other peers on the run."""
        return subscribe(self._presence_listeners, listener)

    def send_presence(self, value: Any) -> bool:
        """Sends any JSON value to the run's other peers, not stored; False while not
        connected, or while the relay is not taking frames (a backlog of 1 MiB). Raises
        ``RunError`` over the relay's limit (64 KiB as CBOR)."""
        frame = self._started_client().ephemeral_json(json.dumps(value))
        if frame is None or self._outbox is None:
            return False
        return self._outbox.offer(frame)

    async def changes(self) -> AsyncIterator[ChangeEvent]:
        """Every change to the run from now on, made here or received, until the
        connection closes. A reader that lags sees events coalesced (the state it reads
        next has them all)."""
        queue: asyncio.Queue[Optional[ChangeEvent]] = asyncio.Queue(MAX_QUEUED_CHANGES)
        self._change_queues.add(queue)
        unsubscribe = self.doc.on_change(lambda event: offer(queue, event))
        try:
            while not self._closed:
                event = await queue.get()
                if event is None:
                    return
                yield event
        finally:
            unsubscribe()
            self._change_queues.discard(queue)

    # -- the socket -------------------------------------------------------------------

    async def _dial_loop(self) -> None:
        failures = 0
        while not self._closed:
            self._set_status("connecting")
            self._session_synced = False
            try:
                async with ws_connect(
                    self._url,
                    max_size=MAX_FRAME_BYTES,
                    compression=None,
                    open_timeout=self._open_timeout,
                ) as ws:
                    await self._session(ws)
            except (OSError, WebSocketException, asyncio.TimeoutError) as e:
                self._error = e
            self._perform(self._started_client().close(self.doc._raw))
            if self._closed:
                return
            if self._status != "unavailable":
                self._set_status("offline")
            # Only a session that reached "synced" resets the delays: a relay that takes
            # the socket and then garbles every session was redialled every 0.25 s.
            failures = 1 if self._session_synced else failures + 1
            await asyncio.sleep(backoff_delay(failures, random.random(), self._min_delay, self._max_delay))

    async def _session(self, ws: ClientConnection) -> None:
        outbox = Outbox()
        self._ws, self._outbox = ws, outbox
        sender = asyncio.ensure_future(outbox.send_all(ws))
        try:
            self._perform(self._started_client().open(self.doc._raw))
            async for message in ws:
                if isinstance(message, bytes):  # the protocol is binary only
                    self._perform(self._started_client().receive(self.doc._raw, message))
        finally:
            self._ws, self._outbox = None, None
            sender.cancel()

    def _dialer_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            _log.error("run %s: the connection stopped", self.doc.run_id, exc_info=task.exception())
            self._error = task.exception()
            self._set_status("closed")

    # -- the client machine's effects -------------------------------------------------

    def _on_doc_change(self, event: ChangeEvent) -> None:
        if event.local:
            self._perform(self._started_client().local_change(self.doc._raw))

    def _perform(self, effects: List[Tuple[str, Any]]) -> None:
        for kind, value in effects:
            if kind == "send":
                if self._outbox is not None:
                    self._outbox.put(value)
            elif kind == "storeDue":
                self._write()
            elif kind == "changed":
                if not value:
                    self.doc._emit(False)
            elif kind == "unavailable":
                self._set_status("unavailable")
                self._settle(self._synced_waiters, self._unavailable())
            elif kind == "ephemeral":
                peer, value_json = value
                presence = json.loads(value_json)
                for listener in list(self._presence_listeners):
                    guarded(listener, peer, presence)
            elif kind == "drop":
                self._error = RuntimeError(value)
                if self._ws is not None:
                    closing = asyncio.ensure_future(self._ws.close())
                    self._closing.add(closing)  # kept until done: the loop holds tasks weakly
                    closing.add_done_callback(self._closing.discard)
            elif kind == "storeFailed":
                self._store_error = f"saving run {self.doc.run_id} failed: {value}"
                if self._retry is not None:
                    self._retry.cancel()
                self._retry = asyncio.get_running_loop().call_later(STORE_RETRY_SECONDS, self._retry_store)
            # "joined" needs nothing here: the status below says it.
        self._refresh()

    def _write(self) -> None:
        if self._writer is not None and not self._writer.done():
            return
        request = self._started_client().take_store(self.doc._raw)
        if request is not None:
            self._writer = asyncio.ensure_future(self._save(*request))

    async def _save(self, write_id: int, data: bytes, acknowledged: List[str]) -> None:
        try:
            await call(self._store.save, self.doc.run_id, StoredRun(data, acknowledged))
        except Exception as e:
            effects = self._started_client().store_failed(self.doc._raw, write_id, str(e) or repr(e))
        else:
            self._store_error = None
            effects = self._started_client().stored(self.doc._raw, write_id)
        self._writer = None
        self._perform(effects)

    def _retry_store(self) -> None:
        if not self._closed:
            self._perform(self._started_client().retry_store(self.doc._raw))

    def _refresh(self) -> None:
        joined, stored, _, synced = self._started_client().status(self.doc._raw)
        if stored:
            self._settle(self._stored_waiters, None)
        if self._status in ("unavailable", "closed") or not joined:
            return
        self._set_status("synced" if synced else "syncing")
        if synced:
            self._session_synced = True
            self._settle(self._synced_waiters, None)

    # -- small parts ------------------------------------------------------------------

    def _started_client(self) -> RawClient:
        if self._client is None:
            raise RuntimeError("the connection has not started: use `async with` or `await connect(...)`")
        return self._client

    def _set_status(self, status: Status) -> None:
        if status == self._status:
            return
        self._status = status
        for listener in list(self._status_listeners):
            guarded(listener, status)

    def _unavailable(self) -> RunUnavailable:
        return RunUnavailable(f"run {self.doc.run_id} is not on the relay (nor on any relay it knows)")

    async def _wait(self, waiters: List[asyncio.Future[None]], timeout: float, what: str) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            why = self._store_error or (str(self._error) if self._error else None)
            raise TimeoutError(
                f"{what} after {timeout} s (status {self._status})" + (f": {why}" if why else "")
            ) from None
        finally:
            if waiter in waiters:
                waiters.remove(waiter)

    @staticmethod
    def _settle(waiters: List[asyncio.Future[None]], error: Optional[BaseException]) -> None:
        for waiter in waiters[:]:
            if not waiter.done():
                if error is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(error)
        waiters.clear()
