"""The plain ASGI layers in front of FastAPI: the body limit, the request metrics, and the
fast path of `POST /v1/plans`. (Plain ASGI: Starlette's `BaseHTTPMiddleware` costs a task and
a stream per request.)

**The fast path.** A review is the service's busiest request, and FastAPI's own work around
it (routing over every route, solving the endpoint's dependencies, reading the body through
its layers) cost about a sixth of the CPU a worker spends on one. `FastPlans` sits between
the body limit and metrics and FastAPI, and answers a submit itself when FastAPI's path
would reach the endpoint with the same inputs:

- the body is read whole, through the body limit, and parsed as FastAPI parses it
  (`json.loads`, then `PlanRequest` validated from the object);
- its `Content-Type` is `application/json` (FastAPI reads other JSON types too: they take
  its path);
- it carries the bearer token of an agent credential.

Then the endpoint's own function runs (the same code the FastAPI route calls), and its errors
are answered by the app's own handlers. Anything else (no or another credential, a body that
does not parse or validate, another content type) goes to FastAPI with the body as it was
read, so every refusal is FastAPI's, worded as before (tests/service/test_fast.py).
"""

from __future__ import annotations

import json
import operator
import time
from collections.abc import Awaitable, Callable, Coroutine
from itertools import accumulate, repeat
from typing import Any

from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from plangate.service.auth import Credential
from plangate.service.metrics import Metrics
from plangate.service.schemas import PlanRequest

PATH = "/v1/plans"

Receive = Callable[[], Awaitable[Any]]


class BodyLimit:
    """Refuse bodies over `limit` bytes with 413, whether or not Content-Length says so."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _send_error(send, 413, f"request body over {self.limit} bytes")
            return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        try:
            await self.app(scope, limited, send)
        except BodyTooLarge as exc:
            await _send_error(send, 413, exc.detail)


class RequestMetrics:
    """Count each request by route and status, with its latency (plain ASGI: Starlette's
    `BaseHTTPMiddleware` costs a task and a stream per request)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Any, receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:  # the router put the matched route in the scope
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.request(route, status, time.perf_counter() - start)


class BodyTooLarge(HTTPException):
    """A body read past the limit. An `HTTPException` so that FastAPI, reading a body for a
    route of its own, lets it through to the app's handler (413) instead of calling it a body
    it could not parse (400); `BodyLimit` answers it where no handler did."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


MAX_DEPTH = 64
"""How deep a request body's JSON may nest. A plan nests a few levels; a fixed bound keeps
the parse (and every walk of the parsed body: validation, the review, the idempotency
digest) from ever meeting the interpreter's recursion limit, which depends on how deep the
stack already is where the parse runs, so two paths would answer the same bytes otherwise."""

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def read_json(body: bytes) -> Any:
    """A request body's JSON, as both ways to a route read it (`FastPlans`, and FastAPI's
    through `JsonBodyRoute`): `json.loads`, with every refusal a `json.JSONDecodeError`
    (FastAPI answers that as malformed JSON, counted against the credential's rate, where
    other errors were a 400 of its own): text that is not UTF-8, an integer too long to
    read, nesting past `MAX_DEPTH`, and a body in another encoding than UTF-8 (RFC 8259; the
    nesting is counted on its bytes)."""
    if json.detect_encoding(body) not in ("utf-8", "utf-8-sig"):
        raise json.JSONDecodeError("a JSON body is UTF-8", "", 0)
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and _depth(body) > MAX_DEPTH:
        raise json.JSONDecodeError(f"nested deeper than {MAX_DEPTH} levels", "", 0)
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise json.JSONDecodeError(f"{type(exc).__name__}: {exc}"[:200], "", 0) from None


def _depth(body: bytes) -> int:
    """The deepest nesting of brackets outside strings."""
    # In JSON a quote or a backslash outside a string is an error, and inside one a backslash
    # escapes the next character: with the escaped pairs gone, every quote left opens or
    # closes a string (for text that is not JSON the count may be off: the parser refuses it).
    bare = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    steps = b"".join(bare.split(b'"')[::2]).translate(None, _NOT_BRACKETS).translate(_STEPS)
    return max(accumulate(map(operator.sub, steps, repeat(1))), default=0)  # +1 opens, -1 closes


class JsonBodyRequest(Request):
    """A request whose `json()` is `read_json`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = read_json(await self.body())
        return self._json


class JsonBodyRoute(APIRoute):
    """FastAPI's route, reading JSON bodies with `read_json` (the app's `route_class`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await handler(JsonBodyRequest(request.scope, request.receive))
        return handle


async def _send_error(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class FastPlans:
    def __init__(self, app: Any, *, route: Any, identify: Callable[[str], Credential | None],
                 plans: Callable[[PlanRequest, Request, Credential], Response]) -> None:
        """`route`: FastAPI's route of the path (the metrics name requests by it);
        `identify(token)`: the credential of a bearer token, or None; `plans(body, request,
        credential)`: the endpoint's response, its errors answered as the app answers them."""
        self.app, self.route, self.identify, self.plans = app, route, identify, plans

    async def __call__(self, scope: Any, receive: Receive, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        messages = await _read(receive)
        replay = _replayed(messages, receive)
        last = messages[-1]
        complete = last["type"] == "http.request" and not last.get("more_body", False)
        found = self._accepted(scope, b"".join(m.get("body", b"") for m in messages)) if complete else None
        if found is None:
            await self.app(scope, replay, send)
            return
        cred, parsed = found
        scope["route"] = self.route
        response = self.plans(parsed, Request(scope, replay), cred)
        await response(scope, replay, send)

    def _accepted(self, scope: Any, body: bytes) -> tuple[Credential, PlanRequest] | None:
        """(credential, body) when FastAPI's path would hand the endpoint these, else None."""
        content_type = authorization = None
        for name, value in scope["headers"]:  # the first of each, as Starlette's `headers.get`
            if name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"authorization" and authorization is None:
                authorization = value
        if content_type is None or content_type.strip().lower() != b"application/json":
            return None
        if authorization is None:
            return None
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        cred = self.identify(token.strip())
        if cred is None or cred.role != "agent":
            return None
        try:
            data = read_json(body)
            return cred, PlanRequest.model_validate(data)
        except Exception:  # FastAPI's path words the refusal
            return None


async def _read(receive: Receive) -> list[Any]:
    """The request's messages up to the body's end (or a disconnect: FastAPI then meets it
    as it would have)."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replayed(messages: list[Any], receive: Receive) -> Receive:
    """`receive`, with the messages already read handed out first, in order."""
    pending = list(reversed(messages))

    async def again() -> Any:
        return pending.pop() if pending else await receive()
    return again


__all__ = ["MAX_DEPTH", "PATH", "BodyLimit", "BodyTooLarge", "FastPlans", "JsonBodyRoute", "RequestMetrics",
           "read_json"]
