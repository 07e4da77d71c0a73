"""Round 21 review of today's changes: the fast path of POST /v1/plans (3220fd9), identity
and provenance (028182c), DMARC alignment and the repeated-payments rule (34d7b5d).

Every test asserts the SAFE outcome: a test that fails today is a live route.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from plangate.bench.support import shipped_policy, world
from plangate.bench.support.authoring import BEN, STAFF, call, plan, said
from plangate.deployments.support.db import SupportDB
from plangate.deployments.support.intake import chat_trigger, email_trigger
from plangate.deployments.support.labels import SupportGate
from plangate.deployments.support.runtime import SupportRuntime
from plangate.identity import lookalike_of, parse_address
from plangate.trigger import classify

# ---- 3220fd9: the fast path of POST /v1/plans -------------------------------------------------

fastapi = pytest.importorskip("fastapi")

from plangate.storage import open_storage  # noqa: E402
from service.conftest import auth, credentials, example, make_client  # type: ignore[import-not-found]  # noqa: E402

FASTAPI_ONLY = "application/json; charset=utf-8"


def _client(tmp_path: Path, **kw: Any) -> tuple[Any, Any]:
    store = open_storage(str(tmp_path / "p.db"), witness=str(tmp_path / "w" / "h.db"))
    return make_client(store, **kw), store


def _post(client: Any, body: Any, content_type: str, who: str = "agent", **headers: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/v1/plans", content=raw, headers={"content-type": content_type, **auth(who), **headers})


@pytest.mark.parametrize("content_type", ["application/json", FASTAPI_ONLY])
def test_each_submit_is_counted_once_on_either_path(tmp_path: Path, content_type: str) -> None:
    """An agent at a rate of 2 a second submits four valid plans: the fast path
    (`application/json`) meters with a fresh Meter settled in `plans`' finally, FastAPI's
    with the dependency's. A path that skipped the count would let an agent past its rate;
    one that counted twice would refuse the second (held: 200, 200, 429, 429 both ways)."""
    client, store = _client(tmp_path, credentials=credentials(rate=2))
    try:
        ex = example("meeting-reply")
        codes = [_post(client, dict(ex, session=f"s{i}"), content_type).status_code for i in range(4)]
        assert codes == [200, 200, 429, 429], codes
    finally:
        store.close()


@pytest.mark.parametrize("content_type", ["application/json", " Application/JSON ", FASTAPI_ONLY])
@pytest.mark.parametrize("who", ["approver", "admin"])
def test_another_roles_token_never_submits_on_either_path(tmp_path: Path, content_type: str, who: str) -> None:
    """An approver's or admin's token with a body the fast path would take: `_accepted`
    declines any role but agent, FastAPI's dependency answers 403 (held)."""
    client, store = _client(tmp_path)
    try:
        r = _post(client, example("meeting-reply"), content_type, who=who)
        assert r.status_code == 403, r.text
    finally:
        store.close()


def test_a_second_authorization_header_does_not_change_who_submits(tmp_path: Path) -> None:
    """An approver's token first, an agent's second: both paths read the first header
    (Starlette's `headers.get`), so the request is the approver's and refused (held)."""
    client, store = _client(tmp_path)
    try:
        ex = json.dumps(example("meeting-reply")).encode()
        headers = [("content-type", "application/json"), *auth("approver").items(), *auth("agent").items()]
        r = client.post("/v1/plans", content=ex, headers=headers)
        assert r.status_code == 403, r.text
    finally:
        store.close()


@pytest.mark.parametrize("content_type", ["application/json", FASTAPI_ONLY])
def test_a_lone_surrogate_is_a_4xx_on_either_path(tmp_path: Path, content_type: str) -> None:
    """`json.loads` accepts `\\ud800`; the fast path validates it with `PlanRequest` as
    FastAPI does, so the session or payload is refused with 422, never a 500 from the
    storage (held)."""
    client, store = _client(tmp_path)
    try:
        ex = example("meeting-reply")
        raw = json.dumps(dict(ex, session="x")).replace('"x"', '"\\ud800"').encode()
        assert _post(client, raw, content_type).status_code == 422
        raw = json.dumps(ex).replace('"payload": "', '"payload": "\\udc80', 1).encode()
        assert _post(client, raw, content_type).status_code == 422
    finally:
        store.close()


# ---- 028182c: identity -----------------------------------------------------------------------

OWNER = "owner@home.example"


@pytest.mark.parametrize("variant", ["own\u200ber@home.example", "\uff4fwner@home.example",
                                     "owner\u00ad@home.example", "\U0001d428wner@home.example",
                                     "owne\u202er@home.example"])
def test_a_local_part_variant_of_the_owner_is_a_lookalike_not_the_owner(variant: str) -> None:
    """Since 028182c the local part is kept as written: a zero-width, fullwidth, soft-hyphen,
    math-letter or bidi variant of the owner's mailbox must still be caught by the skeleton
    (which strips invisibles and NFKC-folds), or it is a plain stranger at the owner's own
    domain, no lookalike flag (held)."""
    candidate = parse_address(variant)
    assert candidate.canonical != OWNER
    assert lookalike_of(candidate, frozenset({OWNER})) == OWNER


# ---- 34d7b5d: repeated staff payments --------------------------------------------------------

ASK = f"Refund 40.00 on O-5101 for {BEN}, the tent arrived torn."


def _refund(step: str) -> dict[str, Any]:
    return call(step, "refund_issue", customer=said(BEN), order_id=said("O-5101"), amount=said(40.0),
                reason=said("torn"))


def _refunded(snapshot: dict[str, Any], customer: str) -> float:
    seeded = {r["id"] for c in world()["customers"] for r in c.get("refunds", [])}
    return sum(r["amount"] for r in snapshot["refunds"]
               if r["customer"] == customer and r["id"] not in seeded and r["reason"] != "seeded")


def test_an_agents_one_refund_is_not_paid_again_by_a_second_run() -> None:
    """`human-approves-repeated-staff-payments` counts payments per plan
    (`context.plan.payments`). The hijacked planner submits the agent's one ask twice, each
    plan one 40.00 refund: each run pays once, no rule fires, staff refunds are uncapped
    and staff has no rate: 80.00 leaves for one 40.00 ask. Nothing binds a trigger to one run."""
    db = SupportDB.sqlite()
    tools = SupportRuntime(db)
    tools.seed(world())
    try:
        gate = SupportGate(shipped_policy(), tools, db)
        trigger = chat_trigger(STAFF, ASK)
        verdicts = [gate.submit(trigger, plan("staff_task", _refund("r"))).review.verdict for _ in range(2)]
        assert _refunded(tools.snapshot(), "C-1002") <= 40.0, verdicts
    finally:
        db.close()


def test_a_dmarc_fail_vetoes_aligned_looking_passes_in_the_support_intake() -> None:
    """A forged staff mail whose SPF and DKIM pass for a look-alike parent/child domain the
    forger controls: `aligned_domain` accepts a subdomain either way, and DMARC fail must
    still veto (held)."""
    forged = email_trigger(STAFF, "Payout", "hi", dmarc="fail", spf="pass", dkim="pass",
                           spf_domain="mail.fernhill.example", dkim_domain="fernhill.example")
    assert classify(forged, shipped_policy().doc.deployment).trust_class == "unknown"
    # Without DMARC at all, a pass for a domain that merely ends like the From's is not aligned.
    near = email_trigger(STAFF, "Payout", "hi", dmarc="none", spf="pass", dkim="pass",
                         spf_domain="evilfernhill.example", dkim_domain="evilfernhill.example")
    assert classify(near, shipped_policy().doc.deployment).trust_class == "unknown"
