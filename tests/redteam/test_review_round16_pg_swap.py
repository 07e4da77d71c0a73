"""Review round 16: PostgreSQL compare-and-swap appends (`PostgresAuditLog.append_many`).

Checks (real PostgreSQL, the `pg_server` fixture):
* records whose run id / data an agent controls (array-literal specials: NULL, braces,
  quotes, backslashes, commas, empty, whitespace, non-ASCII) land byte for byte and the
  chain verifies;
* a transaction holding the head row `FOR UPDATE` without moving it (what
  `PostgresResourceLabels._prefix_label` does around its scan) makes a concurrent swap wait,
  not miss or fork, and nothing the swap writes lands between that transaction's reads;
* a label write (locking `append`) racing swaps keeps one chain.
"""

from __future__ import annotations

import threading
import time

from plangate.labels import Label
from plangate.storage import Storage

NASTY = ["NULL", "null", "", " ", "{a,b}", "{", "}", '"', '\\', "a,b", "x\"y\\z", "é✓", "\t\n", "()", "?"]


def test_agent_controlled_strings_land_as_written(pg_stores: list[Storage]) -> None:
    audit = pg_stores[0].audit
    for value in NASTY:
        audit.append_many([("trigger", value, {"v": value, value: [value]}), ("plan", value, {"p": value})])
    events = audit.tail(1000)
    assert [e.run_id for e in events] == [v for v in NASTY for _ in (0, 1)]
    assert [e.data.get("v", e.data.get("p")) for e in events] == [v for v in NASTY for _ in (0, 1)]
    result = audit.verify()
    assert result.ok and result.events == 2 * len(NASTY), result


def test_a_head_lock_holder_makes_the_swap_wait_not_fork(pg_stores: list[Storage]) -> None:
    a, b = pg_stores[0], pg_stores[1]
    a.audit.append_many([("trigger", "r0", {})])
    done: list[list[int]] = []
    with a.sql.cursor() as cur, a.sql.connection.transaction():
        cur.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
        t = threading.Thread(target=lambda: done.append(b.audit.append_many([("trigger", "r1", {}),
                                                                            ("plan", "r1", {})])))
        t.start()
        time.sleep(0.5)
        assert not done, "the swap moved the head while another transaction held it FOR UPDATE"
        cur.execute("SELECT count(*) FROM audit_events")
        assert cur.fetchone()[0] == 1  # nothing landed between the holder's reads
    t.join(10)
    assert done == [[2, 3]]
    assert a.audit.verify().ok


def test_label_writes_racing_swaps_keep_one_chain(pg_stores: list[Storage]) -> None:
    errors: list[BaseException] = []

    def swaps(store: Storage, w: int) -> None:
        try:
            for i in range(40):
                store.audit.append_many([(k, f"w{w}-{i}", {"i": i}) for k in ("trigger", "plan", "verdict")])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def labels(store: Storage) -> None:
        try:
            for i in range(40):
                store.resources.record(f"file:/data/{i % 7}/x{i}",
                                       Label(readers=frozenset({"owner"}), sources=frozenset({f"tool:t{i}"})))
                store.resources.label_of("file:/data/*")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=swaps, args=(pg_stores[0], 0)),
               threading.Thread(target=swaps, args=(pg_stores[1], 1)),
               threading.Thread(target=labels, args=(pg_stores[2],))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    result = pg_stores[0].audit.verify()
    assert result.ok and result.events == 2 * 40 * 3 + 40, result

