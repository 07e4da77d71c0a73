"""The approvals page: pending escalations for an approver, on a phone or a desk.

    GET  /ui/login                    the login form (an approver's token)
    POST /ui/login                    token -> session cookie; agent and admin tokens refused
    POST /ui/logout                   (CSRF) drops the cookie
    GET  /ui/ or /ui/approvals        pending approvals, each with approve/deny and a reason
    GET  /ui/approvals/list           the list alone (the page swaps it in on an update)
    GET  /ui/events                   server-sent events: `change` when the pending set moves
    POST /ui/approvals/{id}/decision  (CSRF) approve or deny with a reason
    GET  /ui/static/page.css|page.js  the page's only style and script

Everything shown comes from the server already escaped twice over: first through
`plangate.safetext` (no control, ANSI, bidi or zero-width character acts, non-ASCII in
the summary shows as `\\uXXXX`), then `html.escape`. What the owner approves (the summary,
the payload, the plan) is shown whole: no step or value is cut out of view. Text an
attacker may have written (the summary's `«…»` spans: the trigger's words and the agent's
choices; the trigger's payload) is set in a marked span labelled as untrusted. The page has
no inline script or style: the Content Security Policy allows only its own two files.

Session: the cookie `auth.Credentials.session()` signs (HttpOnly, SameSite=Strict, Secure when
the request came over https, 12 hours, no server-side store). Every form that changes
something carries `auth.Credentials.csrf(cookie)`; a POST without it, or with another one,
is refused with 403 and nothing is decided. Live updates: each open page holds one
event stream; the worker polls the store once a second and closes the stream after
`STREAM_SECONDS` (the browser reconnects), at most `MAX_STREAMS` per worker.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from plangate.safetext import quote, visible, visible_lines

COOKIE = "plangate_session"
STREAM_SECONDS = 300.0
POLL_SECONDS = 1.0
MAX_STREAMS = 64
MAX_FORM = 20_000
LOGIN_RATE = 5  # attempts per second per client address
_MARK = re.compile(r"«[^«»]*»")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}

CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1b1f24}
header{display:flex;justify-content:space-between;align-items:center;gap:.5rem;padding:.6rem 1rem;
 background:#1b1f24;color:#fff;position:sticky;top:0}
header h1{font-size:1.1rem;margin:0}
header form{margin:0}
main{max-width:46rem;margin:0 auto;padding:.75rem}
.card{background:#fff;border-radius:.6rem;box-shadow:0 1px 3px rgba(0,0,0,.15);padding:.8rem;margin:0 0 .9rem}
.meta{display:flex;flex-wrap:wrap;gap:.35rem;font-size:.8rem;margin-bottom:.5rem}
.tag{background:#e7eaf0;border-radius:1rem;padding:.1rem .55rem}
.tag.class{background:#ffe3b3}
.summary{font:13px/1.45 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere;
 background:#f7f7f9;border:1px solid #e1e3e8;border-radius:.4rem;padding:.5rem;margin:.3rem 0}
.untrusted{background:#ffd7d7;color:#7a0010;border-radius:.2rem;padding:0 .15rem}
.untrusted::before{content:"untrusted ";font:bold 10px system-ui,sans-serif;text-transform:uppercase}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .6rem;font-size:.85rem;margin:.4rem 0}
dt{color:#555}dd{margin:0;overflow-wrap:anywhere;font-family:ui-monospace,Menlo,Consolas,monospace}
ul.rules{font-size:.85rem;padding-left:1.1rem;margin:.3rem 0}
details{font-size:.8rem;margin:.3rem 0}
details pre{white-space:pre-wrap;overflow-wrap:anywhere;max-height:20rem;overflow:auto}
label{display:block;font-size:.85rem;margin:.5rem 0 .2rem}
textarea,input[type=password]{width:100%;font:inherit;padding:.5rem;border:1px solid #b8bcc4;border-radius:.4rem}
.actions{display:flex;gap:.5rem;margin-top:.5rem}
button{flex:1;font:inherit;font-weight:600;padding:.7rem;border:0;border-radius:.4rem;cursor:pointer;min-height:44px}
button.approve{background:#17803d;color:#fff}button.deny{background:#b42318;color:#fff}
button.plain{background:#3b4250;color:#fff;flex:none;padding:.4rem .8rem;min-height:auto}
.empty{text-align:center;color:#555;padding:2rem 0}
.notice{background:#e6f4ea;border-radius:.4rem;padding:.5rem .7rem;margin-bottom:.8rem}
.error{background:#fde7e7;border-radius:.4rem;padding:.5rem .7rem;margin-bottom:.8rem}
#live{font-size:.75rem;color:#9fb0c8}
"""

JS = """
(function () {
  var list = document.getElementById('approvals');
  var live = document.getElementById('live');
  if (!list || !window.EventSource) { return; }
  var stale = false;
  function refresh() {
    var busy = document.activeElement && list.contains(document.activeElement);
    if (busy) { stale = true; return; }
    stale = false;
    fetch('/ui/approvals/list', {credentials: 'same-origin', cache: 'no-store'})
      .then(function (r) { if (r.status === 401) { location.href = '/ui/login'; } return r.text(); })
      .then(function (text) {
        list.innerHTML = text;
        list.setAttribute('data-version', String(Date.now()));
      });
  }
  list.addEventListener('focusout', function () { if (stale) { setTimeout(refresh, 0); } });
  var events = new EventSource('/ui/events');
  events.addEventListener('change', refresh);
  events.onopen = function () { live.textContent = 'live'; };
  events.onerror = function () { live.textContent = 'reconnecting'; };
})();
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _value(value: Any, limit: int | None = 200) -> str:
    """A concrete value for the page: safetext first, then HTML."""
    return _e(quote(value, limit, ascii=True))


def _summary_html(summary: str) -> str:
    """The review summary, every line whole (the owner approves all of it), through
    safetext, HTML-escaped; words not the owner's (the summary's `«…»` spans: the
    trigger's, the agent's) marked as untrusted."""
    out: list[str] = []
    for line in visible_lines(summary, width=None, max_lines=None):
        pieces: list[str] = []
        last = 0
        for m in _MARK.finditer(line):
            pieces.append(_e(line[last:m.start()]))
            who = "chosen by the agent" if m.group().startswith("«chosen by the agent") else "not the owner's words"
            pieces.append(f'<span class="untrusted" title="{who}">{_e(m.group())}</span>')
            last = m.end()
        pieces.append(_e(line[last:]))
        out.append("".join(pieces))
    return "\n".join(out)


_AGENTS = "written by the agent: every word of it, questions included, may be an attacker's"


def _card(a: Any, csrf: str) -> str:
    trigger: dict[str, Any] = a.trigger if isinstance(a.trigger, dict) else {}
    review: dict[str, Any] = a.review if isinstance(a.review, dict) else {}
    ident = _e(visible(a.id, 40, ascii=True))
    principal = trigger.get("principal", "?")
    evidence = trigger.get("evidence") or {}
    payload = trigger.get("payload")
    reasons = review.get("reasons") if isinstance(review.get("reasons"), dict) else {}
    rules = "".join(
        f"<li><b>{_e(visible(r, 80, ascii=True))}</b>"
        + (f": {_e(visible(reasons.get(r, ''), 300))}" if reasons and reasons.get(r) else "") + "</li>"
        for r in list(review.get("rules") or [])[:20])
    payload_html = ""
    if payload is not None:
        who = _e(visible(principal, 80, ascii=True))
        payload_html = (f'<dt>payload</dt><dd><span class="untrusted" title="written by {who}">'
                        f"{_value(payload, None)}</span></dd>")
    # Whole, like the summary: what is approved is all of it. Every word of it is the agent's
    # (whose planner may be hijacked): marked as untrusted, the free text its steps carry
    # (an extraction's question) included (red team round 36).
    plan = _e(visible(json.dumps(a.plan, indent=1, ensure_ascii=True), None, newlines=True))
    plan_html = (f"<details><summary>plan as submitted (the agent's)</summary>"
                 f'<pre><span class="untrusted" title="{_AGENTS}">{plan}</span></pre></details>')
    return f"""<article class="card" id="card-{ident}" data-approval="{ident}">
<div class="meta"><span class="tag class" title="trust class">{_e(visible(a.trust_class, 40, ascii=True))}</span>
<span class="tag">{ident}</span><span class="tag">{_e(visible(a.created, 40, ascii=True))}</span></div>
<div class="summary">{_summary_html(a.summary)}</div>
<dl><dt>from</dt><dd>{_value(principal, 120)}</dd>
<dt>channel</dt><dd>{_value(trigger.get("channel", "?"), 40)}</dd>
<dt>evidence</dt><dd>{_value(evidence, 200)}</dd>
{payload_html}
<dt>plan hash</dt><dd>{_e(visible(a.plan_hash, 80, ascii=True))}</dd></dl>
{f'<ul class="rules">{rules}</ul>' if rules else ''}
{plan_html}
<form method="post" action="/ui/approvals/{ident}/decision">
<input type="hidden" name="csrf" value="{_e(csrf)}">
<label for="reason-{ident}">Reason</label>
<textarea id="reason-{ident}" name="reason" rows="2" maxlength="2000" required></textarea>
<div class="actions"><button class="approve" name="decision" value="approve">Approve</button>
<button class="deny" name="decision" value="deny">Deny</button></div>
</form></article>"""


def _list_html(items: list[Any], csrf: str) -> str:
    if not items:
        return '<p class="empty">Nothing waits for a decision.</p>'
    return "\n".join(_card(a, csrf) for a in items)


def _document(title: str, body: str, *, header: str = "") -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{_e(title)}</title><link rel="stylesheet" href="/ui/static/page.css"></head>
<body><header><h1>plangate approvals</h1>{header}</header><main>{body}</main></body></html>"""


async def _form(request: Request) -> dict[str, str] | None:
    body = await request.body()
    if len(body) > MAX_FORM:
        return None
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    return {k: v[0] for k, v in parsed.items() if v}


def add_page(app: FastAPI) -> None:
    storage = app.state.storage
    creds = app.state.credentials
    streams = {"open": 0}

    def page(content: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(content, status_code=status, headers=HEADERS)

    def session(request: Request) -> tuple[Any, str] | None:
        cookie = request.cookies.get(COOKIE)
        cred = creds.from_session(cookie)
        return (cred, cookie) if cred is not None and cookie else None

    def login_page(message: str = "", status: int = 200) -> HTMLResponse:
        note = f'<p class="error">{_e(message)}</p>' if message else ""
        body = f"""<section class="card">{note}<form method="post" action="/ui/login">
<label for="token">Approver token</label>
<input type="password" id="token" name="token" autocomplete="current-password" required>
<div class="actions"><button class="approve" type="submit">Log in</button></div></form></section>"""
        return page(_document("Log in - plangate", body), status)

    def pending() -> list[Any]:
        with storage.lock:
            return list(storage.approvals.list("pending"))

    @app.get("/ui/static/page.css", include_in_schema=False)
    def css() -> Response:
        return Response(CSS, media_type="text/css", headers={**HEADERS, "Cache-Control": "max-age=300"})

    @app.get("/ui/static/page.js", include_in_schema=False)
    def js() -> Response:
        return Response(JS, media_type="text/javascript", headers={**HEADERS, "Cache-Control": "max-age=300"})

    @app.get("/ui/login", include_in_schema=False)
    def login_form() -> HTMLResponse:
        return login_page()

    @app.post("/ui/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        host = request.client.host if request.client else "?"
        with storage.lock:
            wait = storage.limiter.hit(f"login:{host}", LOGIN_RATE, 1.0)
        if wait is not None:
            return login_page("Too many attempts; wait a second.", 429)
        form = await _form(request)
        token = (form or {}).get("token", "").strip()
        cred = creds.find(token) if token else None
        if cred is None:
            return login_page("Unknown token.", 401)
        if cred.role != "approver":
            return login_page(f"A {cred.role} token cannot log in here: only approvers decide.", 403)
        cookie = creds.session(cred)
        response = RedirectResponse("/ui/approvals", status_code=303, headers=HEADERS)
        response.set_cookie(COOKIE, cookie, max_age=12 * 3600, path="/ui", httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    @app.post("/ui/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        who = session(request)
        form = await _form(request) or {}
        if who is None or not creds.csrf_ok(who[1], form.get("csrf")):
            return PlainTextResponse("missing or wrong CSRF token", status_code=403, headers=HEADERS)
        response = RedirectResponse("/ui/login", status_code=303, headers=HEADERS)
        response.delete_cookie(COOKIE, path="/ui")
        return response

    @app.get("/ui", include_in_schema=False)
    @app.get("/ui/", include_in_schema=False)
    @app.get("/ui/approvals", include_in_schema=False)
    async def approvals_page(request: Request, done: str = "") -> Response:
        who = session(request)
        if who is None:
            return RedirectResponse("/ui/login", status_code=303, headers=HEADERS)
        cred, cookie = who
        csrf = creds.csrf(cookie)
        items = await run_in_threadpool(pending)
        notice = {"approved": "Approved.", "denied": "Denied."}.get(done, "")
        header = (f'<span id="live">connecting</span><form method="post" action="/ui/logout">'
                  f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
                  f'<button class="plain" type="submit">Log out {_e(visible(cred.name, 40, ascii=True))}</button>'
                  f"</form>")
        body = ((f'<p class="notice" id="notice">{_e(notice)}</p>' if notice else "")
                + f'<section id="approvals" aria-live="polite">{_list_html(items, csrf)}</section>'
                + '<script src="/ui/static/page.js"></script>')
        return page(_document("Approvals - plangate", body, header=header))

    @app.get("/ui/approvals/list", include_in_schema=False)
    async def approvals_list(request: Request) -> Response:
        who = session(request)
        if who is None:
            return PlainTextResponse("log in first", status_code=401, headers=HEADERS)
        items = await run_in_threadpool(pending)
        return page(_list_html(items, creds.csrf(who[1])))

    @app.get("/ui/events", include_in_schema=False)
    async def events(request: Request) -> Response:
        if session(request) is None:
            return PlainTextResponse("log in first", status_code=401, headers=HEADERS)
        if streams["open"] >= MAX_STREAMS:
            return PlainTextResponse("too many open event streams", status_code=503,
                                     headers={**HEADERS, "Retry-After": "5"})
        streams["open"] += 1

        async def stream() -> AsyncIterator[str]:
            try:
                yield "retry: 2000\n\n"
                seen: tuple[str, ...] | None = None
                end = time.monotonic() + STREAM_SECONDS
                while time.monotonic() < end:
                    if await request.is_disconnected():
                        return
                    ids = tuple(sorted(a.id for a in await run_in_threadpool(pending)))
                    if ids != seen:  # the first poll too: the page may predate the stream
                        yield f"event: change\ndata: {json.dumps({'pending': len(ids)})}\n\n"
                        seen = ids
                    else:
                        yield ": idle\n\n"
                    await asyncio.sleep(POLL_SECONDS)
            finally:
                streams["open"] -= 1

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={**HEADERS, "X-Accel-Buffering": "no"})

    @app.post("/ui/approvals/{approval_id}/decision", include_in_schema=False)
    async def decide(approval_id: str, request: Request) -> Response:
        who = session(request)
        if who is None:
            return PlainTextResponse("log in first", status_code=401, headers=HEADERS)
        cred, cookie = who
        form = await _form(request)
        if form is None or not creds.csrf_ok(cookie, form.get("csrf")):
            return PlainTextResponse("missing or wrong CSRF token: nothing was decided", status_code=403,
                                     headers=HEADERS)
        decision = form.get("decision")
        reason = form.get("reason", "").strip()
        if decision not in ("approve", "deny") or not reason or len(reason) > 2000:
            return PlainTextResponse("choose approve or deny and give a reason (up to 2000 characters)",
                                     status_code=422, headers=HEADERS)
        from plangate.service.app import ApiError

        try:
            decided = await run_in_threadpool(app.state.decide_as, approval_id, decision, reason, cred)
        except ApiError as exc:
            return PlainTextResponse(exc.message, status_code=exc.status, headers=HEADERS)
        return RedirectResponse(f"/ui/approvals?done={decided['status']}", status_code=303, headers=HEADERS)


__all__ = ["COOKIE", "add_page"]
