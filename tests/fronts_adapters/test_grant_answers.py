"""ServiceGrant on answers the real service does not give: every one that is not a clear
yes blocks the call, and a result the service did not record is an error."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from plangate.fronts.adapters import CallBlocked, ServiceGrant


def _grant(status: int, body: Any) -> ServiceGrant:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=json.dumps(body).encode())

    return ServiceGrant("http://127.0.0.1:9", "t", "gr_x", transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(("status", "body"), [
    (200, {"call": 1}),                       # no "allowed"
    (200, {"allowed": "yes", "call": 1}),     # not the boolean true
    (200, {"allowed": False, "call": 1}),
    (200, {"allowed": True}),                 # no call number
    (200, {"allowed": True, "call": "1"}),
    (201, {"allowed": True, "call": 1}),      # not 200
    (403, {"allowed": True, "call": 1}),
    (500, {"allowed": True, "call": 1}),
    (200, [1]),
])
def test_check_blocks_anything_but_a_clear_yes(status: int, body: Any) -> None:
    with _grant(status, body) as grant, pytest.raises(CallBlocked):
        grant.check("send_email", {"to": ["a@example.com"]})


def test_check_allows_a_clear_yes() -> None:
    with _grant(200, {"allowed": True, "call": 7}) as grant:
        assert grant.check("send_email", {}) == 7


@pytest.mark.parametrize("status", [400, 403, 409, 500])
def test_unrecorded_result_is_an_error(status: int) -> None:
    with _grant(status, {"error": "no"}) as grant, pytest.raises(CallBlocked):
        grant.report(1, ok=True, value="done")
