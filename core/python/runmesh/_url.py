"""The relay's URL: checked when ``connect()`` is called, with the token added to the
URL that is dialled and left out of the one that error messages show."""

from __future__ import annotations

import math
import urllib.parse
from typing import Optional, Tuple


def relay_url(url: object, token: Optional[object]) -> Tuple[str, str]:
    """``(to dial, to show)``: the URL with ``token`` as a query parameter, and the URL
    without its query or credentials. Raises ``TypeError`` or ``ValueError`` naming
    what is wrong."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    if token is not None and not isinstance(token, str):
        raise TypeError(f"token must be a str, got {type(token).__name__}")
    # urlsplit drops tabs and line breaks without a word: the URL dialled would not be
    # the one given.
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ValueError(f"url {url!r} holds whitespace or a control character")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"url {url!r} is not a ws:// or wss:// URL")
    try:
        parts.port
    except ValueError as e:  # a port past 65535 stopped the dialler later, untold
        raise ValueError(f"url {url!r}: {e}") from None
    shown = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query=""))
    if token is not None:
        query = urllib.parse.parse_qsl(parts.query) + [("token", token)]
        parts = parts._replace(query=urllib.parse.urlencode(query))
    return urllib.parse.urlunsplit(parts), shown


def check_seconds(name: str, value: object) -> float:
    """``value`` if it is a finite number of seconds above 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: {value} is not a number of seconds above 0")
    return float(value)
