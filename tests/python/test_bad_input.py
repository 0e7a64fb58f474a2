"""Bad input raises a Python exception that names what was wrong, and writes nothing:
``RunError`` (a ``ValueError``) for values the core refuses, ``TypeError`` for the wrong
type of argument."""

from __future__ import annotations

import pytest

import runmesh
from runmesh import RunDoc, RunError

STEPS = ["plan", "build"]


@pytest.fixture
def doc() -> RunDoc:
    return RunDoc.create(title="T", steps=STEPS, user="bob")


def test_refused_edits_name_the_value_and_write_nothing(doc: RunDoc) -> None:
    heads = doc.heads()
    with pytest.raises(RunError, match='unknown anchor "nope"'):
        doc.graft("nope", "A")
    with pytest.raises(RunError, match="agent name is empty"):
        doc.graft("plan", "   ")
    with pytest.raises(RunError, match="500 characters long, the limit is 200"):
        doc.graft("plan", "x" * 500)
    with pytest.raises(RunError, match='unknown node "ghost"'):
        doc.prune("ghost")
    with pytest.raises(RunError, match='invalid value for flag "k": an object'):
        doc.set_flag("k", {"nested": True})  # type: ignore[arg-type]
    with pytest.raises(RunError, match="flag 'k': nan is not a JSON scalar"):
        doc.set_flag("k", float("nan"))
    with pytest.raises(RunError, match="flag 'k': .* is not a JSON scalar"):
        doc.set_flag("k", object())  # type: ignore[arg-type]
    assert doc.heads() == heads, "nothing was written"
    assert isinstance(RunError("x"), ValueError)


def test_arguments_of_the_wrong_type_raise_type_error_naming_the_argument(doc: RunDoc) -> None:
    with pytest.raises(TypeError, match="after"):
        doc.graft(42, "A")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected bytes, got str"):
        RunDoc.load("bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="steps must be a list"):
        RunDoc.create(steps="plan")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="merge\\(\\) takes another RunDoc, got dict"):
        doc.merge({})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="merge_from\\(\\) takes another RunDoc"):
        doc.merge_from(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="heads must be a non-empty list of change hashes"):
        doc.state_at([])
    with pytest.raises(TypeError, match="from_heads must be a non-empty list"):
        doc.diff("abc")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_change\\(\\) takes a function"):
        doc.on_change(3)  # type: ignore[arg-type]


def test_refused_runs_ids_hashes_and_bytes_name_them(doc: RunDoc) -> None:
    with pytest.raises(RunError, match='step id "a" appears twice'):
        RunDoc.create(steps=["a", "a"])
    with pytest.raises(RunError, match='invalid run id "not-a-uuid"'):
        RunDoc.create(run_id="not-a-uuid")
    with pytest.raises(RunError, match="steps must be a list of step ids or"):
        RunDoc.create(steps=[{"name": "no id"}])
    with pytest.raises(RunError, match="title is 201 characters long, the limit is 200"):
        RunDoc.create(title="t" * 201)
    with pytest.raises(RunError, match=r"refused document bytes \(3 bytes\): chunk header declares 4 bytes"):
        RunDoc.load(bytes([1, 2, 3]))
    bare = RunDoc.empty(doc.run_id)
    with pytest.raises(RunError, match="pass the run id"):
        RunDoc.load(bare.save())
    assert RunDoc.load(bare.save(), run_id=doc.run_id).run_id == doc.run_id
    with pytest.raises(RunError, match="cannot merge run"):
        doc.merge(RunDoc.create())
    with pytest.raises(RunError, match="shares no history"):
        doc.merge_from(RunDoc.create(steps=["x"]))
    with pytest.raises(RunError, match='heads: "nothex" is not a change hash'):
        doc.state_at(["nothex"])
    with pytest.raises(RunError, match="this run has no change abab"):
        doc.state_at(["ab" * 32])
    with pytest.raises(RunError, match='change: "nothex" is not a change hash'):
        doc.undo("nothex")
    with pytest.raises(RunError, match="cannot be undone: it creates the run"):
        doc.undo(doc.history()[0]["hash"])
    with pytest.raises(RunError, match="region"):
        RunDoc.create(region="r" * 65)


def test_connect_refuses_a_bad_url_store_or_delay_before_dialling() -> None:
    run_id = RunDoc.create().run_id
    with pytest.raises(ValueError, match="url 'http://x' is not a ws:// or wss:// URL"):
        runmesh.connect("http://x", run_id)
    with pytest.raises(TypeError, match="store must have load"):
        runmesh.connect("ws://127.0.0.1:1/ws", run_id, store=object())
    with pytest.raises(RunError, match="first: -1 is not a duration in seconds"):
        runmesh.connect("ws://127.0.0.1:1/ws", run_id, min_delay=-1.0)
    with pytest.raises(RunError, match='invalid run id "nope"'):
        runmesh.connect("ws://127.0.0.1:1/ws", "nope")


def test_a_directory_store_refuses_a_run_id_that_is_not_a_uuid(tmp_path) -> None:
    store = runmesh.DirectoryStore(tmp_path)
    with pytest.raises(ValueError, match="run id '../etc' is not a UUID"):
        store.load("../etc")
