"""The gateway's clients to the real MCP servers behind it (stdio or streamable HTTP).

`Upstreams.open(config)` starts or connects to every upstream with the official `mcp`
client, lists each one's tools (paged, bounded) and keeps the sessions open for the
gateway's life. Any upstream that cannot be reached or listed in `start_s` stops the
gateway before it serves anything: it never runs with part of its tools silently missing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from plangate.errors import UserError
from plangate.fronts.mcp.config import GatewayConfig, Upstream, resolve
from plangate.mcp_catalog import namespaced

MAX_PAGES = 100


class UpstreamError(UserError):
    """An upstream MCP server could not be started, reached or listed."""


@dataclass(frozen=True, slots=True)
class Route:
    upstream: str
    tool: str   # the upstream's own name
    listed: Any  # the upstream's `mcp_types.Tool`


class _Link:
    """One upstream's client, entered in a task of its own: a transport that fails (an
    HTTP server gone, a process that exits) ends this task, not the gateway."""

    def __init__(self, name: str, make: Any) -> None:
        import anyio

        self.name = name
        self.make = make
        self.client: Any = None
        self.error: BaseException | None = None
        self.ready = anyio.Event()

    async def run(self) -> None:
        try:
            async with self.make() as client:
                self.client = client
                self.ready.set()
                await _forever()
        except Exception as exc:  # the upstream's failure; the gateway stays up
            self.error = exc
        finally:
            self.client = None
            self.ready.set()


async def _forever() -> None:
    import anyio

    await anyio.sleep_forever()


@dataclass
class Upstreams:
    links: dict[str, _Link] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)   # gateway name -> route
    listings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    call_timeout: float = 60.0
    last_call_ms: float = 0.0

    @classmethod
    async def open(cls, config: GatewayConfig, base: Path, stack: AsyncExitStack, *,
                   errlog: TextIO = sys.stderr) -> Upstreams:
        import anyio

        out = cls(call_timeout=config.timeouts.call_s)
        group = await stack.enter_async_context(anyio.create_task_group())
        stack.callback(group.cancel_scope.cancel)  # runs first: the links end, then the group
        for name, upstream in config.upstreams.items():
            link = _Link(name, lambda u=upstream: _client(u, base, errlog, config.timeouts.start_s))
            out.links[name] = link
            group.start_soon(link.run)
            try:
                with anyio.fail_after(config.timeouts.start_s):
                    await link.ready.wait()
                    if link.client is None:
                        raise link.error or UpstreamError("the connection closed")
                    tools = await _list(link.client)
            except Exception as exc:  # named, one line; the stack closes what was opened
                raise UpstreamError(f"upstream {name!r}: {describe(exc, config.timeouts.start_s)}"
                                    ) from None
            out.listings[name] = [t.model_dump(mode="json", by_alias=True, exclude_none=True)
                                  for t in tools]
            for tool in tools:
                out.routes[namespaced(name, tool.name)] = Route(name, tool.name, tool)
        return out

    async def call(self, name: str, args: Mapping[str, Any]) -> Any:
        """Call an upstream tool; returns its `CallToolResult`. Raises on any failure
        (transport, timeout, an upstream that has gone away); an `is_error` result is
        returned as it is."""
        import anyio

        route = self.routes[name]
        link = self.links[route.upstream]
        if link.client is None:
            raise UpstreamError(f"upstream {route.upstream!r} is not connected "
                                f"({describe(link.error, 0) if link.error else 'closed'})")
        start = time.perf_counter()
        try:
            with anyio.fail_after(self.call_timeout):
                return await link.client.call_tool(route.tool, dict(args),
                                                   read_timeout_seconds=self.call_timeout)
        finally:
            self.last_call_ms = (time.perf_counter() - start) * 1000  # for bench mcp


@asynccontextmanager
async def _client(upstream: Upstream, base: Path, errlog: TextIO, timeout: float
                  ) -> AsyncIterator[Any]:
    """The entered `mcp.Client` for one upstream (and the HTTP client it owns, if any)."""
    from mcp import Client, StdioServerParameters

    if upstream.command is not None:
        from mcp.client.stdio import stdio_client

        command = list(upstream.command)
        cwd = resolve(base, upstream.cwd) if upstream.cwd else None
        params = StdioServerParameters(command=command[0], args=command[1:], env=upstream.env,
                                       cwd=cwd)
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=timeout) as c:
            yield c
        return
    assert upstream.url is not None
    if not upstream.headers:
        async with Client(upstream.url, read_timeout_seconds=timeout) as c:
            yield c
        return
    import httpx2  # the SDK's HTTP client
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers=dict(upstream.headers),
                                  timeout=httpx2.Timeout(30.0, read=300.0)) as http, \
            Client(streamable_http_client(upstream.url, http_client=http),
                   read_timeout_seconds=timeout) as c:
        yield c


async def _list(client: Any) -> list[Any]:
    tools: list[Any] = []
    cursor: str | None = None
    for _page in range(MAX_PAGES):  # bounded: an upstream cannot page us forever
        page = await client.list_tools(cursor=cursor, cache_mode="refresh")
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools
    raise UpstreamError(f"more than {MAX_PAGES} pages of tools")


def describe(exc: BaseException, timeout: float) -> str:
    """One line for a transport or server failure (anyio's exception groups unwrapped)."""
    cause: BaseException = exc
    while isinstance(cause, BaseExceptionGroup) and cause.exceptions:
        cause = cause.exceptions[0]
    if isinstance(cause, TimeoutError):
        return f"no answer within {timeout:g} s"
    return f"{type(cause).__name__}: {cause or 'the connection closed'}"[:400]
