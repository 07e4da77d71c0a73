"""Stored resource labels in SQLite, so taint survives between runs (persisted instructions).

Lookups are indexed: a concrete name is one primary-key read; a pattern reads the names
sharing its literal prefix (`workspace:notes/*` reads `workspace:notes/...` only); stored
names that are themselves patterns (an open or oversized argument) are few and always
compared. Overlap is `plangate.resources.overlaps` either way, as before.

A pattern that is a literal prefix followed by one `*` (`mail:*`, `workspace:notes/*`: what
an argument not known before the run leaves of a catalog pattern) is answered from one row:
`resource_label_prefixes` keeps, per prefix that has been asked for, the join of the labels
of every concrete name under it. The row is filled by the exact scan the first time its
prefix is asked for (in a write transaction, so no write slips between the scan and the
row) and every later write joins its label into the rows of the prefixes of its name, in
the write's own transaction. Writes only ever join, so the row stays exactly the join the
scan would compute (tests/storage/test_suite.py checks both against a full scan on random
names and labels); `AuditLog.verify()` recomputes every row from the stored labels.

Every write is a chained `label_stored` event carrying the label now stored, written in the
same transaction as the row, and the row keeps that event's sequence number: a label washed
clean in the database no longer matches its event and is refused on read; `AuditLog.verify()`
compares every row with the chain (`plangate.audit.coverage`).
"""

from __future__ import annotations

import fnmatch
import json
import re
import sqlite3
from collections.abc import Mapping
from typing import Any

from plangate.audit.coverage import LABEL_KIND, canonical, join_prefix, prefix_query, upper_bound
from plangate.audit.log import AuditLog
from plangate.errors import AuditError
from plangate.labels import Label, join_all
from plangate.resource_lock import FileLock, LocalLock, ResourceLock
from plangate.resources import WILDCARD, has_wildcard, literal_prefix, overlaps

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resource_labels (
    name TEXT PRIMARY KEY,
    label TEXT NOT NULL
);
"""
_PREFIX_SCHEMA = """
CREATE TABLE IF NOT EXISTS resource_label_prefixes (
    prefix TEXT PRIMARY KEY,
    label TEXT
);
"""
# A number that moves whenever either table changes, by whichever connection or program
# (SQLite triggers, so also an older plangate or a hand edit): answers kept by a process
# stay valid while it stands still, across the audit writes that change nothing here.
_VERSION_SCHEMA = """
CREATE TABLE IF NOT EXISTS resource_label_version (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO resource_label_version(id, version) VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS resource_label_version_only_up BEFORE UPDATE ON resource_label_version
    WHEN NEW.version <= OLD.version OR NEW.id IS NOT OLD.id
BEGIN SELECT RAISE(ABORT, 'the stored labels'' version only goes up'); END;
CREATE TRIGGER IF NOT EXISTS resource_label_version_stays BEFORE DELETE ON resource_label_version
BEGIN SELECT RAISE(ABORT, 'the stored labels'' version row stays'); END;
CREATE INDEX IF NOT EXISTS resource_labels_seq ON resource_labels(seq);
""" + "".join(
    f"CREATE TRIGGER IF NOT EXISTS {table}_{event.lower()}_moves_version AFTER {event} ON {table} "
    "BEGIN UPDATE resource_label_version SET version = version + 1 WHERE id = 0; END;\n"
    for table in ("resource_labels", "resource_label_prefixes") for event in ("INSERT", "UPDATE", "DELETE"))
# The key kept answers hold for: the version, and the newest chained label write (each row
# keeps its `label_stored` event's number). A hand edit that set the version back (its
# triggers dropped first) does not bring kept answers back: a label written since moved the
# second number, which only an edit of a label row could set back, and that `verify()` finds.
_VERSION = ("SELECT (SELECT version FROM resource_label_version WHERE id = 0), "
            "(SELECT max(seq) FROM resource_labels)")
# The prefix rows a record updates: one primary-key probe per prefix of the name.
_PREFIXES_OF = ("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < length(?1)) "
                "SELECT prefix, label FROM n JOIN resource_label_prefixes ON prefix = substr(?1, 1, i)")

# GLOB reads these like fnmatch: `*`, `?` and the escapes `[*]`, `[?]`, `[[]`. Other sets
# differ (fnmatch negates with `[!`, GLOB with `[^`) and SQLite's string functions stop at
# a NUL: such patterns and names are compared in Python.
_ESCAPE = re.compile("\\[[*?\\[\U0010ffff]\\]")


def _glob_reads_alike(pattern: str) -> bool:
    return "\x00" not in pattern and "[" not in _ESCAPE.sub("", pattern)


# Each row with its `label_stored` event's kind and data, read in the same statement.
ROWS = ("SELECT r.name, r.label, r.seq, e.kind, e.data FROM resource_labels r "
         "LEFT JOIN audit_events e ON e.seq = r.seq WHERE ")
_WILD = ROWS + "r.wild = 1"
_EXACT = ROWS + "r.name = ?1 AND r.wild = 0"
_EXACT_OR_WILD = _EXACT + " UNION ALL " + _WILD
Row = tuple[str, str, int | None, str | None, str | None]

MAX_PREFIXES = 10_000
"""Prefix rows kept at most; a prefix asked for beyond them is answered by the scan."""

_COLUMNS = (("wild", "INTEGER NOT NULL DEFAULT 1"), ("seq", "INTEGER"))
_INDEX = "CREATE INDEX IF NOT EXISTS resource_labels_wild ON resource_labels(wild)"


class SqliteResourceLabels:
    def __init__(self, log: AuditLog) -> None:
        self._log = log
        self._db: sqlite3.Connection = log.connection
        self._db.executescript(_SCHEMA)
        have = {r[1] for r in self._db.execute("PRAGMA table_info(resource_labels)")}
        for column, decl in _COLUMNS:
            if column not in have:  # a log from before indexed lookups: every row is compared
                self._db.execute(f"ALTER TABLE resource_labels ADD COLUMN {column} {decl}")
        self._db.execute(_INDEX)
        self._db.executescript(_PREFIX_SCHEMA)
        with log.lock:  # two processes opening a new file at once: one creates, one finds
            self._db.executescript(_VERSION_SCHEMA)
        self._lock = log.lock
        # Calls that write, run, load or disclose stored content, in every process on this
        # file: see plangate.resource_lock.
        self.lock: ResourceLock = _lock_of(self._db)
        # Answers already given, valid while the tables stand still: `resource_label_version`
        # moves with every change to them, by any connection. An answer read while an append
        # through this connection was open, or across one (the log's `generation` is odd, or
        # moved), is not kept: it may have read a change that is then rolled back.
        self._answers: tuple[Any, dict[str, Label | None]] = (None, {})
        self._adopt_legacy_rows()

    def _adopt_legacy_rows(self) -> None:
        """Rows stored before labels were chained get their `label_stored` event once, on
        the first open by this version, and are vouched for from then on."""
        legacy = self._db.execute("SELECT name, label FROM resource_labels WHERE seq IS NULL").fetchall()
        for name, text in legacy:
            def adopt(db: sqlite3.Connection, seq: int, name: str = name) -> None:
                db.execute("UPDATE resource_labels SET seq = ?, wild = ? WHERE name = ?",
                           (seq, int(has_wildcard(name)), name))
            self._log.append(LABEL_KIND, "-", {"name": name, "label": json.loads(text),
                                               "adopted": True}, also=adopt)

    def label_of(self, pattern: str, moment: _Moment | None = None) -> Label | None:
        """The join of the stored labels the pattern may name (`moment`: see `moment()`)."""
        try:
            return self._label_of(pattern, moment)
        except (sqlite3.Error, UnicodeError) as exc:  # a lone surrogate cannot be encoded
            raise AuditError(f"cannot look up the stored label of {pattern!r}: {exc}") from None

    def moment(self) -> _Moment:
        """A reader for one review: whether the kept answers still hold is asked once, now,
        instead of at every lookup (a review reads about a dozen patterns). Lookups that miss
        read the database then; an append through the log meanwhile sends every lookup back
        to `label_of`. Answers are kept from one review to the next until a label changes
        (`resource_label_version`), so a review asks the database only for names it has
        not seen. As with `label_of`, another process's commit after a lookup is as if
        it came just after it: the run decides every call again with the labels of its
        moment."""
        generation = self._log.generation
        try:
            version = self._version()
        except sqlite3.Error as exc:
            raise AuditError(f"cannot read the stored labels: {exc}") from None
        return _Moment(self, (version, generation))

    def _version(self) -> tuple[int, int | None]:
        version, newest = self._db.execute(_VERSION).fetchone()
        if version is None:
            raise AuditError("the stored labels' version row is missing (edited outside plangate)")
        return version, newest

    def _label_of(self, pattern: str, moment: _Moment | None = None) -> Label | None:
        generation = self._log.generation
        version: tuple[int, int | None]
        if moment is not None and moment.key[1] == generation:
            version = moment.key[0]
        else:
            moment = None
            version = self._version()
        cache = self._answers
        if cache[0] != version:
            cache = self._answers = (version, {})
        answers = cache[1]
        if pattern in answers:
            return answers[pattern]
        answer = self._lookup(pattern, moment.wild() if moment is not None else None)
        # Kept in the dict of its own moment (a newer one may have replaced it meanwhile).
        if generation % 2 == 0 and self._log.generation == generation and len(answers) < 4096:
            answers[pattern] = answer
        return answer

    def _lookup(self, pattern: str, wild: list[Row] | None = None) -> Label | None:
        """The join of every stored label the pattern may name. `wild`: the stored patterns'
        rows, when the caller read them already at this moment."""
        hits: list[Label] = []
        prefix = prefix_query(pattern)
        if prefix is not None:
            joined = self._prefix_label(prefix)
            if joined is not None:
                hits.append(joined)
            rows = wild if wild is not None else self._db.execute(_WILD).fetchall()
        elif has_wildcard(pattern):
            hits += self._scan(self._db, pattern)
            rows = wild if wild is not None else self._db.execute(_WILD).fetchall()
        elif wild is not None:
            rows = [*self._db.execute(_EXACT, (pattern,)).fetchall(), *wild]
        else:  # the name itself and the stored patterns, in one statement
            rows = self._db.execute(_EXACT_OR_WILD, (pattern,)).fetchall()
        hits += [checked_row(*row) for row in rows if overlaps(row[0], pattern)]
        return join_all(hits) if hits else None

    @staticmethod
    def _scan(db: sqlite3.Connection, pattern: str) -> list[Label]:
        """The distinct labels of the concrete names a pattern matches, over the prefix's
        index range: matched by SQLite's GLOB where it reads the pattern as fnmatch does
        (`_glob_reads_alike`), else by fnmatch on the range's names. Rows are checked
        against the chain by `AuditLog.verify()`, not one by one here."""
        prefix = literal_prefix(pattern)
        bound = upper_bound(prefix)
        where, params = "name >= ? AND wild = 0", [prefix]
        if bound is not None:
            where, params = where + " AND name < ?", [*params, bound]
        if _glob_reads_alike(pattern):
            texts = db.execute(f"SELECT DISTINCT label FROM resource_labels WHERE {where} AND name GLOB ?",
                               (*params, pattern)).fetchall()
        else:
            texts = list({(t,) for n, t in db.execute(f"SELECT name, label FROM resource_labels WHERE {where}",
                                                      params) if fnmatch.fnmatchcase(n, pattern)})
        return [Label.from_json(json.loads(t)) for (t,) in texts]

    def _prefix_label(self, prefix: str) -> Label | None:
        """The join of the labels of every concrete name starting with `prefix` (None: no
        such name), from its row; the first time, from the scan, kept as the row."""
        row = self._db.execute("SELECT label FROM resource_label_prefixes WHERE prefix = ?",
                               (prefix,)).fetchone()
        if row is not None:
            return Label.from_json(json.loads(row[0])) if row[0] is not None else None
        try:
            # The write lock first: a label written after the scan and before the row exists
            # would not be joined into it. (The log's transaction: while it is open, the
            # log's `generation` is odd, so no other thread keeps what it reads meanwhile.)
            with self._log.transaction() as db:
                hits = self._scan(db, prefix + WILDCARD)
                joined = join_all(hits) if hits else None
                (count,) = db.execute("SELECT count(*) FROM resource_label_prefixes").fetchone()
                if count < MAX_PREFIXES:
                    db.execute(
                        "INSERT OR IGNORE INTO resource_label_prefixes(prefix, label) VALUES (?, ?)",
                        (prefix, json.dumps(joined.to_json()) if joined is not None else None))
        except AuditError as exc:
            raise AuditError(f"cannot read the stored labels under {prefix!r}: {exc}") from None
        return joined

    def _checked(self, name: str, text: str, seq: int | None) -> Label:
        event = self._log.event(seq) if seq is not None else None
        if event is None:
            return checked_row(name, text, seq, None, None)
        return checked_row(name, text, seq, event.kind, None, event.data)

    def record(self, name: str, label: Label) -> None:
        """Join the label of what was written into the resource's label. A write never
        washes taint away: the store cannot tell an overwrite from an append."""
        joined: dict[str, Any] = {}

        def prepare(db: sqlite3.Connection) -> Mapping[str, Any]:
            row = db.execute("SELECT label, seq FROM resource_labels WHERE name = ?", (name,)).fetchone()
            new = label
            if row is not None:
                new = self._checked(name, row[0], row[1]).join(label)
            joined["label"] = new.to_json()
            return {"name": name, "label": joined["label"]}

        def store(db: sqlite3.Connection, seq: int) -> None:
            db.execute(
                "INSERT INTO resource_labels(name, label, wild, seq) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET label = excluded.label, seq = excluded.seq",
                (name, json.dumps(joined["label"]), int(has_wildcard(name)), seq))
            if not has_wildcard(name):
                if "\x00" in name:  # length() and substr() stop at a NUL: one probe a prefix
                    rows = [r for i in range(len(name) + 1) for r in db.execute(
                        "SELECT prefix, label FROM resource_label_prefixes WHERE prefix = ?", (name[:i],))]
                else:
                    rows = db.execute(_PREFIXES_OF, (name,)).fetchall()
                for prefix, text in rows:
                    db.execute("UPDATE resource_label_prefixes SET label = ? WHERE prefix = ?",
                               (json.dumps(join_prefix(text, joined["label"])), prefix))

        try:
            self._log.append(LABEL_KIND, "-", {}, prepare=prepare, also=store)
        except AuditError as exc:
            raise AuditError(f"cannot record the label of {name!r}: {exc}") from None


_PARSED: dict[str, tuple[str, Label]] = {}
"""A stored label's text → its canonical JSON and its `Label` (a pure function of the
text; a few distinct labels cover every row)."""


def checked_row(name: str, text: str, seq: int | None, kind: str | None, data: str | None,
                parsed: Mapping[str, Any] | None = None) -> Label:
    """The stored label (`text`) of `name`, if its `label_stored` event (`kind`, `data` as
    stored, or `parsed`) says the same; else an error: a label edited outside plangate must
    not decide anything. The event's text is compared whole with the one a write of this
    name and label would have chained; any other form (an adopted row's event, an escaped
    name) is parsed and compared field by field."""
    known = _PARSED.get(text)
    if (known is not None and kind == LABEL_KIND and data is not None
            and data == f'{{"label":{known[0]},"name":{json.dumps(name, ensure_ascii=False)}}}'):
        return known[1]
    stored = json.loads(text)
    if parsed is None and kind is not None and data is not None:
        parsed = json.loads(data)
    if (seq is None or kind != LABEL_KIND or parsed is None or parsed.get("name") != name
            or canonical(parsed.get("label")) != canonical(stored)):
        raise AuditError(f"stored label of {name!r} does not match the audit log "
                         "(edited outside plangate)")
    label = Label.from_json(stored)
    if len(_PARSED) >= 256:
        _PARSED.clear()
    _PARSED[text] = (canonical(stored), label)
    return label


def _lock_of(db: sqlite3.Connection) -> ResourceLock:
    """The stored resources' lock of the database file itself, whatever name opened it (a
    symlink, a `file:` URI): beside the file SQLite names, its symlinks resolved. A database
    with no file (in memory) is this process's alone: one lock per connection."""
    main = next((row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main"), "")
    if not main:
        return LocalLock()
    return FileLock(main + "-plangate-resources")


class _Moment:
    """`SqliteResourceLabels.moment()`: label lookups for one review. The stored patterns
    (usually none or a few) are read once for it, with the first lookup that needs them."""

    def __init__(self, store: SqliteResourceLabels, key: tuple[tuple[int, int | None], int]) -> None:
        self._store = store
        self.key = key
        self._wild: list[Row] | None = None

    def wild(self) -> list[Row]:
        if self._wild is None:
            self._wild = self._store._db.execute(_WILD).fetchall()
        return self._wild

    def label_of(self, pattern: str) -> Label | None:
        return self._store.label_of(pattern, self)

    def record(self, name: str, label: Label) -> None:
        self._store.record(name, label)
