"""The http hook: Claude Code posts the hook JSON here and acts on the answer.

    plangate hook claude-code --serve --config FILE [--port 8751]

    POST /claude-code/hook    the hook input -> 200 {"hookSpecificOutput": {...}}
    GET  /healthz

Claude Code treats a non-2xx answer, a body it cannot parse, a refused connection and a
timeout as a non-blocking error and runs the tool, so every answer here is a 200 whose
body carries the decision: a bad body, a wrong secret, the service down, a decision not
made by the deadline — each is a deny with its reason. (A hook server that is down cannot
answer at all: set `onFailure: "block"` on the hook; docs/claude-code.md.) The server does
not start without `hook_token_env`: every request must carry `Authorization: Bearer <that
secret>` (Claude Code's http hooks send headers from `allowedEnvVars`), so another local
process cannot report fake results or use up a session's grant. One deadline from a
request's arrival covers reading its body and deciding.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from plangate.fronts.claude_code.answer import Deadline, http_answer, within_async
from plangate.fronts.claude_code.client import ServiceClient
from plangate.fronts.claude_code.config import ConfigError, HookConfig
from plangate.fronts.claude_code.decide import ClaudeCodeGate
from plangate.fronts.claude_code.hook_input import MAX_INPUT_BYTES, HookInputError, parse_hook_input
from plangate.fronts.claude_code.state import SessionStore
from plangate.fronts.claude_code.verdict import Verdict, deny

PATH = "/claude-code/hook"


async def _body(request: Request, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_hook_app(config: HookConfig, *, gate: ClaudeCodeGate | None = None) -> Starlette:
    if config.hook_token is None:
        # Without a secret, any local process could post events for a session (its id is in
        # `ps`): use up its grant, or report made-up results that later steps consume.
        raise ConfigError(f"{config.source or 'settings'}: the http hook needs a shared secret: set "
                          "hook_token_env (and send it from Claude Code: docs/claude-code.md)")
    client: ServiceClient | None = None
    if gate is None:
        client = ServiceClient(config.service, config.token, timeout=config.request_timeout)
        gate = ClaudeCodeGate(client, SessionStore(config.state_dir), protect=config.protect,
                              lock_wait=min(2.0, config.deadline / 4))
    the_gate = gate

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if client is not None:
                client.close()

    def answer(verdict: Verdict, event: str = "PreToolUse") -> JSONResponse:
        return JSONResponse(http_answer(verdict, on_allow=config.on_allow, event=event))

    secret = f"Bearer {config.hook_token}".encode()

    async def hook(request: Request) -> JSONResponse:
        # One deadline from the request's arrival covers the body and the decision.
        due = Deadline(config.deadline)
        try:
            sent = request.headers.get("authorization", "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(sent, secret):
                return answer(deny("the http hook request carries no valid hook secret"))
            try:
                raw = await asyncio.wait_for(_body(request, MAX_INPUT_BYTES), max(0.0, due.remaining()))
            except TimeoutError:
                return answer(deny("the hook input did not arrive in time"))
            if raw is None:
                return answer(deny(f"hook input is over {MAX_INPUT_BYTES} bytes; a call that large is not reviewed"))
            try:
                event = parse_hook_input(raw)
            except HookInputError as exc:
                return answer(deny(str(exc)))
            verdict = await within_async(due, lambda: the_gate.handle(event))
            return answer(verdict, event.event)
        except Exception as exc:
            return answer(deny(f"internal error, denied: {type(exc).__name__}"))

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route(PATH, hook, methods=["POST"]), Route("/healthz", healthz)], lifespan=lifespan)
    app.state.gate = the_gate
    return app


def serve(config: HookConfig, *, host: str = "127.0.0.1", port: int = 8751) -> Any:
    import uvicorn

    from plangate.errors import UserError

    try:
        app = create_hook_app(config)
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


__all__ = ["PATH", "create_hook_app", "serve"]
