"""PostgreSQL chains a review's records itself (`plangate.storage.pg_chain`): one statement
per `append_many`, whatever the number of workers. plangate probes the database's hashing
before it relies on it and checks every row it chained; `also` lands with the events or
not at all."""

from __future__ import annotations

import pytest

import plangate.storage.pg_chain as pg_chain
import plangate.storage.postgres as pg
from plangate.audit.log import event_hash
from plangate.errors import AuditError
from plangate.storage import Storage

from .test_suite import append_reviews_at_once

# Every character JSON escapes, and non-ASCII of every UTF-8 length, raw in the hashed text.
AWKWARD = "".join(map(chr, range(1, 0x800))) + "\u2028\ufeff\uffff\U0001f600\U0010ffff"


def _chained(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    chain = pg_chain.chain

    def counting(cur: object, items: list[tuple[str, str, str]], *args: object) -> list[int]:
        calls.append(len(items))
        return chain(cur, items, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(pg_chain, "chain", counting)
    return calls


def test_the_database_hashes_every_character_as_plangate_does(pg_stores: list[Storage]) -> None:
    store = pg_stores[0]
    with store.sql.cursor() as cur:
        assert pg_chain.probe(cur)
        for ch in AWKWARD:
            cur.execute("SELECT plangate_event_hash(%s, %s, %s, %s, %s, %s)", ("p" + ch, 7, ch, ch, ch, ch * 3))
            assert cur.fetchone()[0] == event_hash("p" + ch, 7, ch, ch, ch, ch * 3), hex(ord(ch))


def test_contended_appends_are_chained_in_the_database_and_make_one_chain(
        pg_stores: list[Storage], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _chained(monkeypatch)
    swaps = []
    monkeypatch.setattr(pg, "_swap_sql", lambda n: swaps.append(n) or "")
    append_reviews_at_once(pg_stores, tag=lambda w: AWKWARD[w * 9:w * 9 + 40])
    assert calls == [3] * (6 * 25) and swaps == []
    assert all(store.audit.chains for store in pg_stores)


def test_a_database_that_hashes_otherwise_is_not_used(pg_stores: list[Storage],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store = pg_stores[0]
    calls = _chained(monkeypatch)
    # Spaces after the commas (PostgreSQL's own JSON array text): another hash for every event.
    store.sql.run("CREATE OR REPLACE FUNCTION plangate_event_hash(prev TEXT, seq BIGINT, ts TEXT, kind TEXT, "
                  "run_id TEXT, data TEXT) RETURNS TEXT LANGUAGE sql AS $$ SELECT encode(sha256(convert_to("
                  "json_build_array(prev, seq, ts, kind, run_id, data)::text, 'UTF8')), 'hex') $$")
    assert store.audit.append_many([("trigger", "r", {}), ("verdict", "r", {})]) == [1, 2]
    assert store.audit.chains is False and calls == []
    assert store.audit.verify().ok


def test_an_unmigrated_database_is_not_used(pg_stores: list[Storage], monkeypatch: pytest.MonkeyPatch) -> None:
    store = pg_stores[0]
    calls = _chained(monkeypatch)
    store.sql.run("DROP FUNCTION plangate_chain(json)")
    store.sql.run("DROP FUNCTION plangate_event_hash(text, bigint, text, text, text, text)")
    assert store.audit.append_many([("trigger", "r", {})]) == [1]
    assert store.audit.chains is False and calls == [] and store.audit.verify().ok


def test_a_row_chained_otherwise_is_an_error_and_ends_the_fast_path(pg_stores: list[Storage]) -> None:
    store = pg_stores[0]
    store.audit.append_many([("trigger", "r", {})])
    assert store.audit.chains is True  # probed and used
    # Changed behind the probe's back (the next connection would probe again).
    store.sql.run("CREATE OR REPLACE FUNCTION plangate_event_hash(prev TEXT, seq BIGINT, ts TEXT, kind TEXT, "
                  "run_id TEXT, data TEXT) RETURNS TEXT LANGUAGE sql AS $$ SELECT md5(data) $$")
    with pytest.raises(AuditError, match="chained event 2 differently"):
        store.audit.append_many([("verdict", "r", {})])
    assert store.audit.chains is False
    assert not store.audit.verify().ok  # the row went in: verify says so too
    store.audit.append_many([("verdict", "r2", {})])  # by compare and swap from now on


@pytest.mark.parametrize("chains", [True, False])
def test_also_lands_with_the_events_or_not_at_all(pg_stores: list[Storage], chains: bool) -> None:
    store = pg_stores[0]
    store.audit.chains = chains or None  # None: probed at the first append
    insert = store.grants.insert(grant_id="gr_1", run_id="r", approval=None, credential="a",
                                 trigger={}, plan={}, review={})
    assert store.audit.append_many([("trigger", "r", {}), ("verdict", "r", {})], also=insert) == [1, 2]
    assert store.grants.get("gr_1") is not None
    # The same grant id again: the insert fails, and the events do not go in either.
    with pytest.raises(Exception, match=r"duplicate key|unique"):
        store.audit.append_many([("trigger", "r2", {})], also=insert)
    assert store.audit.head()[0] == 2 and store.audit.verify().ok
    # An event the database refuses leaves no grant behind.
    store.sql.script("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "IF NEW.run_id = 'boom' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$; "
                     "CREATE TRIGGER refuse BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse()")
    other = store.grants.insert(grant_id="gr_2", run_id="r", approval=None, credential="a",
                                trigger={}, plan={}, review={})
    with pytest.raises(Exception, match="refused"):
        store.audit.append_many([("trigger", "r3", {}), ("verdict", "boom", {})], also=other)
    assert store.grants.get("gr_2") is None and store.audit.head()[0] == 2 and store.audit.verify().ok


class _Failing:
    def __init__(self, sqlstate: str) -> None:
        self.sqlstate = sqlstate

    def execute(self, *_a: object) -> None:
        exc = RuntimeError("refused")
        exc.sqlstate = self.sqlstate  # type: ignore[attr-defined]
        raise exc


def test_only_a_missing_function_or_refused_data_turns_the_fast_path_off() -> None:
    assert pg_chain.probe(_Failing("42883")) is False  # no such function
    assert pg_chain.probe(_Failing("22021")) is False  # a character the encoding lacks
    with pytest.raises(RuntimeError):  # a database that does not answer: asked again next time
        pg_chain.probe(_Failing("08006"))
