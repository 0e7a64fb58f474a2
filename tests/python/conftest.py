"""Fixtures: a real relay per test, and a way to wait for a condition."""

from __future__ import annotations

import asyncio
import json
import resource
import time
import urllib.request
from typing import Callable, Iterator, List

import pytest

from relay import Relay


@pytest.fixture
def relay() -> Iterator[Relay]:
    r = Relay()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def memory_cap() -> Iterator[None]:
    """Caps this process's address space at 2 GB more than it holds now, for a test that
    could otherwise exhaust memory: it fails with MemoryError instead."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        held = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (held + 2_000_000_000, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


async def until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Returns once ``check()`` is true; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def agents_on_relay(relay: Relay, run_id: str) -> List[str]:
    """The agent names of the run's grafts, as the relay's REST API gives them."""
    with urllib.request.urlopen(f"{relay.http}/api/crdt/runs/{run_id}/state", timeout=10) as res:
        return [g["agentName"] for g in json.load(res)["grafts"]]
