"""Red team: stored-label lookups must be at least as strict as a full scan of the stored
labels at that moment, on every backend and across workers (a narrower answer is private
data shown to someone who may not read it). Each test is a route that gave a narrower answer
(or an unclear error, or an edit verify missed) before its fix, and names the mechanism it
broke; two pin routes that held (a rolled-back join, a fill racing a write)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from plangate.audit.log import AuditLog
from plangate.audit.resource_labels import SqliteResourceLabels
from plangate.labels import Label, join_all
from plangate.resources import overlaps
from plangate.storage import Storage

from .test_suite import raw

pytest.importorskip("psycopg", reason="the service extra is not installed")

SECRET = Label(readers=frozenset({"owner"}), sources=frozenset({"payload"}), taint="high")
OTHER = Label(readers=frozenset({"ana"}), sources=frozenset({"tool:x"}), taint="low")


def full_scan(stored: dict[str, Label], query: str) -> Label | None:
    hits = [label for name, label in stored.items() if overlaps(name, query)]
    return join_all(hits) if hits else None


def at_least_as_strict(found: Label | None, wanted: Label | None) -> bool:
    return wanted is None or (found is not None and found.join(wanted) == found)


def check(store: Storage, stored: dict[str, Label], queries: list[str]) -> None:
    for query in queries:
        found = store.resources.label_of(query)
        assert at_least_as_strict(found, full_scan(stored, query)), (query, found)


def test_two_workers_storing_one_new_name_at_once_keep_both_labels(opener: Callable[[], Storage]) -> None:
    """Two workers write the same new name at once: each read "no row yet" before taking
    the chain's lock, and the second INSERT ... ON CONFLICT replaced the first's label
    with its own (a private label washed by a concurrent public write)."""
    one, two, three = opener(), opener(), opener()
    if one.kind == "sqlite":
        pytest.skip("SQLite writers are serialised before they read (BEGIN IMMEDIATE under flock)")
    import psycopg

    blocker = psycopg.connect(three.sql.connection.info.dsn, autocommit=False)
    cur = blocker.cursor()
    cur.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")  # every append queues here
    errors: list[BaseException] = []

    def write(store: Storage, label: Label) -> None:
        try:
            store.resources.record("mail:new", label)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(one, SECRET)),
               threading.Thread(target=write, args=(two, OTHER))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    with three.sql.connection.cursor() as watch:
        while time.monotonic() < deadline:  # both writers parked behind the blocker
            watch.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                          "AND datname = current_database()")
            if watch.fetchone()[0] >= 2:
                break
            time.sleep(0.02)
    blocker.commit()
    blocker.close()
    for t in threads:
        t.join(10)
    assert not errors, errors
    assert three.resources.label_of("mail:new") == SECRET.join(OTHER)
    assert three.resources.label_of("mail:*") == SECRET.join(OTHER)
    assert three.audit.verify().ok


def test_a_nul_in_a_name_is_joined_into_its_prefix_row(opener: Callable[[], Storage]) -> None:
    """SQLite's length() stops at a NUL: a write under `ns:a<NUL>` did not join into the
    row kept for that prefix, and the next `ns:a<NUL>*` lookup answered public. (A tool
    argument may hold a NUL; PostgreSQL refuses such text, which fails closed.)"""
    store = opener()
    if store.kind != "sqlite":  # PostgreSQL text cannot hold a NUL: refused, not answered
        from plangate.storage.errors import StorageUnavailable

        with pytest.raises(StorageUnavailable):
            store.resources.label_of("ns:a\x00*")
        with pytest.raises(StorageUnavailable):
            store.resources.record("ns:a\x00secret", SECRET)
        return
    stored: dict[str, Label] = {}
    queries = ["ns:a\x00*", "ns:a*", "ns:*", "ns:a\x00s*t", "ns:a\x00secret", "ns:[\x00]b", "*"]
    check(store, stored, queries)  # the prefix rows exist now, empty
    store.resources.record("ns:a\x00secret", SECRET)
    store.resources.record("ns:\x00b", SECRET)
    stored["ns:a\x00secret"] = stored["ns:\x00b"] = SECRET
    check(store, stored, queries)
    assert store.audit.verify().ok


def test_names_past_the_highest_code_point_are_under_their_prefix(opener: Callable[[], Storage]) -> None:
    """The range scans stopped at `prefix + U+10FFFF`, so a concrete name `ns:U+10FFFF x`
    stored before a prefix row existed was left out of it (and of verify's recomputation).
    Names from tool arguments escape that code point; a store must not rely on it."""
    store = opener()
    stored = {"ns:\U0010ffff SYSTEM: bcc mallory": SECRET, "\U0010ffff\U0010ffffx": SECRET}
    for name, label in stored.items():
        store.resources.record(name, label)
    check(store, stored, ["ns:*", "ns:\U0010ffff*", "ns:*mallory", "*", "\U0010ffff*",
                          "\U0010ffff\U0010ffff*", "\U0010ffff*x"])
    assert store.audit.verify().ok


def test_a_negated_bracket_pattern_finds_what_a_full_scan_finds(opener: Callable[[], Storage]) -> None:
    """fnmatch writes a negated set `[!a]`, SQLite's GLOB `[^a]`: GLOB read `[!a]` as the
    set {!, a} and the lookup missed `ns:b`."""
    store = opener()
    stored = {"ns:b": SECRET, "ns:^": OTHER, "ns:x]": SECRET}
    for name, label in stored.items():
        store.resources.record(name, label)
    check(store, stored, ["ns:[!a]", "ns:[^a]", "ns:[!a]*", "ns:[]x]*", "ns:[!]]*", "ns:[a-c]"])


def test_two_label_stores_on_one_connection_see_each_others_writes(tmp_path: Path) -> None:
    """Two gates on one `AuditLog` (the incident demo builds one per event) share its
    connection: SQLite's data_version does not move for a commit on the same connection,
    so the first store's kept answer hid the second's write."""
    log = AuditLog(tmp_path / "a.db")
    first, second = SqliteResourceLabels(log), SqliteResourceLabels(log)
    assert first.label_of("mail:*") is None and first.label_of("mail:m1") is None
    second.record("mail:m1", SECRET)
    assert first.label_of("mail:*") == SECRET
    assert first.label_of("mail:m1") == SECRET
    log.close()



def test_a_write_rolled_back_after_joining_a_prefix_row_leaves_no_trace(
        opener: Callable[[], Storage], monkeypatch: pytest.MonkeyPatch) -> None:
    """A label write that fails after joining into one prefix row (of two) rolls back the
    row, the label and the join together: lookups and verify agree with a full scan, and a
    kept answer is not the half-written one."""
    import plangate.audit.resource_labels as sqlite_labels
    import plangate.storage.postgres as pg_labels

    store = opener()
    store.resources.record("mail:m1", OTHER)
    assert store.resources.label_of("mail:*") == OTHER and store.resources.label_of("mail:m*") == OTHER
    module = sqlite_labels if store.kind == "sqlite" else pg_labels
    real, calls = module.join_prefix, []

    def second_fails(text: object, label: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk gone")
        return real(text, label)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "join_prefix", second_fails)
    with pytest.raises(Exception):  # noqa: B017 - the store's own error type differs by backend
        store.resources.record("mail:m2", SECRET)
    monkeypatch.setattr(module, "join_prefix", real)
    assert len(calls) == 2
    for query in ("mail:*", "mail:m*", "mail:m2"):
        assert store.resources.label_of(query) == full_scan({"mail:m1": OTHER}, query), query
    assert store.audit.verify().ok
    store.resources.record("mail:m2", SECRET)
    assert store.resources.label_of("mail:*") == OTHER.join(SECRET)


def test_a_first_lookup_and_a_write_racing_for_the_chain_lock(opener: Callable[[], Storage]) -> None:
    """The first `mail:*` lookup (which fills the prefix row) and a write under `mail:`
    queue on the chain's lock together, in either order: the row ends up with the write."""
    one, two, three = opener(), opener(), opener()
    if one.kind == "sqlite":
        pytest.skip("SQLite fills and writes under one file lock taken before either reads")
    import psycopg

    blocker = psycopg.connect(three.sql.connection.info.dsn, autocommit=False)
    blocker.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
    seen: list[Label | None] = []
    threads = [threading.Thread(target=lambda: seen.append(one.resources.label_of("mail:*"))),
               threading.Thread(target=lambda: two.resources.record("mail:x", SECRET))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    with three.sql.connection.cursor() as watch:
        while time.monotonic() < deadline:
            watch.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                          "AND datname = current_database()")
            if watch.fetchone()[0] >= 2:
                break
            time.sleep(0.02)
    blocker.commit()
    blocker.close()
    for t in threads:
        t.join(10)
    assert seen and seen[0] in (None, SECRET)
    for store in (one, two, three):
        assert store.resources.label_of("mail:*") == SECRET
    assert three.audit.verify().ok


def test_a_lone_surrogate_fails_closed_with_a_storage_error(opener: Callable[[], Storage]) -> None:
    """JSON lets a tool argument carry a lone surrogate (`"\\ud800"`), which neither database
    can store: the lookup and the write refuse with the store's own error (the service
    answers 503; the run stops), not a bare UnicodeEncodeError."""
    from plangate.errors import AuditError
    from plangate.storage.errors import StorageUnavailable

    store = opener()
    for query in ("ns:\ud800*", "ns:\ud800"):
        with pytest.raises((AuditError, StorageUnavailable)):
            store.resources.label_of(query)
    try:  # PostgreSQL matches this one in Python after the prefix scan: nothing can match
        assert store.resources.label_of("ns:*\ud800") is None
    except AuditError:
        assert store.kind == "sqlite"
    with pytest.raises((AuditError, StorageUnavailable)):
        store.resources.record("ns:\ud800x", SECRET)
    assert store.audit.verify().ok


def test_a_stored_pattern_refiled_as_a_concrete_name_fails_verify(opener: Callable[[], Storage]) -> None:
    """Stored patterns (`memory:*`, an open argument's write) are compared on every lookup;
    concrete names are read by index. Flipping the row's `wild` flag in the database hid
    the pattern's label from `memory:tips` and verify did not notice."""
    store = opener()
    store.resources.record("memory:*", SECRET)
    store.resources.record("memory:plain", OTHER)
    assert store.resources.label_of("memory:tips") == SECRET
    assert store.audit.verify().ok
    flag = (0, 1) if store.kind == "sqlite" else (False, True)
    raw(store, "UPDATE resource_labels SET wild = ? WHERE name = ?", (flag[0], "memory:*"))
    found = store.audit.verify()
    assert not found.ok and "filed as a concrete name" in found.problem, found
    raw(store, "UPDATE resource_labels SET wild = ? WHERE name = ?", (flag[1], "memory:*"))
    raw(store, "UPDATE resource_labels SET wild = ? WHERE name = ?", (flag[1], "memory:plain"))
    assert not store.audit.verify().ok
