"""Red team of the gateway's HTTP front door (`BearerOnly`, the ASGI wrapper in front of
the SDK's streamable HTTP app), driven directly: anything but the lifespan needs the one
bearer token, whatever the connection's kind; two Authorization headers are refused
rather than one of them picked."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from plangate.fronts.mcp.serve import BearerOnly

TOKEN = b"agent-token-0123456789abcdef"


def _through(scope: dict[str, Any]) -> tuple[bool, list[dict[str, Any]]]:
    reached: list[bool] = []
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(BearerOnly(app, TOKEN), scope, receive, send)
    return bool(reached), sent


@pytest.mark.parametrize("kind, headers", [
    ("http", []),
    ("http", [(b"authorization", b"Bearer wrong-token-0123456789")]),
    ("http", [(b"authorization", b"Bearer wrong"), (b"authorization", b"Bearer " + TOKEN)]),
    ("websocket", []),  # Starlette answers 403 today; the gate must not rely on it
    ("webtransport", [])])
def test_without_the_one_token_nothing_reaches_the_gateway(
        kind: str, headers: list[tuple[bytes, bytes]]) -> None:
    reached, sent = _through({"type": kind, "path": "/mcp", "headers": headers})
    assert not reached
    assert sent and sent[0].get("status", 1008) in (401, 1008)


def test_the_token_and_the_lifespan_pass() -> None:
    assert _through({"type": "http", "path": "/mcp",
                     "headers": [(b"authorization", b"Bearer " + TOKEN)]})[0]
    assert _through({"type": "lifespan"})[0]


@pytest.mark.parametrize("address", ["0.0.0.0:8765", "[::]:8765", "gateway.example:8765",
                                     "192.0.2.7:8765"])
def test_a_gateway_beyond_loopback_needs_a_token(tmp_path: Any, address: str) -> None:
    """Without `http_token_env`, whoever reaches the port drives the session's grant: the
    gateway refuses to listen anywhere but loopback then (before starting an upstream)."""
    from plangate.fronts.mcp.config import GatewayConfigError
    from plangate.fronts.mcp.serve import serve

    config = tmp_path / "gateway.yaml"
    config.write_text("policy: policy.yaml\nupstreams: {a: {command: [no-such-server]}}\n")
    with pytest.raises(GatewayConfigError, match="http_token_env"):
        serve(str(config), http=address)
