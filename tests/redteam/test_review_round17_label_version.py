"""Review round 17: stored-label answers kept across reviews, keyed by the number in
`resource_label_version` (src/plangate/audit/resource_labels.py, 7f4c01f).

The number is trusted as the whole truth about the label tables, but nothing protects the
row itself: the triggers only move it up on changes to the two label tables, and an UPDATE
(or a DELETE, after which the next open re-inserts 0) of `resource_label_version` is neither
refused nor seen by `AuditLog.verify()`. Whoever can write the database file can then wash
a label *without touching any label row*: after another worker stores taint on a name, set
the version back to what it was, and every process that had asked for that name before
keeps answering its old, clean answer - at review (`moment()`) and at run time (`label_of`,
the executor's re-check) alike - while the tables, the chain and `verify()` are all intact.
Before 7f4c01f, `PRAGMA data_version` (kept by SQLite, not writable) moved on any commit by
another connection, so no edit could bring a kept answer back; a washing edit of a label
row itself is refused on read (`_checked`) or found by `verify()`.

The same holds for dropping a trigger (`DROP TRIGGER resource_labels_insert_moves_version`):
`CREATE TRIGGER IF NOT EXISTS` restores it only at the next open, and writes by workers
already running do not move the version meanwhile.

Fixed: the row only goes up and stays (triggers), and kept answers are keyed on the pair
(version, the newest label row's event number), read in one statement. Suggested: BEFORE UPDATE/DELETE triggers on
`resource_label_version` that RAISE unless NEW.version > OLD.version, and key the kept
answers on something an edit cannot rewind without breaking the chain as well, e.g. the
pair (version, the sequence number of the newest `label_stored` event, read in the same
statement), or (version, `PRAGMA data_version`-style counter) - and have `verify()` check
the version row against the number of label changes the chain records (or at least that it
is no lower than the count of `label_stored` events). PostgreSQL's table has the same gap.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from plangate.audit import AuditLog, SqliteResourceLabels
from plangate.labels import Label

TAINTED = Label(sources=frozenset({"payload"}), taint="high")
CLEAN = Label(sources=frozenset({"instruction"}))


def _version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT version FROM resource_label_version WHERE id = 0").fetchone()[0]


def test_rewinding_the_version_row_serves_a_washed_label(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    mine = SqliteResourceLabels(AuditLog(path))  # one worker
    other = SqliteResourceLabels(AuditLog(path))  # another worker on the same file
    other.record("workspace:notes.md", CLEAN)

    # An earlier review on this worker asked about a skill file: nothing stored there yet.
    asked_at = _version(path)
    assert mine.moment().label_of("workspace:skills/hook.md") is None  # kept at `asked_at`

    # Another worker's run writes attacker text into it: its taint is stored (and chained).
    other.record("workspace:skills/hook.md", TAINTED)
    assert _version(path) > asked_at

    # A hand edit of the one row nothing vouches for: no label row, no event is touched.
    # (Since the fix the row only goes up: the edit drops that trigger first.)
    hand = sqlite3.connect(path, isolation_level=None)
    try:
        hand.execute("UPDATE resource_label_version SET version = ? WHERE id = 0", (asked_at,))
        raise AssertionError("the version row was set back by hand")
    except sqlite3.IntegrityError:
        pass
    hand.execute("DROP TRIGGER resource_label_version_only_up")
    hand.execute("UPDATE resource_label_version SET version = ? WHERE id = 0", (asked_at,))
    hand.close()

    at_review = mine.moment().label_of("workspace:skills/hook.md")
    at_run = mine.label_of("workspace:skills/hook.md")  # the executor's re-check
    fresh = SqliteResourceLabels(AuditLog(path)).label_of("workspace:skills/hook.md")
    verified = AuditLog(path).verify()
    assert fresh == TAINTED and verified.ok  # the tables and the chain are intact
    assert at_review == TAINTED and at_run == TAINTED, (
        f"after the version row was set back by hand, the stored taint of a skill file is read as "
        f"{at_review!r} at review and {at_run!r} at run time by a worker that asked before the write "
        f"(a fresh process reads {fresh!r}); verify() says ok={verified.ok}")


def test_a_deleted_version_row_is_refused_not_a_type_error(tmp_path: Path) -> None:
    """A missing version row (deleted by hand) must be an `AuditError` that names it, as on
    PostgreSQL ("the stored labels' version row is missing"); here the tuple unpacking of
    `None` raises TypeError out of `moment()` and `label_of()` (whose handlers catch only
    sqlite3.Error): callers that fail closed on AuditError only see an unexpected crash."""
    from plangate.errors import AuditError

    path = tmp_path / "a.db"
    store = SqliteResourceLabels(AuditLog(path))
    store.record("mail:m1", TAINTED)
    hand = sqlite3.connect(path, isolation_level=None)
    hand.execute("DROP TRIGGER resource_label_version_stays")  # the row stays, since the fix
    hand.execute("DELETE FROM resource_label_version")
    hand.close()
    for call in (store.moment, lambda: store.label_of("mail:m1")):
        try:
            call()
        except AuditError:
            continue
        except Exception as exc:
            raise AssertionError(f"a missing version row raised {exc!r}, not AuditError") from None
        raise AssertionError("a missing version row was not noticed")
