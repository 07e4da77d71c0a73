"""Review round 18: PostgreSQL chains a review's records itself (`pg_chain`, migration 6),
an approved plan's grant goes in with its review's records (`append_many(also=...)`), and
the approval index covers approval events only (migration 7).

Checked and found sound (no test here: they pass): agent-controlled plan literals and
trigger text (quotes, backslashes, `%`, `%s`, `?`, `\\u0000` / `\\ud800` spelled as text,
control characters, DEL, U+2028/9, BOM, U+FFFE/FFFF, U+10FFFF, ~100 kB strings) are hashed
by PostgreSQL exactly as by plangate, land with their grant, and the chain verifies; raw NUL
and lone surrogates are refused at the edge (422); the `also` statement is fixed SQL with
bound parameters (no injection through the WITH prefix); six workers submitting at once keep
one verifying chain on the fast path.

Finding (reachable across workers; the check predates these commits, but the grant insert
these commits moved is where it is not enforced): `run_id_free` reads "no grant for this
run id" and the grant is inserted later, with nothing making the pair atomic across workers
(`storage.lock` is per worker) and no unique key on `grants.run_id`. Two workers given the
same caller-chosen run id both grant it, here to two different agent credentials: exactly
what `run_id_free` exists to refuse ("never a run with a grant ... nor another agent's").
"""

from __future__ import annotations

import threading
from typing import Any

from plangate.service.gateway import ServiceGate
from plangate.storage import Storage
from service.conftest import auth, example, make_client


def test_two_workers_cannot_both_grant_one_run_id(pg_stores: list[Storage], monkeypatch: Any) -> None:
    """Worker A reviews `agent`'s plan under run id `shared`; before its grant goes in (its
    review is still being recorded), worker B takes `agent2`'s plan under the same run id.
    Safe outcome: one of the two is refused (409) and the run has one grant, of one
    credential. Today both are approved and granted."""
    worker_a, worker_b = make_client(pg_stores[0]), make_client(pg_stores[1])
    entered, release = threading.Event(), threading.Event()
    record = ServiceGate._record

    def slow_for_agent(self: ServiceGate, *args: Any) -> None:
        # The review of `agent`'s plan is done and its records (and grant) are about to be
        # written: hold it there while the other worker is served.
        if getattr(self._for, "credential", None) == "agent":
            entered.set()
            release.wait(20)
        record(self, *args)

    monkeypatch.setattr(ServiceGate, "_record", slow_for_agent)
    answers: list[Any] = []
    first = threading.Thread(target=lambda: answers.append(worker_a.post(
        "/v1/plans", json={**example("meeting-reply"), "run_id": "shared"}, headers=auth("agent"))))
    first.start()
    try:
        assert entered.wait(20), "worker A never reached the point of recording its review"
        other = example("meeting-reply")  # another mail (one mail's runs share its budget)
        other["trigger"] = {**other["trigger"], "id": "<another@mail.example>"}
        second = worker_b.post("/v1/plans", json={**other, "run_id": "shared"}, headers=auth("agent2"))
    finally:
        release.set()
        first.join(30)
    assert answers and answers[0].status_code in (200, 409), answers
    assert second.status_code in (200, 409), second.text
    grants = pg_stores[0].sql.all("SELECT id, credential FROM grants WHERE run_id = 'shared'")
    statuses = sorted([answers[0].status_code, second.status_code])
    assert len(grants) <= 1, f"run 'shared' has {len(grants)} grants, of {sorted(c for _i, c in grants)}"
    assert statuses == [200, 409], statuses
    # The loser's review is on record, approved, without a grant.
    verdicts = [e.data["verdict"] for e in pg_stores[0].audit.tail(20, run_id="shared") if e.kind == "verdict"]
    assert verdicts == ["approve", "approve"] and pg_stores[0].audit.verify().ok
