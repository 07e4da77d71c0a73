"""Red team round 34a: the HTTP service's front door, as a hostile agent credential (a
hijacked planner's front, or a stolen agent token). The fast path of `POST /v1/plans`
(`service/asgi.py::FastPlans`) must answer exactly as FastAPI's path would for the same
bytes; nothing may answer 5xx or leave half a record."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed")

from fastapi.testclient import TestClient

from plangate.service import asgi as fast
from plangate.storage import Storage
from service.conftest import auth, credentials, example, make_client, storage  # type: ignore[import-not-found]

_IDS = itertools.count(1)
__all__ = ["storage"]  # the service tests' fixture, used here


@pytest.fixture
def slow_only(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A switch: while on, the fast path takes nothing (every submit goes FastAPI's way)."""
    state = {"off": False}
    accepted = fast.FastPlans._accepted

    def maybe(self: fast.FastPlans, scope: Any, body: bytes) -> Any:
        return None if state["off"] else accepted(self, scope, body)

    monkeypatch.setattr(fast.FastPlans, "_accepted", maybe)
    return state


def _deep_plan(depth: int) -> bytes:
    """The meeting reply, its last argument a `concat` nested `depth` times (each level is a
    dict in a list: JSON nesting 2*depth+8 or so), as raw bytes (written out by hand: the
    test's own `json.dumps` would hit the recursion limit first)."""
    body = example("meeting-reply")
    body["trigger"]["id"] = f"<deep-{next(_IDS)}@example>"
    body["plan"]["steps"][2]["args"]["text"] = "@@ARG@@"
    arg = '{"concat": [' * depth + '{"literal": "x", "origin": "planner"}' + ']}' * depth
    return json.dumps(body).replace('"@@ARG@@"', arg).encode()


def _events(storage: Storage) -> int:
    return int(storage.sql.one("SELECT COUNT(*) FROM audit_events", ())[0])


def _post(client: TestClient, raw: bytes, **headers: str) -> Any:
    return client.post("/v1/plans", content=raw, headers={"content-type": "application/json", **auth("agent"),
                                                          **headers})


def test_deep_body_is_answered_alike_by_the_fast_path_and_fastapi(storage: Storage, slow_only: Any) -> None:
    """The fast path parses the body with `json.loads` a few hundred stack frames shallower
    than FastAPI's `request.json()`; JSON nested just under the interpreter's recursion limit
    parses on the fast path (a review is run and recorded, 200) and not on FastAPI's (400, "error
    parsing the body", nothing recorded) for the same bytes. Safe: both paths give the same
    status and record the same number of events for every depth."""
    client = make_client(storage)
    differ = []
    for depth in range(440, 500, 2):
        raw = _deep_plan(depth)
        before = _events(storage)
        slow_only["off"] = False
        quick = _post(client, raw)
        middle = _events(storage)
        slow_only["off"] = True
        slow = _post(client, raw)
        after = _events(storage)
        if quick.status_code != slow.status_code or (middle - before) != (after - middle):
            differ.append((depth, quick.status_code, slow.status_code, middle - before, after - middle))
    assert differ == [], differ


def test_deep_body_with_an_idempotency_key_is_no_server_error(storage: Storage, slow_only: Any) -> None:
    """An agent sends a plan nested deep enough to parse, with an `Idempotency-Key` (the
    fronts send one on every retry). The key's digest is `json.dumps` of the parsed body, run
    deeper in the stack than the parse, and raises `RecursionError`: a 500 with a traceback on
    both paths (at different depths). Safe: no 5xx at any depth (a 4xx refusal or a verdict)."""
    client = make_client(storage)
    errors = []
    for off in (False, True):
        slow_only["off"] = off
        for depth in range(440, 500, 2):
            raw = _deep_plan(depth)
            r = _post(client, raw, **{"Idempotency-Key": f"k-{next(_IDS)}"})
            if r.status_code >= 500:
                errors.append((off, depth, r.status_code))
    assert errors == [], errors


HOLD = {"step": "hold", "tool": "create_hold", "args": {"day": "2026-12-02", "title": "Tentative: meeting request"}}


def test_a_repeated_check_is_allowed_only_for_the_tool_that_was_allowed(storage: Storage) -> None:
    """A stranger's meeting request is approved; the agent checks `create_hold` (step `hold`,
    allowed, outstanding) and then asks again for step `hold` with the same arguments but
    another tool (`save_note`: a write to memory later runs read as instructions, which no
    review approved for a stranger; or `pay`). The repeat branch of `GrantRunner.check`
    compares step and argument digest only, so it answers `allowed: true, repeated: true`
    for a tool the plan never names. Safe: a repeat naming another tool is refused."""
    client = make_client(storage)
    r = client.post("/v1/plans", json=example("meeting-reply"), headers=auth("agent"))
    assert r.status_code == 200 and r.json()["verdict"] == "approve", r.text
    grant = r.json()["grant"]
    first = client.post(f"/v1/grants/{grant}/check", json=HOLD, headers=auth("agent"))
    assert first.status_code == 200 and first.json()["allowed"] is True, first.text
    for tool in ("save_note", "pay", "send_email"):
        again = client.post(f"/v1/grants/{grant}/check", json={**HOLD, "tool": tool}, headers=auth("agent"))
        assert not (again.status_code == 200 and again.json().get("allowed") is True), (tool, again.text)


@pytest.mark.parametrize("raw", [b"{\"trigger\": \"\xc3\x28\"}", b'{"trigger": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                                 b'{"trigger": {}, "plan": {"version": ' + b"9" * 5000 + b"}}"],
                         ids=["invalid-utf8", "too-deep", "int-too-long"])
def test_a_body_that_fails_to_decode_is_counted_against_the_rate(storage: Storage, raw: bytes) -> None:
    """The 400 for malformed JSON is counted against the credential's rate (the 422
    handler settles a meter), but a body `json.loads` refuses with something other than
    `JSONDecodeError` (bytes that are not UTF-8, nesting past the recursion limit, an int
    past 4300 digits) becomes FastAPI's own `HTTPException(400)`: no handler of the app's
    runs, nothing is counted, and an agent over its rate is never told 429. Safe: such
    requests are counted like malformed JSON (429 once over the rate)."""
    client = make_client(storage, credentials=credentials(rate=2))
    control = [_post(client, b"{not json").status_code for _ in range(4)]
    assert 429 in control, control  # malformed JSON is counted
    client = make_client(storage, credentials=credentials(rate=2))
    import time
    time.sleep(1.1)  # a fresh window
    codes = [_post(client, raw).status_code for _ in range(6)]
    assert 429 in codes, codes


def test_a_chunked_body_over_the_limit_is_413_on_every_route(storage: Storage) -> None:
    """A body with no Content-Length, over the limit, to a route FastAPI reads itself
    (check, results, decision): `BodyLimit`'s `_TooLarge` is raised inside FastAPI's body
    read, whose `except Exception` turns it into `400 {"detail": "There was an error parsing
    the body"}` (not the app's `{"error": ...}` shape, not 413 as documented, and not
    counted). Safe: 413 with the app's error body, as on `POST /v1/plans`."""
    client = make_client(storage, max_body=2000)
    r = client.post("/v1/plans", json=example("meeting-reply"), headers=auth("agent"))
    grant = r.json()["grant"]
    raw = json.dumps({**HOLD, "args": {**HOLD["args"], "pad": "x" * 5000}}).encode()

    def chunks() -> Iterator[bytes]:
        yield raw[:1000]
        yield raw[1000:]
    r = client.post(f"/v1/grants/{grant}/check", content=chunks(),
                    headers={"content-type": "application/json", **auth("agent")})
    assert r.status_code == 413 and "error" in r.json(), r.text


def test_odd_bytes_and_headers_are_answered_alike_either_way(storage: Storage, slow_only: Any) -> None:
    """Held (a regression net): duplicate keys, a BOM, NaN, trailing garbage, odd spacing and
    case in Content-Type and the scheme, two Authorization headers (agent's first or the
    approver's first), an Idempotency-Key another credential used: for each, the fast path
    and FastAPI's path give the same status and record as many events."""
    client = make_client(storage)
    other = make_client(storage)
    base = example("meeting-reply")
    text = json.dumps(base)
    cases: list[tuple[bytes, list[tuple[str, str]]]] = []
    agent = ("authorization", auth("agent")["Authorization"])
    approver = ("authorization", auth("approver")["Authorization"])
    ct = ("content-type", "application/json")
    cases.append((text.replace('"plan":', '"plan": {}, "plan":').encode(), [ct, agent]))
    cases.append(("\ufeff".encode() + text.encode(), [ct, agent]))
    cases.append((text.replace('"origin": "planner"}', '"origin": "planner", "x": NaN}', 1).encode(), [ct, agent]))
    cases.append((text.encode() + b" x", [ct, agent]))
    cases.append((text.encode(), [("content-type", " APPLICATION/JSON \t"), agent]))
    cases.append((text.encode(), [ct, ("authorization", "bEaReR " + auth("agent")["Authorization"][7:] + " ")]))
    cases.append((text.encode(), [ct, agent, approver]))
    cases.append((text.encode(), [ct, approver, agent]))
    for raw, headers in cases:
        answers = []
        for off in (False, True):
            slow_only["off"] = off
            before = _events(storage)
            r = client.post("/v1/plans", content=raw.replace(b"meeting-reply", f"mr{next(_IDS)}".encode()),
                            headers=headers)
            answers.append((r.status_code, _events(storage) - before))
        assert answers[0] == answers[1], (raw[:60], headers, answers)
    # An Idempotency-Key agent2 used is not agent's answer.
    r2 = other.post("/v1/plans", json=example("payment-escalates"),
                    headers={**auth("agent2"), "Idempotency-Key": "shared"})
    r1 = client.post("/v1/plans", json=base, headers={**auth("agent"), "Idempotency-Key": "shared"})
    assert r1.status_code == 200 and r2.status_code == 200
    assert r1.headers.get("Idempotent-Replay") is None and r1.json()["run_id"] != r2.json()["run_id"]
