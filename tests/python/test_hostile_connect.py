"""`connect()` given URLs, tokens and timeouts an outsider might pass: refused at once,
naming the value, and a token never shown in an error message."""

from __future__ import annotations

from typing import Any, Dict

import pytest

import runmesh
from runmesh import RunDoc

NOWHERE = "ws://127.0.0.1:9/ws"  # nothing listens


@pytest.mark.parametrize(
    "url, kwargs, error, match",
    [
        ("ws://127.0.0.1:99999/ws", {}, ValueError, "Port out of range"),
        ("ws://127.0.0.1:9/ws\r\nX-Evil: 1", {}, ValueError, "whitespace or a control character"),
        ("ws://127.0.0.1:9/w s", {}, ValueError, "whitespace or a control character"),
        ("ws://:9/ws", {}, ValueError, "is not a ws:// or wss:// URL"),
        (NOWHERE, {"token": 5}, TypeError, "token must be a str, got int"),
        (NOWHERE, {"open_timeout": -1}, ValueError, "open_timeout: -1 is not a number of seconds"),
        (NOWHERE, {"open_timeout": float("nan")}, ValueError, "open_timeout: nan"),
    ],
)
def test_a_bad_url_or_setting_is_refused_at_once(url: str, kwargs: Dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        runmesh.connect(url, RunDoc.create(steps=["a"]), **kwargs)


async def test_the_token_stays_out_of_error_messages() -> None:
    secret = "s3cret-\r\n-token"
    conn = runmesh.connect("ws://user:pw@127.0.0.1:9/ws", RunDoc.create(steps=["a"]), token=secret, min_delay=0.05)
    async with conn:
        with pytest.raises(TimeoutError) as raised:
            await conn.synced(timeout=0.3)
    message = str(raised.value)
    assert "ws://127.0.0.1:9/ws" in message
    assert "s3cret" not in message and "token" not in message and "pw" not in message
