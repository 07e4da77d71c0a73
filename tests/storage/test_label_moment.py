"""`SqliteResourceLabels.moment()`: one review's lookups check the store's freshness once.
Its answers are `label_of`'s, a label another connection stores is seen by the next moment,
an append through the log during a moment sends lookups back to the full check, and answers
are kept across audit writes until a label changes."""

from __future__ import annotations

from pathlib import Path

from plangate.audit import AuditLog, SqliteResourceLabels
from plangate.labels import Label

TAINTED = Label(sources=frozenset({"payload"}), taint="high")
CLEAN = Label(sources=frozenset({"instruction"}))
PATTERNS = ["mail:*", "mail:m1", "workspace:docs/*", "workspace:docs/a.md", "workspace:none", "cal:*"]


def _stores(tmp_path: Path) -> tuple[SqliteResourceLabels, SqliteResourceLabels]:
    path = tmp_path / "a.db"
    mine, other = SqliteResourceLabels(AuditLog(path)), SqliteResourceLabels(AuditLog(path))
    mine.record("mail:m1", CLEAN)
    mine.record("workspace:docs/a.md", CLEAN)
    return mine, other


def test_a_moment_answers_as_label_of(tmp_path: Path) -> None:
    mine, _other = _stores(tmp_path)
    moment = mine.moment()
    assert [moment.label_of(p) for p in PATTERNS] == [mine.label_of(p) for p in PATTERNS]
    assert moment.label_of("mail:*") == CLEAN and moment.label_of("cal:*") is None


def test_the_next_moment_sees_another_workers_label(tmp_path: Path) -> None:
    """Kept answers are dropped when another connection commits: the next review's moment
    reads the new label (a moment that kept answers past the commit would wash it off)."""
    mine, other = _stores(tmp_path)
    first = mine.moment()
    assert first.label_of("mail:*") == CLEAN and first.label_of("mail:m1") == CLEAN
    other.record("mail:m1", TAINTED)
    later = mine.moment()
    assert later.label_of("mail:m1").untrusted  # type: ignore[union-attr]
    assert later.label_of("mail:*").untrusted  # type: ignore[union-attr]


def test_an_append_during_a_moment_sends_lookups_to_the_full_check(tmp_path: Path) -> None:
    """A label stored through this very connection during a moment (it does not move the
    version another connection reads) is seen by the moment's later lookups."""
    mine, _other = _stores(tmp_path)
    moment = mine.moment()
    assert moment.label_of("workspace:docs/*") == CLEAN
    mine.record("workspace:docs/b.md", TAINTED)
    assert moment.label_of("workspace:docs/*").untrusted  # type: ignore[union-attr]


def test_stored_patterns_are_read_once_per_moment_and_seen_by_the_next(tmp_path: Path) -> None:
    """Stored names that are patterns (a write to an open path) overlap every lookup they
    may name: a moment reads them once, and the next moment sees another worker's new one."""
    mine, other = _stores(tmp_path)
    mine.record("cal:*", TAINTED)
    moment = mine.moment()
    assert moment.label_of("cal:2026-12-02").untrusted  # type: ignore[union-attr]
    assert moment.label_of("cal:*").untrusted  # type: ignore[union-attr]
    assert moment.label_of("mail:m1") == CLEAN
    other.record("mail:*", TAINTED)
    assert mine.moment().label_of("mail:m1").untrusted  # type: ignore[union-attr]
    assert mine.moment().label_of("mail:m9").untrusted  # type: ignore[union-attr]


def _label_reads(store: SqliteResourceLabels) -> list[str]:
    """The statements of `store`'s connection that read stored labels, as they run."""
    seen: list[str] = []
    store._db.set_trace_callback(
        lambda sql: seen.append(sql) if "FROM resource_label" in sql and "version" not in sql else None)
    return seen


def test_answers_are_kept_across_audit_writes_that_change_no_label(tmp_path: Path) -> None:
    """The next review asks the database only for names it has not seen: an audit record
    (a review's trigger, plan, verdict) changes no label, so the kept answers stand."""
    mine, _other = _stores(tmp_path)
    for _ in range(2):  # the first pass also fills the prefixes' rows (which moves the version)
        assert [mine.moment().label_of(p) for p in PATTERNS]
    reads = _label_reads(mine)
    mine._log.append("verdict", "run_1", {"verdict": "approve"})
    moment = mine.moment()
    assert [moment.label_of(p) for p in PATTERNS] == [mine.label_of(p) for p in PATTERNS]
    assert reads == []


def test_any_change_to_the_tables_drops_the_kept_answers(tmp_path: Path) -> None:
    """The version moves by triggers, so a change by a program that knows nothing of it
    (an older plangate, a hand edit) is seen too: here a hand edit that washes a label is
    read, and refused, at the next lookup instead of the kept answer being served."""
    import sqlite3

    mine, other = _stores(tmp_path)
    mine.record("mail:m2", TAINTED)
    assert mine.moment().label_of("mail:m2") == TAINTED
    hand = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    hand.execute("UPDATE resource_labels SET label = ? WHERE name = 'mail:m2'",
                 ('{"readers": ["*"], "sources": [], "taint": "none"}',))
    hand.close()
    from plangate.errors import AuditError

    try:
        mine.moment().label_of("mail:m2")
    except AuditError as exc:
        assert "edited outside plangate" in str(exc)
    else:
        raise AssertionError("a kept answer was served after the table changed")
    other.record("mail:m3", TAINTED)  # and a write by another connection, as before
    assert mine.moment().label_of("mail:m3") == TAINTED
