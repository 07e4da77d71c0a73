"""Round 23 red-team routes: the stored resources' lock (plangate.resource_lock).

Claim attacked: a call that writes, runs, loads or discloses stored content is decided and
made under one lock (writers alone, the others together), across the processes on one
SQLite file, so no other run's write lands between its check and the end of the call.

Every test asserts the SAFE outcome: it fails while the route it demonstrates is live.
Tests marked "Held" pin what resisted (they pass). Lock waits are shortened (the
mechanism is the same at the shipped 300 s); every thread is joined with a timeout.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from test_review_round21_storage import EVIL, _Interleaving  # type: ignore[import-not-found]
from test_routes import (  # type: ignore[import-not-found]
    OWNER,
    STRANGER,
    call,
    lit,
    owner_chat,
    plan,
    ref,
)

from plangate import Gate
from plangate.demo import shipped_policy
from plangate.deployments.inbox import AssistantRuntime
from plangate.fronts.mcp.gateway import make_gate
from plangate.fronts.mcp.run import GatedRun, Request
from plangate.labels import Label
from plangate.resource_lock import ResourcesBusy
from plangate.testing import ScriptedExtractor

WAIT = 0.3
"""The lock's wait in these tests (30 s in a deployment)."""


def _upstream_result(text: str) -> Any:
    """What an MCP upstream returns (see tests/fronts_mcp/test_run.py)."""
    return SimpleNamespace(is_error=False, structured_content=None,
                           content=[SimpleNamespace(type="text", text=text)])


def _in_thread(fn: Any, timeout: float = 20.0) -> Any:
    """Run `fn` in a thread of its own (another worker: `_HELD` is per thread) and return
    what it returned, or raise what it raised."""
    out: list[Any] = []
    err: list[BaseException] = []

    def target() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            err.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the other worker never finished"
    if err:
        raise err[0]
    return out[0]


# ------------------------------------------------- (1) the MCP gateway: a lock held by an agent


def _mcp_agent(db: str, steps: list[dict[str, Any]], seed_trigger: str) -> GatedRun:
    """An MCP gateway's granted run over the shipped assistant's policy, on the shared audit
    database (what `plangate mcp-gateway` builds: `make_gate` + `GatedRun`)."""
    gate, capture = make_gate(shipped_policy(), db)
    outcome = gate.submit(owner_chat(seed_trigger), plan(*steps))
    assert outcome.review.verdict == "approve" and capture.grant is not None, outcome.review.rules
    run = GatedRun({"policy": gate.policy, "resources": gate.resources}, capture.grant,
                   outcome.run_id, audit=gate.audit, max_refusals=5)
    run.start()
    return run


def _other_worker(root: Path, db: str) -> tuple[Gate, AssistantRuntime]:
    rt = AssistantRuntime(root / "rt", owner=OWNER)
    gate = Gate(shipped_policy(), rt, audit=db, extractor=ScriptedExtractor())
    gate.resources.lock.wait = WAIT  # type: ignore[attr-defined]
    return gate, rt


def test_an_mcp_agent_that_stops_calling_holds_every_workers_writes(tmp_path: Path) -> None:
    """The MCP gateway runs the executor in a greenlet that pauses *inside* the locked
    region: at the `call` record while it waits for the agent's request, in the tool call
    while the upstream runs, and at the `result` record until the agent's next request.
    So an agent whose next step writes (or that has just made a write) and then simply
    stops calling holds the machine-wide lock of the shared audit database for as long as
    it likes (`idle_s` is only looked at on its next call): every other worker's write,
    command, skill load or share halts after the wait. Safe: the lock is not held while
    the run waits for its agent; the other worker's write runs."""
    db = str(tmp_path / "audit.sqlite")
    agent = _mcp_agent(db, [call("w", "file_write", path=lit("notes/scratch.md", "payload"),
                                 content=lit("draft", "payload"))],
                       "write draft into notes/scratch.md")
    try:
        # The agent was granted the plan and has not called anything yet.
        gate, rt = _other_worker(tmp_path, db)
        out = _in_thread(lambda: gate.submit(owner_chat("write hello into notes/todo.md"), plan(
            call("t", "file_write", path=lit("notes/todo.md", "payload"), content=lit("hello", "payload")))))
        assert out.review.verdict == "approve", out.review.rules
        assert out.run is not None and out.run.status == "completed", (out.run.status, out.run.message)
        assert rt.snapshot()["files"].get("notes/todo.md") == "hello"
    finally:
        agent.close("test over")


def _stranger_reply_goes_out(tmp_path: Path, agent_holds: bool) -> int:
    """One world: an MCP agent reads the owner's secret, writes a scratch file and then
    either calls on (its run ends) or goes quiet; meanwhile another worker runs the
    owner's unattended "reply to mallory" whose hijacked plan quotes a write's result."""
    db = str(tmp_path / "audit.sqlite")
    gate, rt = _other_worker(tmp_path, db)
    rt.seed({"files": {"private/salary.txt": "182,400", "notes/x.md": "x"}})
    # The state of notes/x.md is anyone's to know, as a store that holds the state could
    # say (`resources.KnowsState`): a write there is public to say happened
    # (resources.call_state), so the reply below is approved in both worlds.
    gate.resources.state_of = (  # type: ignore[attr-defined]
        lambda name, otherwise: Label() if name == "workspace:notes/x.md" else otherwise)

    agent = _mcp_agent(db, [
        call("r", "file_read", path=lit("private/salary.txt", "payload")),
        call("w", "file_write", path=lit("notes/scratch.md", "payload"), content=lit("done", "payload"))],
        "read private/salary.txt and write done into notes/scratch.md")
    try:
        assert agent.drive(Request("file_read", {"path": "private/salary.txt"})) == ("forward", "r")
        assert agent.drive(_upstream_result("182,400"))[0] == "labelled"
        # The agent has read the secret; whether it goes quiet after its write is its choice.
        assert agent.drive(Request("file_write", {"path": "notes/scratch.md", "content": "done"})) == ("forward", "w")
        assert agent.drive(_upstream_result("4 bytes"))[0] == "labelled"
        if not agent_holds:
            agent.status()  # the agent polls plan_status: its run moves on and ends
        out = _in_thread(lambda: gate.submit(owner_chat("reply to mallory@evil.example: thanks, got it"), plan(
            call("p", "file_write", path=lit("notes/x.md"), content=lit("-")),
            call("s", "mail_send", to={"list": [lit(STRANGER, "payload")]},
                 subject=lit("thanks, got it", "payload"),
                 body={"concat": [lit("thanks, got it", "payload"), ref("p", "bytes")]}))))
        assert out.review.verdict == "approve", out.review.rules
    finally:
        agent.close("test over")
    return len([m for m in rt.snapshot()["sent"] if STRANGER in m["to"]])


def test_whether_a_strangers_reply_goes_out_is_chosen_by_an_agent_that_read_a_secret(tmp_path: Path) -> None:
    """A run that cannot have the lock in time halts its step, and a halted step skips its
    dependents: whether the owner's unattended reply to a stranger (which quotes a write's
    result, public by `call_state`) goes out depends on whether some other run holds the
    lock. An MCP agent that has read the owner's salary holds it at will (route above),
    so it spells the salary to the stranger one bit per reply, through no label at all.
    Safe: the reply goes out (or not) the same in both worlds."""
    sent = [_stranger_reply_goes_out(tmp_path / f"w{int(h)}", agent_holds=h) for h in (False, True)]
    assert sent[0] == sent[1], sent


# ---------------------------------------- (2) one database, two names: two locks


def _race_run_tests(a: Gate, b: Gate, rt: AssistantRuntime) -> dict[str, Any]:
    """Round 21's route: run_tests on worker `a`, a hijacked run on worker `b` writes a test
    file just as it starts (`_Interleaving`). `a` waits for `b` to end (up to 5 s), and `b`
    waits at most 1 s for the lock: when the two exclude each other, `b`'s write halts
    (busy) and nothing of it runs; when they do not, it lands before pytest starts.
    Returns the runtime's snapshot."""
    payload = ("import pathlib\n"
               f"pathlib.Path('../skills/sync.md').write_text({EVIL!r})\n"
               "pathlib.Path('pwned.txt').write_text('ran')\n")
    b.resources.lock.wait = 1.0  # type: ignore[attr-defined]

    def other_run() -> None:
        b.submit(owner_chat("tidy my notes"), plan(
            call("w", "file_write", path=lit("tests/test_zz.py"), content=lit(payload))))

    racing = a.executor.tools
    assert isinstance(racing, _Interleaving)
    racing.HEAD_START = 5.0  # type: ignore[misc]
    racing.before["run_tests"] = other_run
    out = a.submit(owner_chat("run my tests"), plan(call("t", "run_tests")))
    racing.settle()
    assert out.review.verdict == "approve", out.review.rules
    return rt.snapshot()


def _world(tmp_path: Path) -> tuple[AssistantRuntime, _Interleaving]:
    rt = AssistantRuntime(tmp_path / "rt", owner=OWNER)
    rt.seed({"files": {"tests/test_ok.py": "def test_ok():\n    pass\n"}})
    return rt, _Interleaving(rt)


def test_two_workers_on_one_database_through_a_symlink_do_not_exclude_each_other(tmp_path: Path) -> None:
    """`FileLock` locks `<the path as given>-plangate-resources`: two workers configured
    with two names for one SQLite file (a symlink to it, as `/var/lib/plangate/audit.db`
    -> `audit-2026.db`, or a hard link) open one database (SQLite resolves the link) but
    lock two different files, so round 21's write lands between run_tests' check and its
    run again. Safe: the lock follows the database, not its spelling (e.g. `flock` the
    resolved file, or a lock file named from `realpath`/the inode)."""
    real = tmp_path / "audit.sqlite"
    alias = tmp_path / "plangate.db"
    rt, racing = _world(tmp_path)
    a = Gate(shipped_policy(), racing, audit=str(real), extractor=ScriptedExtractor())
    os.symlink(real, alias)
    b = Gate(shipped_policy(), rt, audit=str(alias), extractor=ScriptedExtractor())
    a.audit.append("note", "-", {"one": "database"})  # b sees what a wrote: one database
    assert [e.kind for e in b.audit.tail(1)] == ["note"]
    snap = _race_run_tests(a, b, rt)
    assert "pwned.txt" not in snap["files"], "the other worker's test file ran"


def test_two_workers_on_one_database_named_by_a_uri_do_not_exclude_each_other(
        tmp_path: Path, monkeypatch: Any) -> None:
    """A database named by a `file:` URI (this machine's SQLite reads every name as a URI:
    `file:/var/lib/plangate/audit.db?mode=rwc` opens that file) gets a `LocalLock` of its
    own *per store*: not even two gates of one process exclude each other, let alone two
    processes. Safe: a store on a file shares the lock of that file whatever its name."""
    monkeypatch.chdir(tmp_path)  # AuditLog makes the name's "parent" folder: keep it here
    uri = f"file:{tmp_path / 'audit.sqlite'}?mode=rwc"
    rt, racing = _world(tmp_path)
    a = Gate(shipped_policy(), racing, audit=uri, extractor=ScriptedExtractor())
    b = Gate(shipped_policy(), rt, audit=uri, extractor=ScriptedExtractor())
    assert (tmp_path / "audit.sqlite").exists()
    snap = _race_run_tests(a, b, rt)
    assert "pwned.txt" not in snap["files"], "the other worker's test file ran"


# ------------------------------- (3) the file lock lets a stream of readers starve a writer


def _writer_gets_in_among_overlapping_readers(lock: Any) -> bool:
    """Two threads take the lock shared in turn, each hold overlapping the other's, for up
    to 3 s; a writer waits its `wait` (0.5 s) among them."""
    stop = threading.Event()
    started = [threading.Event(), threading.Event()]

    def reader(i: int) -> None:
        if i:
            started[0].wait(2)
            stop.wait(0.05)  # half a hold behind the other
        while not stop.is_set():
            try:
                with lock.hold(False):
                    started[i].set()
                    stop.wait(0.1)
            except ResourcesBusy:
                continue

    readers = [threading.Thread(target=reader, args=(i,), daemon=True) for i in (0, 1)]
    for t in readers:
        t.start()
    try:
        assert started[0].wait(2) and started[1].wait(2)
        try:
            with lock.hold(True):
                return True
        except ResourcesBusy:
            return False
    finally:
        stop.set()
        for t in readers:
            t.join(5)
            assert not t.is_alive()


def test_a_steady_stream_of_shared_holders_starves_a_writer_across_processes(tmp_path: Path) -> None:
    """`LocalLock` lets a waiting writer go before readers that come after it; `FileLock`
    (every worker on a SQLite file) does not: a writer polls `LOCK_EX|LOCK_NB` and fails
    while any shared hold is on, so runs whose loads, shares and forwards overlap keep every
    other worker's write out until it halts (busy), and with it whatever depends on the
    write (the channel of the test above). Safe: as with `LocalLock`, a waiting writer gets
    in. (Lower priority: a denial of writes, and a channel only as wide as the overlap a
    run can arrange.)"""
    from plangate.resource_lock import FileLock, LocalLock

    assert _writer_gets_in_among_overlapping_readers(LocalLock(0.5))  # control
    assert _writer_gets_in_among_overlapping_readers(FileLock(str(tmp_path / "db-plangate-resources"), 0.5))


def test_a_writer_that_gives_up_does_not_leave_the_readers_it_held_back_waiting() -> None:
    """`LocalLock`: a waiting writer holds back readers that come after it; when the writer
    gives up (busy) it leaves without waking them, so a reader that could share the lock
    with the reader already in waits out its own time and halts its run (a spurious busy,
    with the channel of route 1). Safe: the reader gets in once the writer has given up.
    (Lower priority.)"""
    import time

    from plangate.resource_lock import LocalLock

    lock = LocalLock(0.4)
    done = threading.Event()
    got = threading.Event()
    outcome: dict[str, Any] = {}

    def first_reader() -> None:
        with lock.hold(False):
            got.set()
            done.wait(1.5)

    def writer() -> None:
        try:
            with lock.hold(True):
                outcome["writer"] = True
        except ResourcesBusy:
            outcome["writer"] = False

    def second_reader() -> None:
        try:
            with lock.hold(False):
                outcome["reader"] = time.monotonic()
        except ResourcesBusy:
            outcome["reader"] = None

    threads = [threading.Thread(target=first_reader, daemon=True)]
    threads[0].start()
    assert got.wait(2)
    threads.append(threading.Thread(target=writer, daemon=True))
    threads[1].start()
    time.sleep(0.2)
    threads.append(threading.Thread(target=second_reader, daemon=True))
    threads[2].start()
    threads[2].join(3)
    done.set()
    for t in threads:
        t.join(3)
        assert not t.is_alive()
    assert outcome["writer"] is False  # the first reader held on past the writer's wait
    assert outcome["reader"] is not None, "the second reader halted (busy) behind a writer that had left"


# ------------------------------------------------------------------------------ held


def test_held_control_one_name_two_workers_exclude_each_other(tmp_path: Path) -> None:
    """Held (control for the two tests above): the same race, both workers naming the file
    the same way; the write waits for run_tests."""
    db = str(tmp_path / "audit.sqlite")
    rt, racing = _world(tmp_path)
    a = Gate(shipped_policy(), racing, audit=db, extractor=ScriptedExtractor())
    b = Gate(shipped_policy(), rt, audit=db, extractor=ScriptedExtractor())
    snap = _race_run_tests(a, b, rt)
    assert "pwned.txt" not in snap["files"]


def test_held_a_busy_write_records_neither_the_call_nor_a_label(tmp_path: Path) -> None:
    """Held: a writer that cannot have the lock is not made, leaves no stored label for
    what it would have written, and its block is audited."""
    db = str(tmp_path / "audit.sqlite")
    gate, rt = _other_worker(tmp_path, db)
    lock = gate.resources.lock  # type: ignore[attr-defined]
    got, done = threading.Event(), threading.Event()

    def hold() -> None:
        with lock.hold(False):
            got.set()
            done.wait(10)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert got.wait(5)
    try:
        out = gate.submit(owner_chat("write hello into notes/todo.md"), plan(
            call("t", "file_write", path=lit("notes/todo.md", "payload"), content=lit("hello", "payload"))))
    finally:
        done.set()
        holder.join(5)
    assert out.run is not None and out.run.status == "halted" and "busy" in out.run.message
    assert "notes/todo.md" not in rt.snapshot()["files"]
    assert gate.resources.label_of("workspace:notes/todo.md") is None
    kinds = [e.kind for e in gate.audit.tail(1000, run_id=out.run_id)]
    assert "block" in kinds and "call" not in kinds, kinds


def test_held_the_store_wrappers_share_their_stores_lock(tmp_path: Path) -> None:
    """Held: the wrappers an executor runs over (the support desk's `RowLabels`, the
    service's `ReplayResources`) take their store's lock, not the per-process fallback, so
    every worker on the file excludes the others through them too."""
    from plangate.audit import AuditLog
    from plangate.audit.resource_labels import SqliteResourceLabels
    from plangate.deployments.support.labels import RowLabels
    from plangate.execute import Executor
    from plangate.resource_lock import FileLock
    from plangate.service.runs import ReplayResources

    store = SqliteResourceLabels(AuditLog(str(tmp_path / "audit.sqlite")))
    assert isinstance(store.lock, FileLock)
    for wrapper in (RowLabels(store, None), ReplayResources(store, None)):  # type: ignore[arg-type]
        assert wrapper.lock is store.lock
        assert Executor(shipped_policy(), None, None, resources=wrapper).lock is store.lock  # type: ignore[arg-type]
