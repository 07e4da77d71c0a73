"""A review's records chained inside PostgreSQL: one statement, one round trip, whatever
the number of workers.

`plangate_chain(events)` (migration 6) locks the chain's head row, hashes each event as
`plangate.audit.log.event_hash` does (SHA-256 of the compact JSON array `[previous hash, seq,
ts, kind, run id, data]`, UTF-8), inserts the rows and moves the head, all in the statement
that calls it. Before, a worker read the head and then swapped it (two round trips), and a
fifth of the swaps missed under two workers and went round again.

The database computes hashes that plangate checks, so nothing is taken on trust:

* **Probed before use.** A log's first append hashes a row of awkward strings (every
  control character, quotes, backslashes, non-ASCII, an astral character) in the database
  and in Python; any difference, or a missing function (an unmigrated database), and this
  log keeps to the compare-and-swap append. (A database that cannot answer is an error, as
  for any statement: the probe is asked again at the next append.)
* **Checked after use.** Every chained row comes back (seq, previous hash, hash) and is
  hashed again here; a difference is an `AuditError` and ends the fast path for good (the
  rows are in by then: `audit verify` reports the same break).
* **One more statement, same transaction.** `also` (an INSERT, UPDATE or DELETE) runs as
  a data-modifying WITH of the same statement: it lands with the events or not at all. The
  service inserts an approved plan's grant this way. A `guard` (a trigger's charge) is one
  more WITH: the events and the grant land only if it changed its row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from plangate.audit.log import Raced, event_hash
from plangate.errors import AuditError

MIGRATION = """
CREATE FUNCTION plangate_event_hash(prev TEXT, seq BIGINT, ts TEXT, kind TEXT, run_id TEXT, data TEXT)
RETURNS TEXT LANGUAGE sql STABLE STRICT AS $$
    SELECT encode(sha256(convert_to('[' || to_json(prev)::text || ',' || seq::text || ','
        || to_json(ts)::text || ',' || to_json(kind)::text || ',' || to_json(run_id)::text
        || ',' || to_json(data)::text || ']', 'UTF8')), 'hex')
$$;
CREATE FUNCTION plangate_chain(events JSON)
RETURNS TABLE(chained_seq BIGINT, chained_prev TEXT, chained_hash TEXT) LANGUAGE plpgsql AS $$
DECLARE
    s BIGINT; h TEXT; d TEXT; t TEXT; k TEXT; r TEXT; x TEXT;
BEGIN
    SELECT a.seq, a.hash INTO s, h FROM audit_head a WHERE a.id = 1 FOR UPDATE;
    FOR t, k, r, x IN SELECT e ->> 0, e ->> 1, e ->> 2, e ->> 3 FROM json_array_elements(events) AS e LOOP
        s := s + 1;
        d := plangate_event_hash(h, s, t, k, r, x);
        INSERT INTO audit_events(seq, ts, kind, run_id, data, prev_hash, hash) VALUES (s, t, k, r, x, h, d);
        chained_seq := s; chained_prev := h; chained_hash := d;
        RETURN NEXT;
        h := d;
    END LOOP;
    UPDATE audit_head SET seq = s, hash = h WHERE id = 1;
END $$;
"""

# Strings whose JSON escaping differs most between encoders: every control character, the
# two characters JSON always escapes, characters some encoders escape (DEL, U+2028/9) and
# non-ASCII of every UTF-8 length.
_AWKWARD = "".join(map(chr, range(1, 32))) + '"\\/\x7f\x80\u00e9\u2028\u2029\ufeff\U0001f600\U0010ffff'
PROBE = ("0" * 64, 9007199254740993, "2026-11-28T00:00:00.000000+00:00", _AWKWARD, "run\\\"x", _AWKWARD[::-1])


def probe(cur: Any) -> bool:
    """Whether this database hashes an event exactly as plangate does (False when it
    cannot: no such function, another encoding, another escaping). Other errors (a database
    that does not answer) are raised."""
    try:
        cur.execute("SELECT plangate_event_hash(%s, %s, %s, %s, %s, %s)", PROBE)
        row = cur.fetchone()
    except Exception as exc:
        # 42883: no such function (an unmigrated database); 22xxx: data it cannot take
        # (another server encoding). The swap append serves then.
        if str(getattr(exc, "sqlstate", "") or "").startswith(("42883", "22")):
            return False
        raise
    return row is not None and row[0] == event_hash(*PROBE)


Also = tuple[str, Sequence[Any]]
"""One more statement for the events' transaction: SQL (psycopg's `%s` placeholders, no
other `%`) and its parameters."""


_INSERT = re.compile(r"\s*INSERT INTO (\w+)\s*\(([\w\s,]+)\)\s*VALUES\s*\((.*)\)\s*", re.S)


def guarded(statement: str) -> str | None:
    """`INSERT INTO t(cols) VALUES (...)` made to insert only when the guard changed its
    row (None for any other form: the caller then takes the locking append, which runs the
    guard first in its transaction)."""
    found = _INSERT.fullmatch(statement)
    if found is None:
        return None
    table, columns, values = found.groups()
    return f"INSERT INTO {table}({columns}) SELECT {values} WHERE EXISTS (SELECT 1 FROM guard)"


def chain(cur: Any, items: Sequence[tuple[str, str, str]], clock: Callable[[], str],
          also: Also | None = None, guard: Also | None = None) -> list[int]:
    """Append `items` (kind, run id, data text) through `plangate_chain`, with `also` in
    the same statement; the sequence numbers, after every returned hash is checked.
    `guard` (an INSERT or UPDATE that must change one row): in the same statement too, and
    when it changes none, neither the events nor `also` (made conditional by `guarded`)
    land, and `Raced` is raised."""
    stamped = [(clock(), kind, run_id, text) for kind, run_id, text in items]
    events = "%s::json"
    ctes: list[str] = []
    params: list[Any] = []
    if guard is not None:
        ctes.append(f"guard AS ({guard[0]} RETURNING 1)")
        params.extend(guard[1])
        events = "CASE WHEN EXISTS (SELECT 1 FROM guard) THEN %s::json ELSE '[]'::json END"
    if also is not None:
        statement, values = also
        if guard is not None:
            conditional = guarded(statement)
            if conditional is None:
                raise ValueError("chain: a guard needs `also` to be a plain INSERT ... VALUES")
            statement = conditional
        ctes.append(f"extra AS ({statement})")
        params.extend(values)
    sql = f"SELECT chained_seq, chained_prev, chained_hash FROM plangate_chain({events})"
    if ctes:
        sql = f"WITH {', '.join(ctes)} {sql}"
    params.append(json.dumps(stamped, ensure_ascii=False))
    cur.execute(sql, params)
    rows = cur.fetchall()
    if guard is not None and not rows:
        raise Raced("another review changed what this one's records depend on")
    if len(rows) != len(stamped):
        raise AuditError(f"the database chained {len(rows)} events of {len(stamped)}")
    seqs: list[int] = []
    before: tuple[int, str] | None = None
    for (seq, prev, digest), (ts, kind, run_id, text) in zip(rows, stamped, strict=True):
        seq = int(seq)
        linked = before is None or (seq == before[0] + 1 and prev == before[1])
        if not linked or digest != event_hash(prev, seq, ts, kind, run_id, text):
            raise AuditError(f"the database chained event {seq} differently from plangate "
                             "(run `plangate audit verify`)")
        seqs.append(seq)
        before = (seq, digest)
    return seqs


__all__ = ["MIGRATION", "PROBE", "Also", "chain", "guarded", "probe"]
