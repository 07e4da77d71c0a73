"""Start the gateway: connect the upstreams, build the catalog and the gate, serve the agent
over stdio or streamable HTTP (`plangate mcp-gateway --config FILE [--http HOST:PORT]`).

One gateway process serves one agent session for one trigger (the launcher's): over HTTP
every connection shares that session's grant, so give each agent run its own gateway.
"""

from __future__ import annotations

import contextlib
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO

from plangate.errors import UserError
from plangate.fronts.mcp.config import (
    GatewayConfig,
    GatewayConfigError,
    load_gateway_config,
    load_mapping,
    resolve,
)
from plangate.fronts.mcp.gateway import INSTRUCTIONS, Gateway, make_gate
from plangate.fronts.mcp.upstream import Upstreams


def load_trigger_for(config: GatewayConfig, base: Path, trigger_file: str | None) -> Any:
    from plangate.trigger import load_trigger, parse_trigger

    if trigger_file:
        return load_trigger(trigger_file)
    if config.trigger is None:
        raise GatewayConfigError("no trigger: the launcher gives it (`trigger:` in the "
                                 "configuration or --trigger FILE); the agent never does")
    return parse_trigger(load_mapping(config.trigger, base, "trigger"), source="trigger")


async def open_gateway(config: GatewayConfig, base: Path, stack: AsyncExitStack, *,
                       trigger_file: str | None = None, errlog: TextIO = sys.stderr) -> Gateway:
    """Everything but the transport: upstreams connected and listed, catalog, policy, gate."""
    from plangate.documents import load_document
    from plangate.mcp_catalog import gateway_catalog
    from plangate.policy import compile_policy

    trigger = load_trigger_for(config, base, trigger_file)  # before starting anything
    overrides = load_mapping(config.overrides, base, "overrides")
    policy_path = resolve(base, config.policy)
    try:
        policy_data = load_document(policy_path)
    except ValueError as exc:
        raise GatewayConfigError(f"policy: {exc}") from None
    upstreams = await Upstreams.open(config, base, stack, errlog=errlog)
    catalog, left_out = gateway_catalog(
        upstreams.listings, overrides,
        hints={name: u.trust_hints for name, u in config.upstreams.items()})
    for name, why in left_out.items():
        print(f"plangate mcp-gateway: {name} left out (cannot be planned or called): {why}",
              file=errlog)
    policy = compile_policy(policy_data, catalog, source=str(policy_path))
    gate, capture = make_gate(policy, str(resolve(base, config.audit)))
    stack.callback(gate.audit.close)
    gateway = Gateway(gate=gate, capture=capture, upstreams=upstreams, trigger=trigger,
                      catalog=catalog, left_out=left_out, max_refusals=config.max_refusals,
                      idle_s=config.timeouts.idle_s)
    stack.callback(gateway.close)
    return gateway


def mcp_server(gateway: Gateway) -> Any:
    """The low-level MCP server the agent talks to."""
    import mcp_types as types
    from mcp.server.lowlevel import Server

    async def on_list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=gateway.listed_tools())

    async def on_call_tool(ctx: Any, params: Any) -> Any:
        before = gateway.granted()
        result = await gateway.call(params.name, params.arguments)
        if gateway.granted() != before:
            # A client that cannot take the notification lists the tools again itself.
            with contextlib.suppress(Exception):
                await ctx.session.send_tool_list_changed()
        return result

    from plangate import __version__

    return Server("plangate-mcp-gateway", version=__version__, instructions=INSTRUCTIONS,
                  on_list_tools=on_list_tools, on_call_tool=on_call_tool)


def serve(config_path: str, *, trigger_file: str | None = None, http: str | None = None) -> int:
    """Run the gateway until the agent disconnects (stdio) or it is interrupted (HTTP)."""
    import anyio

    config, base = load_gateway_config(config_path)
    host, port = _address(http) if http else ("", 0)
    token = _token(config) if http else None
    if http and token is None and not _loopback(host):
        raise GatewayConfigError(f"--http {http}: a gateway reachable beyond this machine needs "
                                 "`http_token_env` (anyone who reaches the port drives the grant)")

    async def main() -> None:
        from mcp.server.lowlevel import NotificationOptions

        async with AsyncExitStack() as stack:
            gateway = await open_gateway(config, base, stack, trigger_file=trigger_file)
            server = mcp_server(gateway)
            if not http:
                from plangate.fronts.mcp.stdio import agent_stdio

                async with agent_stdio() as (read, write):
                    await server.run(read, write, server.create_initialization_options(
                        NotificationOptions(tools_changed=True)))
                return
            import uvicorn

            app: Any = server.streamable_http_app(host=host)
            if token is not None:
                app = BearerOnly(app, token)
            print(f"plangate mcp-gateway: serving http://{_url_host(host)}:{port}/mcp",
                  file=sys.stderr, flush=True)
            await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                lifespan="on")).serve()

    try:
        anyio.run(main)
    except UserError:
        raise
    except BaseExceptionGroup as group:  # anyio's task groups wrap the real failure
        first: BaseException = group
        while isinstance(first, BaseExceptionGroup) and first.exceptions:
            first = first.exceptions[0]
        if isinstance(first, UserError):
            raise first from None
        raise
    return 0


def _token(config: GatewayConfig) -> bytes | None:
    import os

    if config.http_token_env is None:
        return None
    value = os.environ.get(config.http_token_env, "")
    if len(value) < 16:
        raise GatewayConfigError(f"http_token_env: ${config.http_token_env} must hold the agent's "
                                 "token (16 characters or more)")
    return value.encode("utf-8")


class BearerOnly:
    """ASGI wrapper: an HTTP request without `Authorization: Bearer <token>` gets 401."""

    def __init__(self, app: Any, token: bytes) -> None:
        self.app = app
        self.expected = b"Bearer " + token

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import hmac

        kind = scope.get("type")
        if kind != "lifespan":  # every connection (http, websocket, any later kind)
            given = [v for k, v in scope.get("headers") or [] if k.lower() == b"authorization"]
            if len(given) != 1 or not hmac.compare_digest(given[0], self.expected):
                if kind == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"text/plain"),
                                        (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": b"a bearer token is required\n"})
                return
        await self.app(scope, receive, send)


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--http {text!r}: give HOST:PORT, e.g. 127.0.0.1:8765")
    return host, int(port)


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name that may resolve anywhere


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
