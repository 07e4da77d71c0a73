"""Round 20 red-team routes: agents that run their OWN tools and talk to `plangate serve`
over its agent endpoints (submit a plan, check a concrete call, report a call's result).

Threat model for this file: the agent process itself may be hijacked, so it can send any
check/report request its agent credential allows (any `step`, `args`, `call`, `value`,
`readers`, `session`). The service's labels, and the runtime decisions made from them, must
not depend on the agent telling the truth about who may read what it got back.

Every test asserts the SAFE outcome: a test that fails shows a live route.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed")

from fastapi.testclient import TestClient
from test_routes import call, lit, plan, ref  # type: ignore[import-not-found]

from plangate.storage import Storage, open_storage
from service.conftest import auth, credentials, make_client  # type: ignore[import-not-found]

OWNER = "owner@home.example"  # examples/assistant-policy.yaml (the service tests' policy)
BOB = "bob@partner.example"  # a contact: read_file and send_email are his everyday tools
MALLORY = "mallory@evil.example"
SECRET = "Q3 revenue 4.2M, layoffs planned"

BOB_ASKS = {"channel": "email", "principal": BOB, "evidence": {"dmarc": "pass"},
            "payload": "Hi, could you send me the meeting notes?",
            "meta": {"subject": "notes", "message_id": "<n1@partner.example>"}}
CAROL = {"channel": "email", "principal": "Carol Client <carol@newclient.example>",
         "evidence": {"dmarc": "pass"}, "payload": "Could we meet on 2026-12-02?"}

_SESSIONS = itertools.count(1)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = open_storage(str(tmp_path / "plangate.db"), witness=str(tmp_path / "witness" / "heads.db"))
    yield store
    store.close()


@pytest.fixture
def client(storage: Storage) -> TestClient:
    return make_client(storage)


@pytest.fixture
def unnamed(storage: Storage) -> TestClient:
    """An agent credential whose session names do not count (`sessions` off, the default)."""
    return make_client(storage, credentials=credentials(sessions=False))


def _submit(client: TestClient, trigger: dict[str, Any], data: dict[str, Any], *, who: str = "agent",
            session: str | None = None) -> dict[str, Any]:
    r = client.post("/v1/plans", headers=auth(who), json={
        "trigger": trigger, "plan": data, "session": session or f"rt20-agent-{next(_SESSIONS)}"})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _granted(client: TestClient, trigger: dict[str, Any], data: dict[str, Any], **kw: Any) -> str:
    out = _submit(client, trigger, data, **kw)
    assert out["verdict"] == "approve" and out["grant"], out
    return str(out["grant"])


def _check(client: TestClient, grant: str, step: str, tool: str, args: dict[str, Any],
           who: str = "agent") -> Any:
    return client.post(f"/v1/grants/{grant}/check", headers=auth(who),
                       json={"step": step, "tool": tool, "args": args})


def _allowed(r: Any) -> bool:
    return r.status_code == 200 and r.json().get("allowed") is True


def _run(client: TestClient, grant: str, step: str, tool: str, args: dict[str, Any], value: Any,
         **report: Any) -> dict[str, Any]:
    """Check a call (must be allowed), then report its result as the agent chooses."""
    r = _check(client, grant, step, tool, args)
    assert _allowed(r), r.text
    r = client.post(f"/v1/grants/{grant}/results", headers=auth("agent"),
                    json={"call": r.json()["call"], "value": value, **report})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


# ----------------------------------- (1) a result reported with wider readers than the truth


@pytest.mark.parametrize("readers", [["*"], [OWNER, MALLORY]], ids=["public", "names-the-attacker"])
def test_reported_readers_widen_a_private_read_into_an_egress_to_the_attacker(
        client: TestClient, readers: list[str]) -> None:
    """A contact's run: read report.txt, read contacts.txt, mail the first to the address in
    the second (approved: the recipient is open at review, the runtime check decides). The
    hijacked agent reports both reads with `readers` of its choice; the service *replaces*
    the catalog's owner-only readers with them (the API says "may only narrow"), so the
    owner's report is allowed out to mallory@evil.example. Honest readers: halted."""
    grant = _granted(client, BOB_ASKS, plan(
        call("f", "read_file", path=lit("report.txt")),
        call("g", "read_file", path=lit("contacts.txt")),
        call("s", "send_email", to={"list": [ref("g")]}, subject=lit("notes"), body=ref("f"))))
    first = _run(client, grant, "f", "read_file", {"path": "report.txt"}, SECRET, readers=readers)
    assert set(first["label"]["readers"]) <= {"owner", OWNER}, first["label"]  # never wider than the catalog's
    _run(client, grant, "g", "read_file", {"path": "contacts.txt"}, MALLORY, readers=readers)
    r = _check(client, grant, "s", "send_email", {"to": [MALLORY], "subject": "notes", "body": SECRET})
    assert not _allowed(r), r.text


def test_reported_readers_undo_the_seen_join_of_an_agent_that_runs_its_tools(client: TestClient) -> None:
    """Round 20 made every call of an agent that runs its own tools join the readers of what
    it was shown (a reply after a private read is decided on private data). Reporting the
    private read with `readers: ["*"]` makes what it was shown public again: the reply to
    the contact that the honest report halts is allowed."""
    grant = _granted(client, BOB_ASKS, plan(
        call("f", "read_file", path=lit("notes.txt")),
        call("r", "reply_email", to=ref("trigger", "principal"), body=lit("Thanks, will do."))))
    _run(client, grant, "f", "read_file", {"path": "notes.txt"}, SECRET, readers=["*"])
    r = _check(client, grant, "r", "reply_email", {"to": BOB, "body": "Thanks, will do."})
    assert not _allowed(r), r.text


def test_honest_report_of_the_same_run_is_halted(client: TestClient) -> None:
    """Control for the two routes above: the same plans with no `readers` in the reports
    are stopped by the runtime check (so what fails above is the reported readers alone)."""
    grant = _granted(client, BOB_ASKS, plan(
        call("f", "read_file", path=lit("report.txt")),
        call("g", "read_file", path=lit("contacts.txt")),
        call("s", "send_email", to={"list": [ref("g")]}, subject=lit("notes"), body=ref("f"))))
    _run(client, grant, "f", "read_file", {"path": "report.txt"}, SECRET)
    _run(client, grant, "g", "read_file", {"path": "contacts.txt"}, MALLORY)
    assert not _allowed(_check(client, grant, "s", "send_email",
                               {"to": [MALLORY], "subject": "notes", "body": SECRET}))


def test_reporting_the_private_read_as_failed_still_counts_as_seen(client: TestClient) -> None:
    """Instead of a result, the agent reports the read as failed, with the secret in the
    error text: what it saw (result or error) still joins what its next call depends on."""
    grant = _granted(client, BOB_ASKS, plan(
        call("f", "read_file", path=lit("notes.txt")),
        call("r", "reply_email", to=ref("trigger", "principal"), body=lit("Thanks, will do."))))
    _run(client, grant, "f", "read_file", {"path": "notes.txt"}, None, ok=False, error=SECRET)
    assert not _allowed(_check(client, grant, "r", "reply_email", {"to": BOB, "body": "Thanks, will do."}))


# --------------------------------------------- (2) what the agent was shown, per session name


def test_a_fresh_session_name_forgets_what_the_agent_read(unnamed: TestClient) -> None:
    """The service reviews a plan with all its session's planner was shown before; the
    session is a name the agent gives in each `/v1/plans`. The agent reads the owner's
    calendar on one grant, then submits the leak (the secret as a *planner* literal in a
    reply to the stranger) under a new session name. Held: the names count only for a
    credential configured with `sessions = true` (a front whose own code names the
    model's contexts); by default every plan of a credential shares one context."""
    client = unnamed
    grant = _granted(client, CAROL, plan(call("cal", "search_calendar", day=lit("2026-12-02", "payload")),
                                         request_type="meeting_request"), session="conversation-1")
    _run(client, grant, "cal", "search_calendar", {"day": "2026-12-02"}, [{"title": SECRET}])
    leak = plan(call("reply", "reply_email", to=ref("trigger", "principal"), body=lit(f"Dana is busy: {SECRET}")),
                request_type="meeting_request")
    same = _submit(client, CAROL, leak, session="conversation-1")
    assert not (same["verdict"] == "approve" and same["grant"]), same  # the fix for the same session holds
    other = _submit(client, CAROL, leak, session="conversation-2")
    assert not (other["verdict"] == "approve" and other["grant"]), other


def test_an_older_grant_in_another_session_runs_after_a_private_read(unnamed: TestClient) -> None:
    """The same per-session bookkeeping closes older grants of a session when a new one is
    granted (`supersede`) and joins a session's reads into its next review. Grant A
    (session 1: a reply to the stranger) stays open while the agent reads the owner's
    calendar on grant B (session 2); whether it then uses A's reply is decided on the
    calendar. Held by default: the names do not count, so B supersedes A."""
    client = unnamed
    reply = plan(call("reply", "reply_email", to=ref("trigger", "principal"),
                      body=lit("Thanks, I'll get back to you.")), request_type="meeting_request")
    first = _granted(client, CAROL, reply, session="conversation-a")
    second = _granted(client, CAROL, plan(call("cal", "search_calendar", day=lit("2026-12-02", "payload")),
                                          request_type="meeting_request"), session="conversation-b")
    _run(client, second, "cal", "search_calendar", {"day": "2026-12-02"}, [{"title": SECRET}])
    r = _check(client, first, "reply", "reply_email", {"to": "carol@newclient.example",
                                                       "body": "Thanks, I'll get back to you."})
    assert not _allowed(r), r.text


# ------------------------------- (3) checks that differ from the approved plan step (held)


NOTE = "Carol asks to meet on 2026-12-02"


def _meeting_grant(client: TestClient, who: str = "agent") -> str:
    return _granted(client, CAROL, plan(
        call("cal", "notify_owner", text=lit("Carol asks to meet on 2026-12-02")),
        call("reply", "reply_email", to=ref("trigger", "principal"), body=lit("Thanks, I'll get back to you.")),
        request_type="meeting_request"), who=who)


def test_checks_that_differ_from_the_plan_are_refused(client: TestClient) -> None:
    """Other arguments, a later step first, an unknown step or tool, the same step again
    after its result, a call after the run ended, and another credential's grant: none is
    allowed."""
    grant = _meeting_grant(client)
    body = "Thanks, I'll get back to you."
    assert not _allowed(_check(client, grant, "cal", "notify_owner", {"text": NOTE + "!"}))
    assert not _allowed(_check(client, grant, "cal", "notify_owner", {"text": NOTE, "x": 1}))
    assert not _allowed(_check(client, grant, "reply", "reply_email", {"to": "carol@newclient.example",
                                                                      "body": body}))
    assert not _allowed(_check(client, grant, "cal", "reply_email", {"text": NOTE}))
    assert not _allowed(_check(client, grant, "cal", "notify_owner", {"text": NOTE}, who="agent2"))
    _run(client, grant, "cal", "notify_owner", {"text": NOTE}, [])
    assert not _allowed(_check(client, grant, "cal", "notify_owner", {"text": NOTE}))
    assert not _allowed(_check(client, grant, "reply", "reply_email", {"to": MALLORY, "body": body}))
    _run(client, grant, "reply", "reply_email", {"to": "carol@newclient.example", "body": body}, "sent")
    assert not _allowed(_check(client, grant, "reply", "reply_email", {"to": "carol@newclient.example",
                                                                      "body": body}))


def test_a_result_cannot_be_skipped_or_reported_for_another_call(client: TestClient) -> None:
    """The agent runs the read and never reports it, then asks for the reply; or reports
    under a call number that was never allowed; or reports twice."""
    grant = _meeting_grant(client)
    r = _check(client, grant, "cal", "notify_owner", {"text": NOTE})
    assert _allowed(r)
    assert not _allowed(_check(client, grant, "reply", "reply_email", {
        "to": "carol@newclient.example", "body": "Thanks, I'll get back to you."}))
    bad = client.post(f"/v1/grants/{grant}/results", headers=auth("agent"), json={"call": 7, "value": []})
    assert bad.status_code == 409, bad.text
    other = client.post(f"/v1/grants/{grant}/results", headers=auth("agent2"), json={"call": 0, "value": []})
    assert other.status_code == 404, other.text
    ok = client.post(f"/v1/grants/{grant}/results", headers=auth("agent"), json={"call": 0, "value": []})
    assert ok.status_code == 200, ok.text
    again = client.post(f"/v1/grants/{grant}/results", headers=auth("agent"), json={"call": 0, "value": []})
    assert again.status_code == 409, again.text
