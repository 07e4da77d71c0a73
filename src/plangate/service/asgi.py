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
import time
from collections.abc import Awaitable, Callable
from typing import Any

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
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _send_error(send, 413, f"request body over {self.limit} bytes")


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


class _TooLarge(Exception):
    pass


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
            data = json.loads(body)
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


__all__ = ["PATH", "BodyLimit", "FastPlans", "RequestMetrics"]
