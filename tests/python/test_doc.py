"""The RunDoc API of the installed package: operations and the state's shape, merge,
save/load, change events, the past (state_at, diff), undo, fork and merge_from."""

from __future__ import annotations

import re

import pytest

from runmesh import ChangeEvent, RunDoc

STEPS = ["plan", {"id": "build", "name": "Build", "agent": "Builder"}, "ship"]


def test_create_graft_prune_restore_and_flags_give_the_documented_state() -> None:
    doc = RunDoc.create(title="Release 42", steps=STEPS, region="us-east-1", user="alice")
    g1 = doc.graft("plan", "SecurityAgent")
    g2 = doc.graft(g1, "Reviewer")
    assert re.fullmatch(r"g\d{10}-[0-9a-f]{12}", g1)
    assert doc.prune("ship") is True
    assert doc.prune("ship") is False, "already pruned"
    doc.set_flag("priority", "high")
    doc.set_flag("retries", 3)
    doc.set_flag("dryRun", False)
    assert doc.clear_flag("dryRun") is True
    assert doc.clear_flag("dryRun") is False

    state = doc.state()
    assert state["runId"] == doc.run_id
    assert state["title"] == "Release 42"
    assert state["steps"][1] == {"id": "build", "name": "Build", "agent": "Builder"}
    assert [
        (n["name"] if n["id"] in (g1, g2) else n["id"], n["kind"], n["depth"], n["pruned"])
        for n in state["pipeline"]
    ] == [
        ("plan", "step", 0, False),
        ("SecurityAgent", "graft", 1, False),
        ("Reviewer", "graft", 2, False),
        ("build", "step", 0, False),
        ("ship", "step", 0, True),
    ]
    assert state["flags"] == {"priority": "high", "retries": 3}
    assert state["flagConflicts"] == {}
    assert [(g["agentName"], g["after"], g["by"], g["region"]) for g in state["grafts"]] == [
        ("SecurityAgent", "plan", "alice", "us-east-1"),
        ("Reviewer", g1, "alice", "us-east-1"),
    ]
    assert state["prunedSteps"][0]["id"] == "ship"
    assert doc.restore("ship") is True
    assert doc.state()["prunedSteps"] == []
    assert doc.graft_count == 2
    assert doc.lamport >= state["grafts"][1]["lamport"]
    assert len(doc.document_id) > 20

    history = doc.history()
    assert [h["op"] for h in history] == [
        "create", "graft", "graft", "prune", "setFlag", "setFlag", "setFlag", "clearFlag", "restore",
    ]
    assert (history[1]["by"], history[1]["region"], history[1]["node"]) == ("alice", "us-east-1", g1)


def test_concurrent_grafts_after_one_step_merge_to_one_order_on_both_replicas() -> None:
    us = RunDoc.create(title="R", steps=STEPS, region="us-east-1", user="alice")
    eu = RunDoc.load(us.save(), region="eu-central-1", user="bob")
    us.graft("plan", "SecurityAgent")
    eu.graft("plan", "PerformanceAgent")
    us.set_flag("mode", "fast")
    eu.set_flag("mode", "safe")
    assert us.merge(eu) is True
    assert eu.merge(us) is True
    assert us.merge(eu) is False, "nothing new"
    state = us.state()
    assert state == eu.state()
    assert us.heads() == eu.heads()
    grafts = [n["name"] for n in state["pipeline"] if n["kind"] == "graft"]
    assert grafts == ["PerformanceAgent", "SecurityAgent"], "equal lamport: eu-central-1 first"
    assert sorted(state["flagConflicts"]["mode"]) == ["fast", "safe"]


def test_save_load_and_incremental_saves_round_trip() -> None:
    doc = RunDoc.create(title="R", steps=STEPS, user="carol")
    full = doc.save()
    assert isinstance(full, bytes)
    doc.graft("build", "Linter")
    chunk = doc.save_incremental()
    copy = RunDoc.load(full)
    assert copy.run_id == doc.run_id, "the bytes name their run"
    assert copy.apply_changes(chunk) is True
    assert copy.apply_changes(chunk) is False, "a chunk again changes nothing"
    assert copy.state() == doc.state()
    assert RunDoc.load(bytearray(doc.save())).state() == doc.state()
    assert RunDoc.load(memoryview(doc.save())).state() == doc.state()


def test_change_events_say_whether_a_change_was_local() -> None:
    a = RunDoc.create(steps=STEPS, user="a")
    b = RunDoc.load(a.save(), user="b")
    seen = []
    off = a.on_change(lambda e: seen.append(e))
    a.graft("plan", "X")
    b.graft("plan", "Y")
    a.merge(b)
    a.prune("plan")
    a.prune("plan")  # no change: no event
    off()
    a.restore("plan")
    assert seen == [ChangeEvent(local=True), ChangeEvent(local=False), ChangeEvent(local=True)]


def test_a_listener_that_raises_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    doc = RunDoc.create(steps=["a"])
    seen = []

    def broken(_: ChangeEvent) -> None:
        raise RuntimeError("listener bug")

    doc.on_change(broken)
    doc.on_change(seen.append)
    doc.graft("a", "X")
    assert seen == [ChangeEvent(local=True)]
    assert "listener bug" in caplog.text


def test_state_at_shows_the_past_and_diff_says_what_changed_and_who_did_it() -> None:
    doc = RunDoc.create(title="Past", steps=STEPS, region="eu-west-1", user="dana")
    first = doc.graft("plan", "Alpha")
    then = doc.heads()
    doc.graft("build", "Beta")
    doc.prune(first)
    doc.set_flag("stage", "final")

    past = doc.state_at(then)
    assert [g["agentName"] for g in past["grafts"]] == ["Alpha"]
    assert past["prunedSteps"] == []
    assert len(doc.state()["grafts"]) == 2, "reading the past leaves the present alone"

    diff = doc.diff(then)
    assert [(g["agentName"], g["by"], g["region"]) for g in diff["graftsAdded"]] == [("Beta", "dana", "eu-west-1")]
    assert [m["id"] for m in diff["pruned"]] == [first]
    flag = diff["flags"][0]
    assert (flag["key"], flag["after"], flag["by"]) == ("stage", "final", "dana")
    assert [c["op"] for c in diff["changes"]] == ["graft", "prune", "setFlag"]
    assert doc.diff(then, then)["changes"] == []


def test_undo_fork_and_merge_from() -> None:
    doc = RunDoc.create(title="Undo", steps=STEPS, region="eu-west-1", user="dana")
    alpha = doc.graft("plan", "Alpha")
    grafted = doc.history()[-1]["hash"]
    events = []
    doc.on_change(lambda e: events.append(e.local))

    undo = doc.undo(grafted)
    assert re.fullmatch(r"[0-9a-f]{64}", undo)
    assert events == [True]
    state = doc.state()
    assert not any(n["id"] == alpha for n in state["pipeline"]), "Alpha left the pipeline"
    assert state["grafts"][0]["retracted"]["by"] == "dana", "and stays, marked retracted"
    last = doc.history()[-1]
    assert (last["op"], last["undoes"]) == ("retract", grafted)

    fork = doc.fork(at=[grafted])
    assert fork.run_id != doc.run_id
    assert fork.fork_of == {"run": doc.run_id, "at": [grafted]}
    assert doc.fork_of is None
    assert any(n["name"] == "Alpha" for n in fork.state()["pipeline"]), "the fork starts before the undo"
    fork.graft("ship", "Tried")
    assert doc.merge_from(fork) is True
    names = [n["name"] for n in doc.state()["pipeline"]]
    assert "Tried" in names and "Alpha" not in names
    assert doc.history()[-1]["op"] == "merge"
    assert doc.merge_from(fork) is False, "nothing new"


def test_a_run_id_given_at_creation_is_kept_and_an_empty_replica_fills_by_merge() -> None:
    run_id = "123e4567-e89b-12d3-a456-426614174000"
    doc = RunDoc.create(run_id=run_id, steps=["a"])
    assert doc.run_id == run_id
    empty = RunDoc.empty(run_id)
    assert empty.graft_count == 0
    assert empty.merge(doc) is True
    assert empty.state() == doc.state()
