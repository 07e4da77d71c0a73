"""The stored resources' lock on PostgreSQL (plangate.storage.pg_lock): what is its own. What
every lock does (readers share, a writer alone, a waiting writer first, across processes and
gone with its holder) is tested for it with the others in tests/core/test_resource_lock.py."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.test_resource_lock import _held_in_thread
from plangate.resource_lock import ResourcesBusy, lock_of
from plangate.storage import open_storage
from plangate.storage.pg_lock import PostgresLock

_names = itertools.count()


@pytest.fixture
def url(pg_server: str, tmp_path: Path) -> str:
    from servers import new_database

    return new_database(pg_server, f"lock{next(_names)}_{id(tmp_path)}")


@pytest.fixture
def locks(url: str) -> Iterator[list[PostgresLock]]:
    made: list[PostgresLock] = []
    yield made
    for lock in made:
        lock.close()


def _lock(locks: list[PostgresLock], url: str, wait: float) -> PostgresLock:
    lock = PostgresLock(url, wait)
    locks.append(lock)
    return lock


def test_a_database_out_of_reach_is_busy_and_nothing_waits_forever(locks: list[PostgresLock]) -> None:
    """Fail closed: no lock, no call."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    lock = _lock(locks, f"postgresql://plangate@127.0.0.1:{port}/none", 1)
    with pytest.raises(ResourcesBusy, match="cannot lock the stored resources: postgresql"), lock.hold(True):
        pytest.fail("held without a database")


def test_a_kept_session_that_died_is_replaced(url: str, locks: list[PostgresLock]) -> None:
    """A connection kept from an earlier hold whose session was ended (the database
    restarted): the next hold takes a new one instead of failing."""
    import psycopg

    lock = _lock(locks, url, 5)
    with lock.hold(True):
        pass
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    with lock.hold(True):
        pass


def test_open_storage_gives_the_postgres_store_this_lock(url: str) -> None:
    """What the executor takes (`lock_of`) for a PostgreSQL store: the database's lock, so two
    workers' stores exclude each other; and `close` lets its sessions go."""
    one, other = open_storage(url), open_storage(url)
    try:
        mine: Any = lock_of(one.resources)
        assert isinstance(mine, PostgresLock)
        theirs: Any = lock_of(other.resources)
        theirs.wait = 0.3
        done, thread = _held_in_thread(mine, exclusive=True)
        with pytest.raises(ResourcesBusy), theirs.hold(False):
            pass
        done.set()
        thread.join(10)
    finally:
        one.close()
        other.close()
    assert mine._idle == []


def test_a_run_on_the_postgres_store_waits_for_another_workers_writer(url: str) -> None:
    """An executor on a PostgreSQL store (a library deployment on many machines): while
    another process holds the stored resources' lock for a write, a call that writes is not
    made; past the wait its run halts, the tool uncalled, and the audit log says why."""
    from core.conftest import assistant_policy, call, lit, owner_trigger, plan
    from core.test_resource_lock import HOLDER
    from plangate.execute import Executor, Grant
    from plangate.plan import check_plan, parse_plan
    from plangate.review import review
    from plangate.testing import FixtureTools
    from plangate.trigger import classify

    policy = assistant_policy()
    data = plan(call("w", "write_file", path=lit("notes.md"), content=lit("hello")))
    classified = classify(owner_trigger(), policy.doc.deployment)  # type: ignore[arg-type]
    grant = Grant(classified=classified, checked=check_plan(parse_plan(data), policy.catalog),
                  review=review(classified, data, policy))
    assert grant.review.verdict == "approve"
    store = open_storage(url)
    tools = FixtureTools()
    try:
        lock: Any = lock_of(store.resources)
        lock.wait = 0.3
        executor = Executor(policy, tools, store.audit, resources=store.resources)
        with subprocess.Popen([sys.executable, "-c", HOLDER, url, "60"], stdout=subprocess.PIPE,
                              text=True) as holder:
            try:
                assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
                result = executor.run(grant, "run-1")
            finally:
                holder.kill()
        assert result.status == "halted" and "busy" in (result.message or ""), result
        assert tools.calls == []
        kinds = [e.kind for e in store.audit.tail(50)]
        assert "block" in kinds and "call" not in kinds, kinds
        # The holder gone, the same run's call goes through.
        assert executor.run(grant, "run-2").status == "completed"
        assert tools.calls == [("write_file", {"path": "notes.md", "content": "hello"})]
    finally:
        store.close()


def test_a_server_without_idle_session_timeout_still_gives_the_lock(url: str, locks: list[PostgresLock],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL before 14 refuses the unknown setting at connect: the lock connects without
    it (there is no such timeout to turn off)."""
    import psycopg

    real = psycopg.connect

    def older_server(*args: Any, **kwargs: Any) -> Any:
        if "idle_session_timeout" in kwargs.get("options", ""):
            raise psycopg.OperationalError('FATAL:  unrecognized configuration parameter "idle_session_timeout"')
        return real(*args, **kwargs)

    monkeypatch.setattr(psycopg, "connect", older_server)
    with _lock(locks, url, 5).hold(True):
        pass
