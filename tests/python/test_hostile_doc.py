"""`RunDoc` given values an outsider might pass: each is refused with an exception that
names it (never a panic), or, where the value is harmless, taken without harm."""

from __future__ import annotations

import threading
from typing import Any, Callable, List

import pytest

from runmesh import RunDoc, RunError

RUN = "123e4567-e89b-12d3-a456-426614174000"


@pytest.fixture
def doc() -> RunDoc:
    return RunDoc.create(title="T", steps=["plan", "build"])


def test_bytes_of_another_run_are_refused_under_a_run_id(doc: RunDoc) -> None:
    with pytest.raises(RunError, match=f"are run {doc.run_id}, not run {RUN}"):
        RunDoc.load(doc.save(), run_id=RUN)
    assert RunDoc.load(doc.save(), run_id=doc.run_id).state() == doc.state()
    fork = doc.fork(run_id=RUN)
    assert RunDoc.load(fork.save(), run_id=RUN).run_id == RUN, "a fork names its own run"


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**70, 10**100])
def test_an_int_past_64_bits_is_refused_not_rounded(doc: RunDoc, value: int) -> None:
    heads = doc.heads()
    with pytest.raises(RunError, match=f"flag 'k': {value} is outside the 64-bit integer range"):
        doc.set_flag("k", value)
    assert doc.heads() == heads


def test_ints_at_the_64_bit_limits_are_kept_exactly(doc: RunDoc) -> None:
    for value in (2**63 - 1, -(2**63), 2**53 + 1):
        doc.set_flag("k", value)
        assert doc.state()["flags"]["k"] == value


def test_merging_a_run_with_itself_changes_nothing(doc: RunDoc) -> None:
    heads = doc.heads()
    assert doc.merge(doc) is False
    assert doc.merge_from(doc) is False
    assert doc.heads() == heads


def hostile_calls(doc: RunDoc) -> List[Callable[[], Any]]:
    s = doc.save()
    return [
        lambda: doc.graft("plan", "\ud800"),
        lambda: doc.set_flag("\ud800", 1),
        lambda: doc.set_flag("k", "\udfff"),
        lambda: doc.set_flag("k", float("inf")),
        lambda: doc.set_flag("k" * 5_000_000, 1),
        lambda: doc.graft("plan", "x" * 5_000_000),
        lambda: RunDoc.create(steps=[{"id": 5}]),  # type: ignore[list-item]
        lambda: RunDoc.create(title="t" * 5_000_000),
        lambda: RunDoc.load(s[: len(s) // 2]),
        lambda: RunDoc.load(b"\x85\x6f\x4a\x83" + b"\xff" * 1000),
        lambda: RunDoc.load(bytes(range(256)) * 4000),
        lambda: doc.apply_changes(b"\x85\x6f\x4a\x83" + b"\x00" * 100),
        lambda: doc.state_at(["0" * 64]),
        lambda: doc.diff(["g" * 64]),
        lambda: doc.undo("0" * 64),
        lambda: doc.fork(run_id=doc.run_id),
        lambda: RunDoc.empty("not-a-uuid"),
        lambda: doc.prune(None),  # type: ignore[arg-type]
    ]


def test_hostile_values_raise_a_value_or_type_error_never_a_panic(doc: RunDoc, memory_cap: None) -> None:
    heads = doc.heads()
    for n, call in enumerate(hostile_calls(doc)):
        try:
            call()
        except (ValueError, TypeError) as e:
            assert str(e), f"call {n}: an empty message"
        except BaseException as e:  # a PanicException is a BaseException
            raise AssertionError(f"call {n} raised {type(e).__name__}: {e}") from None
    assert doc.heads() == heads, "nothing was written"


def test_a_doc_used_from_several_threads_stays_whole(doc: RunDoc) -> None:
    errors: List[BaseException] = []

    def work() -> None:
        try:
            for i in range(100):
                doc.graft("plan", f"A{i}")
                doc.state()
                doc.save_incremental()
        except BaseException as e:  # noqa: BLE001 - the test reports it
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert doc.graft_count == 400
    assert RunDoc.load(doc.save()).state() == doc.state()
