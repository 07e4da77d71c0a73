"""Red team round 36: plangate as an HTTP service (`service/app.py`, `service/runs.py`,
`service/page.py`, `storage/sql.py`), attacked by a hijacked agent holding an agent
credential (submit, check, report; never approve) on the SQLite backend.

Two workers on one SQLite file (`plangate serve --workers 2`, docs/deploy.md) are two
`Storage` objects on the same file here, each with its own app: `Storage.lock` is a
per-process `RLock` and the file's writer lock is taken per statement, so a request on one
worker can land between two statements of a request on the other. Where a test needs such an
interleaving it holds one worker at a point between two of its statements (a thread
waiting on an event) while the other serves requests: a timing window, nothing else changed.

Every test asserts the SAFE outcome: an `xfail(strict=True)` one fails while its route is live.
"""

from __future__ import annotations

import threading
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed")

from fastapi.testclient import TestClient
from test_routes import call, lit, plan, ref  # type: ignore[import-not-found]

from plangate.storage import Storage, open_storage
from service.conftest import TOKENS, auth, example, make_client  # type: ignore[import-not-found]

AGENT = auth("agent")
CAROL = {"channel": "email", "principal": "Carol Client <carol@newclient.example>",
         "evidence": {"dmarc": "pass"}, "payload": "Could we meet on 2026-12-02?",
         "id": "<r36-meet@newclient.example>"}
REPLY_BODY = "Thanks, see you then."
READ = plan(call("cal", "search_calendar", day=lit("2026-12-02", "payload")), request_type="meeting_request")
REPLY = plan(call("reply", "reply_email", to=ref("trigger", "principal"), body=lit(REPLY_BODY)),
             request_type="meeting_request")
CAL_CALL = {"step": "cal", "tool": "search_calendar", "args": {"day": "2026-12-02"}}
REPLY_CALL = {"step": "reply", "tool": "reply_email", "args": {"to": "carol@newclient.example", "body": REPLY_BODY}}
OWNER_EVENT = [{"title": "Acquisition talks with Initech"}]


class _Workers:
    """Two workers (apps, each with its own storage) on one SQLite file."""

    def __init__(self, tmp_path: Path) -> None:
        db, witness = str(tmp_path / "plangate.db"), str(tmp_path / "witness.db")
        self.stores: list[Storage] = [open_storage(db, witness=witness), open_storage(db, witness=witness)]
        self.one: TestClient = make_client(self.stores[0])
        self.two: TestClient = make_client(self.stores[1])

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture
def workers(tmp_path: Path) -> Any:
    w = _Workers(tmp_path)
    yield w
    w.close()


def _submit(client: TestClient, data: dict[str, Any], session: str = "S", **trigger: Any) -> dict[str, Any]:
    r = client.post("/v1/plans", json={"trigger": {**CAROL, **trigger}, "plan": data, "session": session},
                    headers=AGENT)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _read_owner_calendar(client: TestClient, **trigger: Any) -> str:
    """Another grant of the session: `search_calendar` (the owner's events, readers: owner),
    checked as the agent would before running it; returns its grant id."""
    out = _submit(client, READ, **trigger)
    assert out["verdict"] == "approve" and out["grant"], out
    r = client.post(f"/v1/grants/{out['grant']}/check", json=CAL_CALL, headers=AGENT)
    assert r.status_code == 200 and r.json()["allowed"], r.text
    return str(out["grant"])


def _allowed(r: Any) -> bool:
    return bool(r.status_code == 200 and r.json().get("allowed") is True)


def _held_after_context_read(store: Storage) -> tuple[threading.Event, threading.Event]:
    """Worker `store` pauses right after it read its agent session's context (one SELECT),
    until `go` is set: the window in which another worker may serve the same agent."""
    read, go = threading.Event(), threading.Event()
    original = store.context.label

    def label(credential: str, session: str) -> Any:
        found = original(credential, session)
        if not read.is_set():
            read.set()
            go.wait(20)
        return found

    store.context.label = label  # type: ignore[method-assign]
    return read, go


# ------------------------------------------------------------------------------------------
# (1) Two workers: the session context is read once, before the review, and never again


def test_sequential_orders_of_a_read_grant_and_a_reply_grant_are_held(workers: _Workers) -> None:
    """Held (the control for the race below). A stranger's meeting request; the agent wants
    to read the owner's calendar on one grant and then reply to Carol on another, so that
    whether it replies depends on the owner's events. Read checked first: the reply plan is
    reviewed with the calendar in the session's context (refused). Reply granted first: the
    later read grant supersedes it (410)."""
    _read_owner_calendar(workers.one)
    out = _submit(workers.two, REPLY)
    assert out["verdict"] != "approve" and out["grant"] is None, out

    out = _submit(workers.two, REPLY, session="S2")
    assert out["verdict"] == "approve" and out["grant"], out
    read = _submit(workers.one, READ, session="S2")["grant"]
    assert _allowed(workers.one.post(f"/v1/grants/{read}/check", json=CAL_CALL, headers=AGENT))
    r = workers.two.post(f"/v1/grants/{out['grant']}/check", json=REPLY_CALL, headers=AGENT)
    assert r.status_code == 410 and "superseded" in r.json()["error"], r.text


# Was LIVE, closed: every new call on a grant is refused (410) once its session has been
# shown more than its plan was reviewed with (`GrantRunner._current`).
def test_a_reply_grant_reviewed_while_another_worker_allows_a_private_read(workers: _Workers) -> None:
    """The agent sends the reply plan to worker 2 and, while worker 2 reviews it, asks worker
    1 for a grant that reads the owner's calendar and checks that read (`allowed`; its label
    goes into the session's context, after worker 2 read it). Worker 2's review ends: the
    reply is approved on the context as it was (Carol's mail only), and its grant, written
    last, is the session's newest. The agent runs the calendar read, reports it (an
    outstanding call may be reported on a superseded grant), and then decides on the owner's
    events whether to use the reply grant: `check` allows the reply unattended, where either
    sequential order refuses it (test above). Safe: the reply is not allowed."""
    read, go = _held_after_context_read(workers.stores[1])
    answers: list[Any] = []
    submit = threading.Thread(target=lambda: answers.append(_submit(workers.two, REPLY)))
    submit.start()
    try:
        assert read.wait(20), "worker 2 never read the session context"
        calendar = _read_owner_calendar(workers.one)  # on worker 1, inside worker 2's review
    finally:
        go.set()
        submit.join(30)
    assert answers, "the reply plan was never answered"
    reply = answers[0]
    assert reply["verdict"] == "approve" and reply["grant"], reply  # reviewed on the stale context
    r = workers.one.post(f"/v1/grants/{calendar}/results", json={"call": 0, "value": OWNER_EVENT}, headers=AGENT)
    assert r.status_code == 200 and "owner" in r.json()["label"]["readers"], r.text
    r = workers.two.post(f"/v1/grants/{reply['grant']}/check", json=REPLY_CALL, headers=AGENT)
    assert not _allowed(r), r.text


def _approved_reply(client: TestClient) -> str:
    """A reply to Carol in a session that has read her mail: escalated, then approved."""
    first = _submit(client, READ, id="<r36-first@newclient.example>")  # the session has read her mail
    assert first["verdict"] == "approve"
    asked = _submit(client, REPLY)
    assert asked["verdict"] == "escalate" and asked["approval"], asked
    r = client.post(f"/v1/approvals/{asked['approval']}/decision",
                    json={"decision": "approve", "reason": "a plain reply is fine"}, headers=auth("approver"))
    assert r.status_code == 200, r.text
    return str(asked["approval"])


def test_an_approval_taken_up_after_a_private_read_is_refused(workers: _Workers) -> None:
    """Held (the control for the race below): the calendar read checked first, the take-up
    of the approved reply is refused (409: the session has been shown more)."""
    approval = _approved_reply(workers.two)
    _read_owner_calendar(workers.one, id="<r36-next@newclient.example>")
    r = workers.two.post(f"/v1/approvals/{approval}/grant", headers=AGENT)
    assert r.status_code == 409 and "shown more" in r.json()["error"], r.text


# Was LIVE, closed as the one above (`GrantRunner._current`).
def test_an_approval_taken_up_while_another_worker_allows_a_private_read(workers: _Workers) -> None:
    """The same window at the other door to a grant. A reply to Carol escalates (the
    session has read her mail); the owner approves it. Taken up after the agent read the
    owner's calendar, it is refused ("the session has been shown more since this plan was
    reviewed", red team round 26). The agent takes it up on worker 2 and, while worker 2
    re-reviews it, has worker 1 allow the calendar read: the approval's grant is made on the
    context as worker 2 read it, is the newest, and its reply is allowed after the agent
    read the owner's events. Safe: the reply is not allowed."""
    approval = _approved_reply(workers.two)
    read, go = _held_after_context_read(workers.stores[1])
    answers: list[Any] = []

    def take_up() -> None:
        answers.append(workers.two.post(f"/v1/approvals/{approval}/grant", headers=AGENT))

    taker = threading.Thread(target=take_up)
    taker.start()
    try:
        assert read.wait(20), "worker 2 never read the session context"
        # (Carol's next mail: a plan approved for the approval's own mail would void it.)
        calendar = _read_owner_calendar(workers.one, id="<r36-next@newclient.example>")
    finally:
        go.set()
        taker.join(30)
    assert answers, "the take-up was never answered"
    if answers[0].status_code != 200:  # refused: held
        assert answers[0].status_code == 409, answers[0].text
        return
    grant = answers[0].json()["grant"]
    r = workers.one.post(f"/v1/grants/{calendar}/results", json={"call": 0, "value": OWNER_EVENT}, headers=AGENT)
    assert r.status_code == 200, r.text
    r = workers.two.post(f"/v1/grants/{grant}/check", json=REPLY_CALL, headers=AGENT)
    assert not _allowed(r), r.text


def test_a_grant_is_leased_to_one_worker_at_a_time(workers: _Workers) -> None:
    """Held: while worker 2 is inside a check on a grant (holding its lease), worker 1's
    check of the same call gets 409 and records nothing; once worker 2 is done, the call is
    recorded once and a repeat is the same outstanding call."""
    out = _submit(workers.one, READ, session="lease")
    grant = out["grant"]
    store = workers.stores[1]
    inside, go = threading.Event(), threading.Event()
    original = store.grants.lease

    def lease(grant_id: str, owner: str, seconds: float) -> bool:
        took = original(grant_id, owner, seconds)
        if took and not inside.is_set():
            inside.set()
            go.wait(20)
        return took

    store.grants.lease = lease  # type: ignore[method-assign]
    answers: list[Any] = []
    t = threading.Thread(target=lambda: answers.append(
        workers.two.post(f"/v1/grants/{grant}/check", json=CAL_CALL, headers=AGENT)))
    t.start()
    try:
        assert inside.wait(20)
        other = workers.one.post(f"/v1/grants/{grant}/check", json=CAL_CALL, headers=AGENT)
    finally:
        go.set()
        t.join(30)
    assert other.status_code == 409, other.text
    assert _allowed(answers[0]), answers[0].text
    again = workers.one.post(f"/v1/grants/{grant}/check", json=CAL_CALL, headers=AGENT)
    assert _allowed(again) and again.json().get("repeated") is True, again.text
    calls = [e for e in workers.stores[0].audit.tail(200, run_id=out["run_id"]) if e.kind == "call"]
    assert len(calls) == 1, calls


# ------------------------------------------------------------------------------------------
# (2) Idempotency keys


def test_an_idempotency_key_reused_with_another_call_or_grant_runs_nothing(workers: _Workers) -> None:
    """Held: a key first used for an allowed check is refused (422) with other arguments,
    another tool, or another grant, on either worker, and nothing more is recorded; the same
    key from another agent credential is that credential's own key (its grant: 404)."""
    first = _submit(workers.one, READ, session="idem")
    grant = first["grant"]
    key = {"Idempotency-Key": "r36-k"}
    r = workers.one.post(f"/v1/grants/{grant}/check", json=CAL_CALL, headers={**AGENT, **key})
    assert _allowed(r), r.text
    before = len(workers.stores[0].audit.tail(1000))
    other_args = {**CAL_CALL, "args": {"day": "2026-12-03"}}
    for client, body, path in ((workers.two, other_args, f"/v1/grants/{grant}/check"),
                               (workers.one, {**CAL_CALL, "tool": "reply_email"}, f"/v1/grants/{grant}/check"),
                               (workers.two, {"call": 0, "value": "x"}, f"/v1/grants/{grant}/results")):
        again = client.post(path, json=body, headers={**AGENT, **key})
        assert again.status_code == 422 and "Idempotency-Key" in again.json()["error"], again.text
    r = workers.two.post(f"/v1/grants/{grant}/check", json=CAL_CALL, headers={**auth("agent2"), **key})
    assert r.status_code == 404, r.text
    assert len(workers.stores[0].audit.tail(1000)) == before


# ------------------------------------------------------------------------------------------
# (3) The approvals page


class _Untrusted(HTMLParser):
    """For each text node holding `needle`: whether an enclosing element is marked untrusted."""

    VOID = frozenset({"input", "br", "meta", "link", "img", "hr"})

    def __init__(self, needle: str) -> None:
        super().__init__()
        self.needle = needle
        self.stack: list[bool] = []
        self.found: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        classes = dict(attrs).get("class") or ""
        self.stack.append("untrusted" in classes.split())

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.needle in data:
            self.found.append(any(self.stack))


def _page_marks(client: TestClient, needle: str) -> list[bool]:
    r = client.post("/ui/login", data={"token": TOKENS["approver"]}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/ui/approvals")
    assert page.status_code == 200
    parser = _Untrusted(needle)
    parser.feed(page.text)
    return parser.found


# Was LIVE, closed: the plan block is marked as the agent's (`page._card`).
def test_an_agents_note_to_the_approver_is_not_shown_as_plain_text(storage_client: TestClient) -> None:
    """The owner asks to pay the plumber (escalates: ask-before-paying). The hijacked agent
    adds an extraction step whose `question` (free text, up to 2000 characters, any words)
    speaks to the approver: "the owner already confirmed this payment by phone; approve it".
    The summary never renders it ("the approver judges what, not why"), but the card's
    "plan as submitted" prints the plan's JSON in a plain `<pre>`, outside any untrusted
    mark, the only place on the page where words the agent chose are not marked as such.
    Safe: every occurrence of the agent's note is inside an element marked untrusted."""
    note = "NOTE FOR THE APPROVER: the owner already confirmed this payment by phone (ref 4471); approve it."
    body = example("payment-escalates")
    body["plan"]["steps"].insert(0, {"id": "chk", "kind": "extract", "from": {"ref": "trigger", "path": "payload"},
                                     "type": {"kind": "bool"}, "question": note})
    r = storage_client.post("/v1/plans", json=body, headers=AGENT)
    assert r.status_code == 200 and r.json()["verdict"] == "escalate", r.text
    found = _page_marks(storage_client, "NOTE FOR THE APPROVER")
    assert found, "the note is not on the page at all"
    assert all(found), found


def test_a_decision_needs_an_approver_session_and_its_csrf(storage_client: TestClient) -> None:
    """Held: agent and admin tokens are refused as Bearer on the decision API and as a
    login on the page; a forged cookie (an agent's name, a signature from another purpose:
    the CSRF token itself) decides nothing; the approver's CSRF token does not work with a
    cookie it was not made for."""
    import re

    r = storage_client.post("/v1/plans", json=example("payment-escalates"), headers=AGENT)
    ident = r.json()["approval"]
    for who in ("agent", "admin"):
        d = storage_client.post(f"/v1/approvals/{ident}/decision", json={"decision": "approve"}, headers=auth(who))
        assert d.status_code == 403
    r = storage_client.post("/ui/login", data={"token": TOKENS["approver"]}, follow_redirects=False)
    cookie = r.cookies.get("plangate_session") or storage_client.cookies.get("plangate_session")
    page = storage_client.get("/ui/approvals").text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)  # type: ignore[union-attr]
    name, expires, nonce, _sig = cookie.split("|")
    forged = [f"agent|{expires}|{nonce}|{csrf}", f"{name}|{int(expires) + 10**6}|{nonce}|{_sig}",
              f"{name}|{expires}|{nonce}x|{_sig}"]
    for bad in forged:
        storage_client.cookies.clear()
        storage_client.cookies.set("plangate_session", bad, path="/ui")
        d = storage_client.post(f"/ui/approvals/{ident}/decision",
                                data={"csrf": csrf, "decision": "approve", "reason": "x"}, follow_redirects=False)
        assert d.status_code in (401, 403), (bad, d.status_code)
    storage_client.cookies.clear()
    r = storage_client.post("/ui/login", data={"token": TOKENS["approver"]}, follow_redirects=False)
    d = storage_client.post(f"/ui/approvals/{ident}/decision",
                            data={"csrf": csrf, "decision": "approve", "reason": "x"}, follow_redirects=False)
    assert d.status_code == 403  # the old session's token, a new session
    status = storage_client.get(f"/v1/approvals/{ident}/status", headers=AGENT).json()["status"]
    assert status == "pending"


@pytest.fixture
def storage_client(tmp_path: Path) -> Any:
    store = open_storage(str(tmp_path / "one.db"), witness=str(tmp_path / "w" / "heads.db"))
    yield make_client(store)
    store.close()
