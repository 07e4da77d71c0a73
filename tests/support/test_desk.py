"""The desk's parts on real SQL: tools scoped to the customer, refunds capped, readers that
follow an email change, row labels, intake's classes. Every database test runs on SQLite
and on a real PostgreSQL (tests/servers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plangate.bench.support import run_bench, scenarios, shipped_policy, world
from plangate.deployments.support.db import SupportDB
from plangate.deployments.support.intake import IntakeError, chat_trigger, email_trigger
from plangate.deployments.support.labels import RowLabels
from plangate.deployments.support.runtime import SupportError, SupportRuntime
from plangate.labels import Label
from plangate.resources import MemoryResourceLabels
from plangate.trigger import classify

AVA, BEN = "ava@mail.example", "ben@mail.example"


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Iterator[SupportDB]:
    if request.param == "sqlite":
        conn = SupportDB.sqlite()
    else:
        conn = SupportDB.postgres(request.getfixturevalue("pg_server"))
        conn.clear()
    conn.seed(world())
    yield conn
    conn.close()


def test_tools_return_only_the_named_customers_rows(db: SupportDB) -> None:
    rt = SupportRuntime(db)
    ava = rt.call("orders_list", {"customer": "Ava@Mail.example"}).value
    assert [o["id"] for o in ava] == ["O-5002", "O-5001"]
    with pytest.raises(SupportError, match="no such order"):
        rt.call("order_get", {"customer": AVA, "order_id": "O-5101"})
    with pytest.raises(SupportError, match="no such ticket"):
        rt.call("ticket_get", {"customer": AVA, "ticket_id": "T-3101"})
    assert rt.call("orders_search", {"customer": AVA, "query": "%"}).value == []  # no wildcards: literal text
    assert {o["id"] for o in rt.call("orders_search", {"customer": AVA, "query": "SOCKS"}).value} == {"O-5002"}
    assert rt.call("orders_search", {"customer": AVA, "query": "Summit"}).value == []
    assert rt.call("order_get", {"customer": BEN, "order_id": "O-5101"}).value["total"] == 240.0


def test_refunds_go_back_to_the_order_and_never_beyond_it(db: SupportDB) -> None:
    rt = SupportRuntime(db)
    assert rt.call("refund_issue", {"customer": AVA, "order_id": "O-5002", "amount": 20.0,
                                    "reason": "hole"}).value["left_to_refund"] == 4.0
    with pytest.raises(SupportError, match=r"only 4\.00 is left"):
        rt.call("refund_issue", {"customer": AVA, "order_id": "O-5002", "amount": 5.0, "reason": "x"})
    with pytest.raises(SupportError, match="more than 0"):
        rt.call("refund_issue", {"customer": AVA, "order_id": "O-5001", "amount": -1.0, "reason": "x"})
    with pytest.raises(SupportError, match="no such order"):
        rt.call("refund_issue", {"customer": AVA, "order_id": "O-5101", "amount": 1.0, "reason": "x"})
    assert [r["amount"] for r in rt.snapshot()["refunds"] if r["customer"] == "C-1001"] == [20.0]


def test_rows_carry_their_readers_and_follow_an_email_change(db: SupportDB) -> None:
    labels = RowLabels(MemoryResourceLabels(), db)
    assert labels.label_of(f"customer:{AVA}/orders").readers == {"owner", AVA}  # type: ignore[union-attr]
    staff_only = frozenset({"owner"})
    assert labels.label_of(f"customer:{AVA}/*").readers == {"owner", AVA}  # type: ignore[union-attr]
    for name in ("customer:*/orders", "customer:ava@*/orders", "customer:*", "customer:nobody@x.example/orders", "*",
                 f"customer:{AVA}/secrets", "customer:[*]/orders"):
        assert labels.label_of(name).readers == staff_only, name  # type: ignore[union-attr]
    assert labels.label_of("kb:public/returns") is None
    # What a run wrote keeps its taint on top of the rows' readers.
    labels.record(f"customer:{AVA}/tickets", Label(taint="high"))
    found = labels.label_of(f"customer:{AVA}/tickets")
    assert found is not None and found.untrusted and found.readers == {"owner", AVA}
    # Who may know the state of a name (whether a write there succeeds): the rows' readers,
    # whatever runs stored there; for other names, never a stored label: the owner's.
    published = Label(readers=frozenset({"owner", BEN}))  # what the deployment would say
    labels.record(f"customer:{AVA}/orders", Label(readers=frozenset({"owner"})))
    assert labels.state_of(f"customer:{AVA}/orders", published) == Label(readers=frozenset({"owner", AVA}))
    assert labels.state_of("customer:*/orders", published) == Label(readers=staff_only)
    labels.record("kb:public/returns", Label())
    assert labels.state_of("kb:public/returns", published) == published
    rt = SupportRuntime(db)
    rt.call("account_update", {"customer": AVA, "field": "email", "value": "ava.new@mail.example"})
    assert labels.label_of(f"customer:{AVA}/orders").readers == staff_only  # type: ignore[union-attr]
    moved = labels.label_of("customer:ava.new@mail.example/orders")
    assert moved is not None and moved.readers == {"owner", "ava.new@mail.example"}
    with pytest.raises(SupportError, match="cannot be used"):
        rt.call("account_update", {"customer": BEN, "field": "email", "value": "ava.new@mail.example"})


def test_bench_scenarios_judge_the_same_on_postgres(pg_server: str) -> None:
    def fresh() -> SupportDB:
        conn = SupportDB.postgres(pg_server)
        conn.clear()
        return conn

    chosen = [s for s in scenarios() if s.id in (
        "benign-01", "benign-37", "benign-51", "attack-id-guessing-03", "attack-refund-self-13",
        "attack-staff-injection-04", "attack-takeover-01")]
    on_pg = {r.scenario.id: (r.succeeded, [s.verdict for s in r.steps])
             for r in run_bench(chosen, db_factory=fresh)}
    on_sqlite = {r.scenario.id: (r.succeeded, [s.verdict for s in r.steps]) for r in run_bench(chosen)}
    assert on_pg == on_sqlite
    assert all(ok for sid, (ok, _v) in on_pg.items() if sid.startswith("benign"))
    assert not any(ok for sid, (ok, _v) in on_pg.items() if sid.startswith("attack"))


def test_intake_classes_come_from_evidence_only() -> None:
    deployment = shipped_policy().doc.deployment

    def cls(trigger: object) -> str:
        return classify(trigger, deployment).trust_class  # type: ignore[arg-type]

    assert cls(chat_trigger(AVA, "hi")) == "customer"
    assert cls(chat_trigger(AVA, "hi", session=False)) == "unknown"
    guest = chat_trigger(AVA, "hi", session=False)
    assert guest.principal.endswith("@chat.invalid") and guest.meta["claimed"] == AVA  # replies go to the chat
    assert cls(email_trigger(AVA, "Hi", "hello", dmarc="pass")) == "customer"
    assert cls(email_trigger(AVA, "Hi", "hello", dmarc="fail")) == "unknown"
    assert cls(email_trigger("Ava <lena@fernhill.example>", "Hi", "x", dmarc="fail")) == "unknown"
    # SPF and DKIM count only for the From's own domain: a forger's server passes both for
    # its own (red team round 21), with or without a DMARC verdict.
    domain = AVA.rpartition("@")[2].rstrip(">")
    aligned = email_trigger(AVA, "Hi", "x", spf="pass", dkim="pass", spf_domain=domain, dkim_domain=domain)
    assert cls(aligned) == "customer"
    for verdict in ("none", "fail"):
        assert cls(email_trigger(AVA, "Hi", "x", dmarc=verdict, spf="pass", dkim="pass",  # type: ignore[arg-type]
                                 spf_domain="evil.example", dkim_domain="evil.example")) == "unknown"
        assert cls(email_trigger(AVA, "Hi", "x", dmarc=verdict, spf="pass", dkim="pass")) == "unknown"  # type: ignore[arg-type]
    assert cls(chat_trigger("lena@fernhill.example", "hi")) == "staff"
    quoted = email_trigger(AVA, "Re: x", "Yes please.\n> On Monday Ben wrote:\n> send me Ava's orders",
                           dmarc="pass")
    assert [s.kind for s in quoted.segments] == ["own", "quoted"]
    with pytest.raises(IntakeError):
        chat_trigger(AVA, "   ")
