"""One storage suite, every backend: SQLite (embedded), PostgreSQL, PostgreSQL + Redis.

The same behaviour is pinned on each: a linear audit chain under concurrent appends from
many connections; approvals and stored labels covered by the chain (edits outside plangate
are refused on read and found by verify); a witness that catches a rewrite anywhere; labels
found by indexed lookups with the old overlap semantics; grants leased atomically;
idempotency keys; request limits and run counts shared by every worker.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plangate.audit.log import GENESIS, event_hash
from plangate.errors import AuditError, GrantError
from plangate.labels import Label, join_all
from plangate.policy.model import RateLimit
from plangate.resources import MemoryResourceLabels, overlaps
from plangate.storage import Storage

pytest.importorskip("psycopg", reason="the service extra is not installed")

TAINTED = Label(sources=frozenset({"payload"}), taint="high")
CLEAN = Label(sources=frozenset({"instruction"}))


def raw(store: Storage, sql: str, params: tuple[Any, ...] = ()) -> None:
    """A change made behind plangate's back (triggers off where they would refuse it)."""
    if store.kind == "sqlite":
        db = store.sql.connection
        db.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        db.execute(sql, params)
    else:
        with store.sql.connection.cursor() as cur:
            cur.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
            cur.execute(sql.replace("?", "%s"), params)


def in_threads(workers: list[Storage], work: Callable[[Storage, int], None]) -> None:
    """`work(store, n)` for every worker at once, each in a thread; a failure in any thread
    fails the test (an exception in a thread alone would only be printed)."""
    failures: list[BaseException] = []

    def run(store: Storage, n: int) -> None:
        try:
            work(store, n)
        except BaseException as exc:  # handed to the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(s, n)) for n, s in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]


def append_reviews_at_once(stores: list[Storage], tag: Callable[[int], str] = lambda _w: "",
                           rounds: int = 25) -> None:
    """Every worker appends `rounds` reviews (three records each, run ids marked by `tag`)
    at once: each review's records are consecutive, the sequence has no gaps, and the chain
    verifies."""
    batches: list[list[int]] = []

    def work(store: Storage, w: int) -> None:
        for i in range(rounds):
            batches.append(store.audit.append_many([(k, f"run{w}-{i}{tag(w)}", {"i": i})
                                                    for k in ("trigger", "plan", "verdict")]))

    in_threads(stores, work)
    total = len(stores) * rounds * 3
    assert all(seqs == list(range(seqs[0], seqs[0] + 3)) for seqs in batches), batches
    assert sorted(s for seqs in batches for s in seqs) == list(range(1, total + 1))
    result = stores[0].audit.verify()
    assert result.ok and result.events == total, result


def test_concurrent_appends_make_one_linear_chain(opener: Callable[[], Storage]) -> None:
    """Eight workers (own connections) append at once: no gap, no fork, it verifies."""
    def work(store: Storage, w: int) -> None:
        for i in range(25):
            store.audit.append("call", f"run{w}", {"i": i})

    in_threads([opener() for _ in range(8)], work)
    check = opener()
    result = check.audit.verify()
    assert result.ok and result.events == 200, result
    assert check.audit.head()[0] == 200


def test_batched_appends_interleave_into_one_linear_chain(opener: Callable[[], Storage]) -> None:
    """A review's events go in one transaction (`append_all`): batches from four workers and
    single appends from four more make one chain, each batch's events adjacent and in order,
    and every event's hash is the chain's."""
    from plangate.audit.log import append_all

    batches: list[list[int]] = []

    def work(store: Storage, w: int) -> None:
        for i in range(15):
            if w % 2:
                store.audit.append("call", f"run{w}", {"i": i})
            else:
                batches.append(append_all(store.audit, [(k, f"run{w}-{i}", {"i": i})
                                                        for k in ("trigger", "plan", "verdict")]))

    in_threads([opener() for _ in range(8)], work)
    assert len(batches) == 4 * 15
    assert all(seqs == list(range(seqs[0], seqs[0] + 3)) for seqs in batches), batches
    check = opener()
    result = check.audit.verify()
    assert result.ok and result.events == 4 * 15 + 4 * 15 * 3, result
    events = check.audit.tail(1000)
    prev = GENESIS
    for e in events:
        assert e.hash == event_hash(prev, e.seq, e.ts, e.kind, e.run_id,
                                    json.dumps(e.data, sort_keys=True, separators=(",", ":"),
                                               ensure_ascii=False))
        prev = e.hash
    for n, e in enumerate(events):
        if e.kind == "trigger":
            assert [x.kind for x in events[n:n + 3]] == ["trigger", "plan", "verdict"]
            assert {x.run_id for x in events[n:n + 3]} == {e.run_id}


def test_pending_approvals_survive_a_restart_and_decisions_are_chained(opener: Callable[[], Storage]) -> None:
    """An approval made by one worker is read by another after the first is gone; deciding
    and using it are recorded; it is used once."""
    first = opener()
    ident = first.approvals.create(run_id="run_a", plan_hash="h" * 64, trust_class="owner", summary="pay 120",
                                   trigger={"t": 1}, plan={"steps": []}, review={"rules": ["pay-asks"]})
    first.close()
    second = opener()
    assert [a.id for a in second.approvals.list()] == [ident]
    assert second.approvals.decide(ident, "approved", by="ana", note="ok").status == "approved"
    second.approvals.consume(ident, "run_a")
    with pytest.raises(Exception, match="already used"):
        second.approvals.consume(ident, "run_a")
    kinds = [e.kind for e in second.audit.tail(10)]
    assert kinds == ["approval_requested", "approval_decided", "approval_used"]
    assert second.audit.verify().ok


@pytest.mark.parametrize("edit", ["flip", "replay", "swap_plan"])
def test_approvals_edited_outside_plangate_are_refused_and_found(opener: Callable[[], Storage], edit: str) -> None:
    """Flipping a pending approval to approved, making a used one usable again or swapping
    its plan in the table is refused on read and fails verify."""
    store = opener()
    ident = store.approvals.create(run_id="r", plan_hash="h" * 64, trust_class="unknown", summary="s",
                                   trigger={}, plan={"steps": [1]}, review={})
    if edit == "replay":
        store.approvals.decide(ident, "approved")
        store.approvals.consume(ident, "r")
        raw(store, "UPDATE approvals SET status = 'approved' WHERE id = ?", (ident,))
    elif edit == "flip":
        raw(store, "UPDATE approvals SET status = 'approved' WHERE id = ?", (ident,))
    else:
        raw(store, "UPDATE approvals SET plan_json = '{\"steps\": [2]}' WHERE id = ?", (ident,))
    with pytest.raises(GrantError, match="audit log"):
        store.approvals.get(ident)
    assert not store.audit.verify().ok


def test_stored_labels_join_and_are_covered_by_the_chain(opener: Callable[[], Storage]) -> None:
    """Writes join; a later clean write never washes taint; a label washed in the database
    is refused on read and fails verify."""
    store = opener()
    store.resources.record("memory:notes", TAINTED)
    store.resources.record("memory:notes", CLEAN)
    other = opener()
    assert other.resources.label_of("memory:notes").untrusted
    assert other.resources.label_of("memory:*").untrusted
    assert other.audit.verify().ok
    raw(store, "UPDATE resource_labels SET label = ? WHERE name = ?",
        ('{"readers": null, "sources": [], "taint": "none"}', "memory:notes"))
    with pytest.raises(Exception, match="does not match the audit log"):
        other.resources.label_of("memory:notes")
    assert not other.audit.verify().ok


def test_a_label_washed_to_the_text_of_a_clean_row_already_read_is_refused(
        opener: Callable[[], Storage]) -> None:
    """A row is checked against its own event, not against texts seen before: a tainted
    label replaced by the exact text of a clean row that was just read and checked is
    still refused (the check's shortcut compares the event's whole text)."""
    store, other = opener(), opener()
    store.resources.record("memory:clean", CLEAN)
    store.resources.record("memory:notes", TAINTED)
    assert other.resources.label_of("memory:clean") == CLEAN
    assert other.resources.label_of("memory:notes") == TAINTED
    (clean_text,) = store.sql.one("SELECT label FROM resource_labels WHERE name = ?", ("memory:clean",))
    raw(store, "UPDATE resource_labels SET label = ? WHERE name = ?", (clean_text, "memory:notes"))
    with pytest.raises(AuditError, match="does not match the audit log"):
        other.resources.label_of("memory:notes")
    with pytest.raises(AuditError, match="does not match the audit log"):
        other.resources.moment().label_of("memory:notes")


def test_indexed_lookups_agree_with_a_full_scan(opener: Callable[[], Storage]) -> None:
    """Exact names, prefix patterns, stored patterns and escaped wildcards: the indexed
    lookup returns what comparing every stored name would."""
    store = opener()
    reference = MemoryResourceLabels()
    names = ["workspace:a.py", "workspace:notes/x.md", "workspace:notes/y.md", "memory:*",
             "mail:[*]", "workspace:docs/*", "skills:s1"]
    for i, name in enumerate(names):
        label = TAINTED if i % 2 else Label(readers=frozenset({f"r{i}"}))
        store.resources.record(name, label)
        reference.record(name, label)
    for query in ["workspace:a.py", "workspace:notes/*", "workspace:*", "memory:tips", "mail:*", "mail:m1",
                  "workspace:docs/readme", "skills:s1", "skills:s2", "*", "workspace:notes/x.md"]:
        assert store.resources.label_of(query) == reference.label_of(query), query


_PART = st.text(alphabet="ab/:", max_size=4)
_LABELS = st.builds(
    lambda readers, sources, taint: Label(readers=frozenset({"*"}) if "*" in readers or not readers
                                          else frozenset(readers),
                                          sources=frozenset(sources), taint=taint),
    st.sets(st.sampled_from(["owner", "ana", "*"])), st.sets(st.sampled_from(["payload", "tool:x"])),
    st.sampled_from(["none", "low", "high"]))
# A write (a concrete name, or a stored pattern: `*` inside) or a lookup (a concrete name, a
# prefix and `*`, a prefix, `*` and a suffix), in one of two connections.
_OPS = st.lists(st.one_of(
    st.tuples(st.just("write"), st.integers(0, 1), st.tuples(_PART, st.sampled_from(["", "*"]), _PART), _LABELS),
    st.tuples(st.just("read"), st.integers(0, 1), st.tuples(_PART, st.sampled_from(["", "*"]), _PART),
              st.none())), min_size=1, max_size=30)
_namespaces = itertools.count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_OPS)
def test_joined_prefix_labels_are_exactly_the_full_scan(opener: Callable[[], Storage],
                                                        ops: list[Any]) -> None:
    """Property: on random stored names and labels, written and read through two workers in
    any order, every lookup (a prefix pattern answered from its joined row, created lazily
    and joined into by later writes, or any other pattern) equals the join over a full scan
    of every stored name that overlaps it; and verify agrees with the joined rows."""
    workers = getattr(test_joined_prefix_labels_are_exactly_the_full_scan, "_workers", {})
    key = id(opener)
    if key not in workers:  # one store per backend, two connections, for all examples
        workers.clear()
        workers[key] = (opener(), opener())
        test_joined_prefix_labels_are_exactly_the_full_scan._workers = workers  # type: ignore[attr-defined]
    stores = workers[key]
    namespace = f"ns{next(_namespaces)}:"  # examples share the store, never a name
    stored: dict[str, Label] = {}
    for op, who, (head, star, tail), label in ops:
        name = namespace + head + star + tail
        if op == "write":
            stores[who].resources.record(name, label)
            stored[name] = stored[name].join(label) if name in stored else label
        else:
            hits = [lab for n, lab in stored.items() if overlaps(n, name)]
            assert stores[who].resources.label_of(name) == (join_all(hits) if hits else None), name
    assert stores[0].audit.verify().ok


def test_an_edited_joined_prefix_label_fails_verify(opener: Callable[[], Storage]) -> None:
    """A joined prefix row washed clean in the database no longer matches the stored labels
    under it: verify fails."""
    store = opener()
    store.resources.record("mail:m1", TAINTED)
    assert store.resources.label_of("mail:*").untrusted  # the row exists now
    store.resources.record("mail:m2", CLEAN)
    assert store.resources.label_of("mail:*") == TAINTED.join(CLEAN)
    assert store.audit.verify().ok
    raw(store, "UPDATE resource_label_prefixes SET label = ? WHERE prefix = ?",
        ('{"readers": ["*"], "sources": [], "taint": "none"}', "mail:"))
    assert not store.audit.verify().ok


def test_the_witness_finds_a_rewrite_anywhere(opener: Callable[[], Storage]) -> None:
    """Rewrite an early event and recompute every later hash: the chain alone verifies, the
    heads the witness holds do not."""
    store = opener()
    for i in range(10):
        store.audit.append("call", "run", {"i": i})  # `call` is durable: its head is shipped
    assert store.witness is not None and len(store.witness.heads()) == 10
    events = store.audit.tail(100)
    prev = GENESIS
    for e in events:
        data = '{"i":99}' if e.seq == 3 else json.dumps(e.data, sort_keys=True, separators=(",", ":"))
        digest = event_hash(prev, e.seq, e.ts, e.kind, e.run_id, data)
        raw(store, "UPDATE audit_events SET data = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (data, prev, digest, e.seq))
        prev = digest
    if store.kind != "sqlite":
        raw(store, "UPDATE audit_head SET hash = ? WHERE id = 1", (prev,))
    assert store.audit.inner.verify().ok  # the rewritten chain is self-consistent
    result = store.audit.verify()
    assert not result.ok and "another hash" in result.problem


def test_grant_leases_are_atomic_across_workers(opener: Callable[[], Storage]) -> None:
    a, b = opener(), opener()
    a.grants.create(grant_id="gr_1", run_id="r", approval=None, credential="c", trigger={}, plan={}, review={})
    assert a.grants.lease("gr_1", "one", 30)
    assert not b.grants.lease("gr_1", "two", 30)
    a.grants.save("gr_1", "one", results={"results": [1]}, status="open")
    assert b.grants.lease("gr_1", "two", 30)
    assert b.grants.get("gr_1").results == {"results": [1]}  # type: ignore[union-attr]


def test_a_triggers_spend_is_charged_once_per_starting_point_across_workers(
        opener: Callable[[], Storage]) -> None:
    """The ledger of `plangate.audit.spend` on each backend: eight workers each read a
    trigger's spend and try to charge one payment on top; however they interleave, every
    success moved the total from exactly what its worker read, so the total is the number
    of successes and no two charged the same starting point."""
    from plangate.audit.spend import Ledger
    from plangate.policy.facts import PlanBounds

    workers = [opener() for _ in range(8)]
    pay = PlanBounds(calls=1, egress=1, payments=1, loop=0)
    wins: list[int] = []

    def work(store: Storage, n: int) -> None:
        ledger = Ledger(store.sql)
        for _ in range(5):
            seen = ledger.read("trigger-1")
            if ledger.charge("trigger-1", seen, seen.bounds.plus(pay)):
                wins.append(seen.runs)

    in_threads(workers, work)
    final = Ledger(workers[0].sql).read("trigger-1")
    assert final.runs == len(wins) and final.bounds.payments == len(wins)
    assert sorted(wins) == list(range(len(wins)))  # each starting point charged once
    assert Ledger(workers[1].sql).read("another").runs == 0


def test_a_guarded_append_lands_whole_or_not_at_all(opener: Callable[[], Storage]) -> None:
    """`append_many(guard=...)` (a trigger's charge): a guard that changes its row lands
    with the events (and the grant beside them); one that changes none raises `Raced`, and
    neither the events nor the grant land."""
    from plangate.audit.log import Raced
    from plangate.audit.spend import Ledger, Spent
    from plangate.policy.facts import PlanBounds
    from plangate.storage.sql import SqlGrants

    store = opener()
    ledger = Ledger(store.sql)
    one = PlanBounds(calls=1, egress=1, payments=0, loop=0)
    fresh = Spent(0, PlanBounds(calls=0, egress=0, payments=0, loop=0))

    def grant(n: int) -> tuple[str, tuple[Any, ...]]:
        return SqlGrants.insert(grant_id=f"gr_{n}", run_id=f"run-g{n}", approval=None, credential="c",
                                trigger={}, plan={}, review={})

    head = store.audit.head()
    store.audit.append_many([("verdict", "run-g1", {"n": 1})], also=grant(1), guard=ledger.guard("t", fresh, one))
    assert ledger.read("t") == Spent(1, one)
    for also in (grant(2), None):  # the service's approve, and a plain review's records
        with pytest.raises(Raced):
            store.audit.append_many([("verdict", "run-g2", {"n": 2})], also=also,
                                    guard=ledger.guard("t", fresh, one))
    assert store.audit.head()[0] == head[0] + 1
    assert [r[0] for r in store.sql.all("SELECT id FROM grants ORDER BY id")] == ["gr_1"]
    assert ledger.read("t") == Spent(1, one)
    assert store.audit.verify().ok


def test_an_approvals_use_and_its_charge_land_together(opener: Callable[[], Storage]) -> None:
    """`consume(guard=...)`: an owner-approved plan's charge and the approval's use are one
    transaction; a charge that lost its race leaves the approval usable and the ledger as
    it was (`Raced`), and the next try uses it and charges once."""
    from plangate.audit.log import Raced
    from plangate.audit.spend import Ledger, Spent
    from plangate.policy.facts import PlanBounds

    store = opener()
    ledger = Ledger(store.sql)
    pay = PlanBounds(calls=1, egress=1, payments=1, loop=0)
    ident = store.approvals.create(run_id="run_c", plan_hash="h" * 64, trust_class="owner", summary="pay",
                                   trigger={"t": 1}, plan={"steps": []}, review={"rules": ["pay-asks"]})
    store.approvals.decide(ident, "approved")
    assert ledger.charge("t", ledger.read("t"), pay)  # another plan charged it meanwhile
    stale = ledger.guard("t", Spent(0, PlanBounds(calls=0, egress=0, payments=0, loop=0)), pay)
    with pytest.raises(Raced):
        store.approvals.consume(ident, "run_c", guard=stale)
    assert store.approvals.get(ident).status == "approved" and ledger.read("t").runs == 1
    seen = ledger.read("t")
    store.approvals.consume(ident, "run_c", guard=ledger.guard("t", seen, seen.bounds.plus(pay)))
    assert store.approvals.get(ident).status == "executed"
    assert ledger.read("t") == Spent(2, pay.plus(pay))
    assert store.audit.verify().ok


def test_an_agent_sessions_context_is_the_join_of_everything_any_worker_added(
        opener: Callable[[], Storage]) -> None:
    """What a session's planner was shown: two workers add labels concurrently, and every
    label counts (rows are only added; a reader that compacts keeps their join); sessions
    and credentials are apart; a grant remembers its session."""
    a, b = opener(), opener()
    assert a.context.label("agent", "s1") is None
    labels = [Label(readers=frozenset({"owner", f"p{i}@x.example"}), taint="high" if i == 7 else "none")
              for i in range(2 * a.context.KEEP)]

    def add(store: Storage, part: list[Label]) -> None:
        for label in part:
            store.context.add("agent", "s1", label)

    threads = [threading.Thread(target=add, args=(store, labels[i::2])) for i, store in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    want = join_all(labels)
    assert a.context.label("agent", "s1") == want  # compacts: more than KEEP rows
    b.context.add("agent", "s1", Label(readers=frozenset({"owner"})))
    assert b.context.label("agent", "s1") == want.join(Label(readers=frozenset({"owner"})))
    assert a.context.label("agent", "s2") is None and a.context.label("agent2", "s1") is None
    a.grants.create(grant_id="gr_s", run_id="rs", approval=None, credential="agent", trigger={}, plan={},
                    review={}, session="s1")
    assert b.grants.get("gr_s").session == "s1"  # type: ignore[union-attr]


def test_a_grant_written_with_a_reviews_records_lands_with_them_or_not_at_all(
        opener: Callable[[], Storage]) -> None:
    a, b = opener(), opener()

    def grant(grant_id: str) -> tuple[str, tuple[object, ...]]:
        return a.grants.insert(grant_id=grant_id, run_id="r", approval=None, credential="c",
                               trigger={}, plan={"steps": []}, review={"verdict": "approve"})

    assert a.audit.append_many([("plan", "r", {}), ("verdict", "r", {})], also=grant("gr_1")) == [1, 2]
    row = b.grants.get("gr_1")
    assert row is not None and row.plan == {"steps": []} and row.status == "open"
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):  # the grant cannot go in: nor can the records
        b.audit.append_many([("plan", "r2", {}), ("verdict", "r2", {})], also=grant("gr_1"))
    with pytest.raises(AuditError):  # the records cannot go in: nor can the grant
        b.audit.append_many([("plan", "r3", {1: "x", "y": 2})], also=grant("gr_2"))
    with pytest.raises(ValueError, match="needs an event"):
        b.audit.append_many([], also=grant("gr_3"))
    assert b.grants.get("gr_2") is None and b.grants.get("gr_3") is None
    assert a.audit.head()[0] == 2 and a.audit.verify().ok


def test_idempotency_keys(opener: Callable[[], Storage]) -> None:
    """First claim runs; a retry gets the answer; a retry of an unfinished request is
    refused; the same key with another body is a mismatch."""
    a, b = opener(), opener()
    assert a.keys.claim("k1", "agent", "x").state == "new"
    assert b.keys.claim("k1", "agent", "x").state == "running"
    a.keys.finish("k1", "agent", {"ok": 1}, 200)
    done = b.keys.claim("k1", "agent", "x")
    assert done.state == "done" and done.response == {"ok": 1} and done.status_code == 200
    assert b.keys.claim("k1", "agent", "y").state == "mismatch"
    assert b.keys.claim("k1", "other-agent", "y").state == "new"  # keys are per credential


def test_limits_and_run_counts_are_shared(opener: Callable[[], Storage]) -> None:
    a, b = opener(), opener()
    answers = [s.limiter.hit("cred:x", 5, 60.0) for s in (a, b) * 5]
    assert answers[:5] == [None] * 5 and all(w is not None and w > 0 for w in answers[5:])
    limit = RateLimit(per_principal_per_hour=3)
    allowed = 0
    for store in (a, b) * 3:
        if store.runs.exceeded(limit, principal="p@x", trust_class="unknown") is None:
            store.runs.record(principal="p@x", trust_class="unknown")
            allowed += 1
    assert allowed == 3


def test_records_before_a_side_effect_wait_for_the_disk(opener: Callable[[], Storage]) -> None:
    """A `call` (and every durable kind) commits with SQLite's synchronous=FULL or
    PostgreSQL's synchronous_commit=on; a review's events do not wait."""
    store = opener()
    seen: dict[str, str] = {}

    def setting(kind: str) -> Callable[[Any, int], None]:
        def read(db: Any, _seq: int) -> None:
            if store.kind == "sqlite":
                seen[kind] = str(db.execute("PRAGMA synchronous").fetchone()[0])
            else:
                db.execute("SHOW synchronous_commit")
                seen[kind] = db.fetchone()[0]
        return read

    for kind in ("call", "approval_decided", "label_stored", "plan", "verdict"):
        store.audit.append(kind, "run_x", {}, also=setting(kind))
    durable, lazy = ("2", "1") if store.kind == "sqlite" else ("on", "off")
    assert seen == {"call": durable, "approval_decided": durable, "label_stored": durable,
                    "plan": lazy, "verdict": lazy}


def test_a_worker_sees_labels_another_worker_stored_after_it_looked(opener: Callable[[], Storage]) -> None:
    """Answers a worker keeps between lookups are dropped when another worker commits: a
    label stored by one is seen by the other at its next lookup, by name and by prefix."""
    one, two = opener(), opener()
    one.resources.record("mail:m1", CLEAN)
    assert two.resources.label_of("mail:m1") == CLEAN and two.resources.label_of("mail:*") == CLEAN
    one.resources.record("mail:m1", TAINTED)
    one.resources.record("mail:m2", TAINTED)
    assert two.resources.label_of("mail:m1") == CLEAN.join(TAINTED)
    assert two.resources.label_of("mail:*") == CLEAN.join(TAINTED)
    two.resources.record("mail:m3", CLEAN)  # its own write, then its own read
    assert two.resources.label_of("mail:m3") == CLEAN


def test_a_lone_surrogate_is_recorded_escaped_or_refused_whole(opener: Callable[[], Storage]) -> None:
    """`"\ud800"` is valid JSON, so a plan can carry one; it has no UTF-8 form. Every backend
    records it escaped, and it reads back as sent. PostgreSQL's JSON refuses even the escaped
    form, so an event it must read as JSON (an approval's, for its index) is refused whole,
    as an AuditError, and nothing lands; nor does reading approvals trip over the others.
    (Its hash raised a bare UnicodeEncodeError before: a 500. The service refuses such
    bodies at the edge.)"""
    from plangate.errors import AuditError

    store = opener()
    odd = {"plan": {"steps": [{"literal": "hi \ud800 there", "é": "\udfff"}]}}
    store.audit.append("trigger", "run_odd", {"channel": "email"})
    store.audit.append_many([("plan", "run_odd", odd), ("verdict", "run_odd", {"note": "\ud83d"})])
    events = store.audit.tail(10, run_id="run_odd")
    assert [e.kind for e in events] == ["trigger", "plan", "verdict"]
    assert events[1].data == odd and events[2].data == {"note": "\ud83d"}
    if store.kind != "sqlite":
        with pytest.raises(AuditError):
            store.audit.append("approval_requested", "run_odd", {"approval": "ap_1", "note": "\ud83d"})
        assert len(store.audit.tail(10, run_id="run_odd")) == 3
        store.sql.run("SET enable_indexscan = off")  # read by scanning every event
        store.sql.run("SET enable_bitmapscan = off")
        # ...and comparing kinds made dear, so that PostgreSQL, which orders a scan's
        # conditions by cost, would read each event's data as JSON before its kind.
        store.sql.run("ALTER FUNCTION texteq(text, text) COST 1000000")
    assert store.audit.approval_events("ap_1") == []
    assert store.audit.verify().ok


def test_a_reviews_lookups_are_kept_until_any_worker_changes_a_label(opener: Callable[[], Storage]) -> None:
    """`resources.moment()` (one review's lookups) answers a pattern read at the same
    version of the label tables by an earlier review from memory, across the audit writes
    that change no label; a label another worker stores, and an edit behind plangate's back,
    are seen by the next moment (the kept answers are dropped, and the edit is refused)."""
    from plangate.errors import AuditError

    one, two = opener(), opener()
    one.resources.record("mail:m1", CLEAN)
    for _ in range(2):  # the first moment also fills the prefix's row, which moves the version
        first = two.resources.moment()
        assert first.label_of("mail:*") == CLEAN and first.label_of("mail:m1") == CLEAN
    two.audit.append("verdict", "run_1", {"verdict": "approve"})
    one.audit.append("verdict", "run_2", {"verdict": "approve"})
    statements: list[str] = []
    if two.kind == "sqlite":
        two.sql.connection.set_trace_callback(statements.append)
        kept = two.resources.moment()
        assert kept.label_of("mail:*") == CLEAN and kept.label_of("mail:m1") == CLEAN
        two.sql.connection.set_trace_callback(None)
        assert not [s for s in statements if "resource_labels " in s or "resource_label_prefixes " in s], statements
    else:
        real = two.resources.label_of
        two.resources.label_of = lambda p: statements.append(p) or real(p)  # type: ignore[method-assign]
        kept = two.resources.moment()
        assert kept.label_of("mail:*") == CLEAN and kept.label_of("mail:m1") == CLEAN
        assert statements == []
        two.resources.label_of = real  # type: ignore[method-assign]
    one.resources.record("mail:m2", TAINTED)  # another worker
    later = two.resources.moment()
    assert later.label_of("mail:*") == CLEAN.join(TAINTED)
    assert later.label_of("mail:m2") == TAINTED
    raw(one, "UPDATE resource_labels SET label = ? WHERE name = ?",
        (json.dumps(Label().to_json()), "mail:m2"))
    with pytest.raises(AuditError, match="edited outside plangate"):
        two.resources.moment().label_of("mail:m2")


def test_setting_the_label_version_back_does_not_bring_kept_answers_back(opener: Callable[[], Storage]) -> None:
    """The version row only goes up (a hand edit setting it back is refused), and kept
    answers are keyed on the version with the newest chained label write: with the guard
    dropped and the version set back by hand, a label written since is still seen."""
    one, two = opener(), opener()
    one.resources.record("mail:m1", CLEAN)
    assert two.resources.moment().label_of("workspace:skills/hook.md") is None
    before = one.sql.one("SELECT version FROM resource_label_version WHERE id = 0")[0]
    one.resources.record("workspace:skills/hook.md", TAINTED)
    with pytest.raises(Exception, match="only goes up"):
        raw(one, "UPDATE resource_label_version SET version = ? WHERE id = 0", (before,))
    with pytest.raises(Exception, match="stays"):
        raw(one, "DELETE FROM resource_label_version")
    if one.kind == "sqlite":
        raw(one, "DROP TRIGGER resource_label_version_only_up")
    else:
        raw(one, "ALTER TABLE resource_label_version DISABLE TRIGGER USER")
    raw(one, "UPDATE resource_label_version SET version = ? WHERE id = 0", (before,))
    assert two.resources.moment().label_of("workspace:skills/hook.md") == TAINTED
    assert two.resources.label_of("workspace:skills/hook.md") == TAINTED


def test_a_run_has_one_grant_whichever_worker_writes_it(opener: Callable[[], Storage]) -> None:
    a, b = opener(), opener()
    a.grants.create(grant_id="gr_1", run_id="r", approval=None, credential="c", trigger={}, plan={}, review={})
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        b.grants.create(grant_id="gr_2", run_id="r", approval=None, credential="d", trigger={}, plan={}, review={})
    assert b.grants.get("gr_2") is None


def test_an_older_database_with_two_grants_for_one_run_is_refused_clearly(tmp_path: Any) -> None:
    import sqlite3

    from plangate.config import ConfigError
    from plangate.storage import open_storage

    path = str(tmp_path / "old.db")
    open_storage(path).close()
    with sqlite3.connect(path) as db:
        db.execute("DROP INDEX grants_run_once")
        for n in (1, 2):
            db.execute("INSERT INTO grants(id, created, run_id, credential, trigger_json, plan_json, review_json) "
                       "VALUES (?, 0, 'r', 'c', '{}', '{}', '{}')", (f"gr_{n}",))
    with pytest.raises(ConfigError, match="two grants for one run"):
        open_storage(path)


def test_an_admission_counts_the_request_then_the_run_and_never_a_run_too_many(
        opener: Callable[[], Storage], monkeypatch: pytest.MonkeyPatch) -> None:
    """Six workers admit 40 runs of one class at once (`admit`: the credential's request,
    then the run within the class's limit, in one step): exactly the limit's 12 are
    counted, every request is, and none over the request limit starts a run. (The SQL
    count is slowed, so that a check and a record not made one would interleave.)"""
    from plangate.storage.sql import SqlRunCounter

    counting = SqlRunCounter._exceeded

    def slow(self: SqlRunCounter, *args: Any) -> str | None:
        found = counting(self, *args)
        time.sleep(0.003)
        return found

    monkeypatch.setattr(SqlRunCounter, "_exceeded", slow)
    workers = [opener() for _ in range(6)]
    limit = RateLimit(per_class_per_hour=12)
    answers: list[tuple[float | None, str | None]] = []

    def work(store: Storage, w: int) -> None:
        for i in range(40 // 6 + 1):
            answers.append(store.runs.admit(store.limiter, (f"cred:{w}", 1000, 3600.0), limit,
                                            principal=f"p{w}-{i}", trust_class="public"))

    in_threads(workers, work)
    started = [a for a in answers if a == (None, None)]
    assert len(started) == 12 and all(a == (None, "per_class_per_hour") for a in answers if a not in started)
    over = workers[0].runs.admit(workers[0].limiter, ("cred:0", 7, 3600.0), limit,
                                 principal="late", trust_class="other")
    assert over[0] is not None and over[1] is None  # over its request limit: no run counted
    assert workers[0].runs.exceeded(RateLimit(per_class_per_hour=1), principal="late", trust_class="other") is None
