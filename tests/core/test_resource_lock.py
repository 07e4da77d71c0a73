"""The stored resources' lock (plangate.resource_lock): a call that writes, runs, loads or
discloses stored content is checked and made with no other run's write in between."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plangate.resource_lock import FileLock, LocalLock, ResourceLock, ResourcesBusy
from plangate.testing import ScriptedOwner

from .conftest import call, event_kinds, lit, make_gate, owner_trigger, plan, ref

KINDS = ["local", "file", "postgres"]


@pytest.fixture
def make_lock(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str, float], ResourceLock]]:
    """`make_lock(kind, wait)`: a lock of that kind; every lock of one test made by it is the
    same lock (one file, one database), each its own handle, as two workers hold them.
    `postgres`: a fresh database on the test PostgreSQL (plangate.storage.pg_lock)."""
    made: list[Any] = []
    urls: list[str] = []

    def make(kind: str, wait: float) -> ResourceLock:
        lock: Any
        if kind == "local":
            lock = made[0] if made else LocalLock(wait)  # one process's lock: itself
            lock.wait = wait
        elif kind == "file":
            lock = FileLock(str(tmp_path / "db-plangate-resources"), wait)
        else:
            from plangate.storage.pg_lock import PostgresLock
            from servers import new_database

            if not urls:
                urls.append(new_database(request.getfixturevalue("pg_server"), f"lock_{uuid.uuid4().hex}"))
            lock = PostgresLock(urls[0], wait)
        made.append(lock)
        return lock

    yield make
    for lock in made:
        if hasattr(lock, "close"):
            lock.close()


def _held_in_thread(lock: ResourceLock, exclusive: bool) -> tuple[threading.Event, threading.Thread]:
    """The lock held by another thread until the returned event is set."""
    got, done = threading.Event(), threading.Event()

    def hold() -> None:
        with lock.hold(exclusive):
            got.set()
            done.wait(10)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert got.wait(5)
    return done, thread


@pytest.mark.parametrize("kind", KINDS)
def test_readers_share_and_a_writer_waits_for_them(make_lock: Any, kind: str) -> None:
    """The reader in one thread (one worker) lets the other's reader in at once and keeps
    its writer out until it leaves."""
    lock, other = make_lock(kind, 0.2), make_lock(kind, 0.2)
    done, thread = _held_in_thread(lock, exclusive=False)
    with other.hold(False):  # another reader: at once
        pass
    started = time.monotonic()
    with pytest.raises(ResourcesBusy, match=r"busy for 0\.2 s"), other.hold(True):
        pass
    assert time.monotonic() - started >= 0.18
    done.set()
    thread.join(5)
    with other.hold(True):  # the reader has gone
        pass


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("handle", ["same", "other"])
def test_a_writer_excludes_readers_and_writers(make_lock: Any, kind: str, handle: str) -> None:
    """Through another handle (another worker), and through the same one from another
    thread (a lock whose hold belonged to a process or a connection would let it in)."""
    lock = make_lock(kind, 0.2)
    other = lock if handle == "same" else make_lock(kind, 0.2)
    done, thread = _held_in_thread(lock, exclusive=True)
    for exclusive in (False, True):
        with pytest.raises(ResourcesBusy), other.hold(exclusive):
            pass
    done.set()
    thread.join(5)
    with other.hold(False):
        pass


@pytest.mark.parametrize("kind", KINDS)
def test_a_thread_that_holds_the_lock_is_refused_at_once_not_left_waiting_for_itself(
        make_lock: Any, kind: str) -> None:
    lock = make_lock(kind, 30)
    started = time.monotonic()
    with lock.hold(False), pytest.raises(ResourcesBusy, match="already holds"), lock.hold(False):
        pass
    assert time.monotonic() - started < 5
    with lock.hold(True):  # and the refused attempt left nothing behind
        pass


@pytest.mark.parametrize("kind", KINDS)
def test_a_waiting_writer_goes_before_readers_that_come_after_it(make_lock: Any, kind: str) -> None:
    lock = make_lock(kind, 5)
    done, thread = _held_in_thread(lock, exclusive=False)
    order: list[str] = []

    def writer() -> None:
        with lock.hold(True):
            order.append("writer")

    w = threading.Thread(target=writer, daemon=True)
    w.start()
    time.sleep(0.1)  # the writer waits for the first reader

    def reader() -> None:
        with lock.hold(False):
            order.append("reader")

    r = threading.Thread(target=reader, daemon=True)
    r.start()
    time.sleep(0.1)
    assert order == []  # the late reader queues behind the writer
    done.set()
    for t in (thread, w, r):
        t.join(5)
    assert order == ["writer", "reader"]


HOLDER = """
import sys, time
from plangate.resource_lock import FileLock
from plangate.storage.pg_lock import PostgresLock
where = sys.argv[1]
with (PostgresLock if where.startswith("postgresql:") else FileLock)(where).hold(True):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.mark.parametrize("kind", ["file", "postgres"])
def test_the_lock_holds_across_processes_and_dies_with_its_holder(make_lock: Any, kind: str) -> None:
    """Another process (another worker; for PostgreSQL, on any machine) holds it: this one
    waits; killed with -9, its lock goes with it (the kernel's flock, PostgreSQL's session)."""
    lock = make_lock(kind, 0.3)
    where = lock.url if kind == "postgres" else lock.path
    with subprocess.Popen([sys.executable, "-c", HOLDER, where, "60"], stdout=subprocess.PIPE,
                          text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            with pytest.raises(ResourcesBusy), lock.hold(False):
                pass
            holder.kill()  # kill -9
            holder.wait(10)
            with make_lock(kind, 10).hold(True):
                pass
        finally:
            holder.kill()


def test_a_call_that_cannot_have_the_lock_is_not_made_and_its_run_halts() -> None:
    """Fail closed: a writer that waits past the lock's time stops its run; the tool is not
    called, and the audit log says why."""
    gate, tools = make_gate()
    gate.resources.lock = LocalLock(0.2)  # type: ignore[attr-defined]
    gate.executor.lock = gate.resources.lock  # type: ignore[attr-defined]
    done, thread = _held_in_thread(gate.resources.lock, exclusive=False)  # type: ignore[attr-defined]
    try:
        out = gate.submit(owner_trigger(), plan(call("w", "write_file", path=lit("notes.md"),
                                                     content=lit("hello"))))
    finally:
        done.set()
        thread.join(5)
    assert out.run is not None and out.run.status == "halted", out.run
    assert "busy" in (out.run.message or "")
    assert tools.calls == []
    assert "block" in event_kinds(gate) and "call" not in event_kinds(gate)


def _a_writer_gets_in(lock: ResourceLock) -> bool:
    """Whether another thread gets the lock alone within the lock's wait."""
    got: list[bool] = []

    def other_writer() -> None:
        try:
            with lock.hold(True):
                got.append(True)
        except ResourcesBusy:
            got.append(False)

    t = threading.Thread(target=other_writer, daemon=True)
    t.start()
    t.join(10)
    return got == [True]


class _OwnerWhoWaitsForAWrite(ScriptedOwner):
    """Says yes; while asked, another run's writer takes the lock (it must not be held
    across the question, which may take the owner minutes)."""

    def __init__(self, lock: ResourceLock, answer: Any = True) -> None:
        super().__init__(answer)
        self.lock = lock
        self.writer_got_in: list[bool] = []

    def approve(self, question: Any) -> Any:
        self.writer_got_in.append(_a_writer_gets_in(self.lock))
        return super().approve(question)


def test_the_owner_is_asked_with_the_lock_let_go_and_the_call_decided_again() -> None:
    gate, tools = make_gate({"read_file": {"account": "DE89370400440532013000"}})
    lock = LocalLock(0.5)
    gate.resources.lock = lock  # type: ignore[attr-defined]
    gate.executor.lock = lock  # type: ignore[attr-defined]
    owner = _OwnerWhoWaitsForAWrite(lock)
    gate.approver = owner  # type: ignore[attr-defined]
    gate.executor.approver = owner  # type: ignore[attr-defined]
    out = gate.submit(owner_trigger(), plan(
        call("f", "read_file", path=lit("p")),
        call("p", "pay", account=ref("f", "account"), amount=lit(5), memo=lit("m"))))
    assert owner.questions, out.review
    assert owner.writer_got_in and all(owner.writer_got_in)
    assert out.run is not None and out.run.status == "completed", out.run
    assert [t for t, _ in tools.calls] == ["read_file", "pay"]


def test_a_yes_covers_only_the_decision_the_owner_was_asked_about(monkeypatch: pytest.MonkeyPatch) -> None:
    """The call is decided again after the answer, under the lock: if another run's write
    changed what it escalates for while the owner was asked, the yes does not carry over."""
    from plangate.policy.engine import Decision

    gate, tools = make_gate({"read_file": {"account": "DE89370400440532013000"}})
    owner = ScriptedOwner(True)
    gate.approver = owner  # type: ignore[attr-defined]
    gate.executor.approver = owner  # type: ignore[attr-defined]
    real = gate.policy.decide

    def decide(facts: Any) -> Decision:
        decision = real(facts)
        if owner.questions and owner.questions[-1].step is not None and decision.verdict == "escalate":
            return Decision(verdict="escalate", rules=(*decision.rules, "a-rule-the-owner-was-not-asked-about"))
        return decision

    monkeypatch.setattr(gate.policy, "decide", decide)
    out = gate.submit(owner_trigger(), plan(
        call("f", "read_file", path=lit("p")),
        call("p", "pay", account=ref("f", "account"), amount=lit(5), memo=lit("m"))))
    assert [q.step for q in owner.questions] == [None, "p"]
    assert out.run is not None and out.run.status == "escalated", out.run
    assert [t for t, _ in tools.calls] == ["read_file"]


class _ProbingTools:
    """Canned results; during each call, another thread tries to take the lock alone."""

    def __init__(self, lock: ResourceLock) -> None:
        self.lock = lock
        self.writer_got_in: dict[str, bool] = {}

    def call(self, tool: str, args: Any) -> Any:
        from plangate.protocols import ToolResult

        self.writer_got_in[tool] = _a_writer_gets_in(self.lock)
        return ToolResult("ok")


@pytest.mark.parametrize(("tool", "args", "held"), [
    ("run_tests", {}, True),                                    # executes
    ("load_skills", {}, True),                                  # loads
    ("write_file", {"path": lit("n.md"), "content": lit("x")}, True),  # writes
    ("save_note", {"text": lit("x")}, True),                     # writes
    ("notify_owner", {"text": lit("x")}, False),                 # touches nothing stored
    ("read_file", {"path": lit("n.md")}, False),                 # reads: looked at again after
])
def test_which_calls_hold_the_lock_while_they_run(tool: str, args: dict[str, Any], held: bool) -> None:
    from plangate import Gate

    from .conftest import assistant_policy

    lock = LocalLock(0.3)
    tools = _ProbingTools(lock)
    gate = Gate(assistant_policy(), tools, audit=":memory:")
    gate.resources.lock = lock  # type: ignore[attr-defined]
    gate.executor.lock = lock
    out = gate.submit(owner_trigger(), plan(call("c", tool, **args)))
    assert out.run is not None and tool in tools.writer_got_in, (out.review.verdict, out.review.rules)
    assert tools.writer_got_in[tool] is not held


def test_a_call_that_discloses_stored_content_holds_the_lock_while_it_runs() -> None:
    """file_share sends a stored file: no write may land in it between its check and the
    send (the perf bench's policy over the 25-tool assistant catalog)."""
    from plangate import Gate
    from plangate.bench.perf import OWNER_TRIGGER, POLICY
    from plangate.policy import load_policy

    lock = LocalLock(0.3)
    tools = _ProbingTools(lock)
    gate = Gate(load_policy(POLICY), tools, audit=":memory:")
    gate.resources.lock = lock  # type: ignore[attr-defined]
    gate.executor.lock = lock
    trigger = {**OWNER_TRIGGER, "payload": "share docs/plan.md with bob@partner.example"}
    out = gate.submit(trigger, plan(call("c", "file_share", path=lit("docs/plan.md", "payload"),
                                         **{"with": {"list": [lit("bob@partner.example", "payload")]}})))
    assert gate.policy.catalog.tools["file_share"].discloses
    assert not gate.policy.catalog.tools["file_share"].effective_writes
    assert out.run is not None and tools.writer_got_in == {"file_share": False}, (out.review.verdict, out.review.rules)
