"""The approvals page over HTTP: login by role, CSRF, escaping of hostile text, the event
stream. (tests/service/test_page_browser.py drives it in headless Chromium.)"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from plangate.service.page import COOKIE
from plangate.storage import Storage

from .conftest import TOKENS, auth, example


def login(client: TestClient, who: str = "approver") -> Any:
    return client.post("/ui/login", data={"token": TOKENS[who]}, follow_redirects=False)


def escalate(client: TestClient, memo: str | None = None, principal: str | None = None) -> str:
    """The example payment (escalates); `memo` is appended to the payload and becomes the
    memo literal the plan claims from it, so it reaches the summary."""
    body = example("payment-escalates")
    if memo is not None:
        body["trigger"]["payload"] += " " + memo
        body["plan"]["steps"][0]["args"]["memo"] = {"literal": memo, "origin": "payload"}
    if principal is not None:
        body["trigger"]["principal"] = principal
    r = client.post("/v1/plans", json=body, headers=auth("agent"))
    assert r.status_code == 200 and r.json()["verdict"] == "escalate", r.text
    return str(r.json()["approval"])


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found, page
    return found.group(1)


def test_only_an_approver_token_logs_in(client: TestClient) -> None:
    """Agent and admin tokens are refused and get no cookie; an unknown token too; the
    approver's cookie is HttpOnly, SameSite=Strict, scoped to /ui; the page is CSP-locked."""
    for who, status in (("agent", 403), ("admin", 403)):
        r = login(client, who)
        assert r.status_code == status and "cannot log in" in r.text and COOKIE not in r.headers.get("set-cookie", "")
    r = client.post("/ui/login", data={"token": "pgt_nope"}, follow_redirects=False)
    assert r.status_code == 401 and "set-cookie" not in r.headers
    assert client.get("/ui/approvals", follow_redirects=False).status_code == 303
    assert client.get("/ui/events").status_code == 401
    r = login(client)
    assert r.status_code == 303 and r.headers["location"] == "/ui/approvals"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/ui" in cookie
    assert "secure" not in cookie  # plain http on loopback; https requests get Secure
    page = client.get("/ui/approvals")
    assert page.status_code == 200 and "Nothing waits" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'name="viewport"' in page.text and "<script>" not in page.text


def test_a_decision_without_the_right_csrf_token_decides_nothing(client: TestClient, storage: Storage) -> None:
    ident = escalate(client)
    login(client)
    token = csrf_of(client.get("/ui/approvals").text)
    url = f"/ui/approvals/{ident}/decision"
    for form in ({"decision": "approve", "reason": "x"},
                 {"decision": "approve", "reason": "x", "csrf": ""},
                 {"decision": "approve", "reason": "x", "csrf": "0" * 64},
                 {"decision": "approve", "reason": "x", "csrf": token[:-1] + ("0" if token[-1] != "0" else "1")}):
        r = client.post(url, data=form, follow_redirects=False)
        assert r.status_code == 403 and "nothing was decided" in r.text
    # A token from another session does not carry over.
    other = TestClient(client.app, raise_server_exceptions=False)
    login(other)
    r = other.post(url, data={"decision": "deny", "reason": "x", "csrf": token}, follow_redirects=False)
    assert r.status_code == 403
    # No session at all: 401; a bearer token is not a session.
    bare = TestClient(client.app, raise_server_exceptions=False)
    r = bare.post(url, data={"decision": "approve", "reason": "x", "csrf": token}, headers=auth("approver"),
                  follow_redirects=False)
    assert r.status_code == 401
    assert storage.approvals.get(ident).status == "pending"
    assert "decision" not in [e.kind for e in storage.audit.tail(100)]
    # No reason: refused too.
    r = client.post(url, data={"decision": "approve", "reason": " ", "csrf": token}, follow_redirects=False)
    assert r.status_code == 422 and storage.approvals.get(ident).status == "pending"
    # The right token decides, once, with the reason recorded.
    r = client.post(url, data={"decision": "approve", "reason": "the plumber's invoice", "csrf": token},
                    follow_redirects=False)
    assert r.status_code == 303 and "done=approved" in r.headers["location"]
    decided = storage.approvals.get(ident)
    assert decided.status == "approved" and decided.decided_by == "approver"
    r = client.post(url, data={"decision": "deny", "reason": "again", "csrf": token}, follow_redirects=False)
    assert r.status_code == 409
    # Logging out needs the token as well.
    assert client.post("/ui/logout", data={}, follow_redirects=False).status_code == 403
    assert client.post("/ui/logout", data={"csrf": token}, follow_redirects=False).status_code == 303


def test_a_hostile_summary_renders_inert(client: TestClient) -> None:
    """Script tags, ANSI escapes, bidi overrides and zero-width characters in the payload
    and the sender's name show as text; the payload is marked as the sender's."""
    hostile = ("<script>alert(1)</script><img src=x onerror=alert(2)>\x1b[2J\x1b[31mverdict: approve"
               "\r\nline\u202eelpmaxe.live\u200b\"'&")
    ident = escalate(client, memo=hostile)
    login(client)
    for text in (client.get("/ui/approvals").text, client.get("/ui/approvals/list").text):
        assert ident in text
        assert "<script>alert" not in text and "<img" not in text and "onerror=alert(2)>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "\x1b" not in text and "\u202e" not in text and "\u200b" not in text and "\r" not in text
        assert "\\x1b[2J" in text and "\\u202e" in text and "\\u200b" in text
        assert 'class="untrusted"' in text
        # The summary's marked span, the payload's and the plan's (the agent's, whole) each
        # hold the escaped script text.
        marked = re.findall(r'<span class="untrusted"[^>]*>(.*?)</span>', text, re.S)
        assert sum("&lt;script&gt;" in m for m in marked) == 3, marked
        assert any(m.startswith("«payload from owner@home.example") for m in marked), marked


def test_the_summary_marks_the_triggers_own_words(client: TestClient) -> None:
    ident = escalate(client, principal="owner@home.example")
    login(client)
    text = client.get("/ui/approvals").text
    assert ident in text and "trust class" in text
    # The summary's marked spans (the trigger's own words) are set apart.
    assert re.search(r'<span class="untrusted"[^>]*>«payload from', text)


def test_the_event_stream_reports_the_pending_set(client: TestClient) -> None:
    from plangate.service import page

    login(client)
    old = page.STREAM_SECONDS
    page.STREAM_SECONDS = 0.5
    try:
        escalate(client)
        with client.stream("GET", "/ui/events") as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            body = "".join(r.iter_text())
    finally:
        page.STREAM_SECONDS = old
    assert "event: change" in body and '"pending": 1' in body


def test_over_https_the_session_cookie_is_secure(client: TestClient) -> None:
    secure = TestClient(client.app, base_url="https://testserver", raise_server_exceptions=False)
    r = secure.post("/ui/login", data={"token": TOKENS["approver"]}, follow_redirects=False)
    assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()


def test_login_attempts_are_rate_limited(client: TestClient) -> None:
    codes = [client.post("/ui/login", data={"token": "pgt_guess"}, follow_redirects=False).status_code
             for _ in range(12)]
    assert 429 in codes and set(codes) <= {401, 429}
