"""Tool catalogs from a live MCP server (optional extra `mcp`).

`plangate catalog from-mcp -- COMMAND ARGS...` starts a stdio MCP server, asks it for
`tools/list`, and writes a catalog with conservative annotations from the MCP hints
(`plangate.catalog.catalog_from_mcp`): a tool not marked read-only writes and deletes, an
open-world tool is egress with untrusted output. The deployer then tightens or confirms
each entry (sinks, readers) with an overrides file; nothing here trusts a description.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plangate.catalog import Catalog, catalog_from_mcp
from plangate.errors import CatalogError

LIST_TIMEOUT_S = 30.0


def list_tools(command: Sequence[str], *, env: Mapping[str, str] | None = None,
               timeout: float = LIST_TIMEOUT_S) -> list[dict[str, Any]]:
    """The `tools/list` result of a stdio MCP server, as plain dicts (camelCase keys)."""
    try:
        import anyio
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client
        from mcp.types import PaginatedRequestParams
    except ImportError as exc:
        raise CatalogError("reading an MCP server needs the `mcp` extra "
                           "(pip install 'plangate[mcp]')") from exc
    if not command:
        raise CatalogError("no MCP server command given")

    async def run() -> list[dict[str, Any]]:
        params = StdioServerParameters(command=command[0], args=list(command[1:]),
                                       env=dict(env) if env is not None else None)
        with anyio.fail_after(timeout):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                tools: list[dict[str, Any]] = []
                cursor: str | None = None
                for _page in range(100):  # bounded: a server cannot page us forever
                    page = PaginatedRequestParams(cursor=cursor) if cursor else None
                    result = await session.list_tools(params=page)
                    tools.extend(t.model_dump(mode="json", by_alias=True, exclude_none=True)
                                 for t in result.tools)
                    cursor = result.next_cursor
                    if not cursor:
                        break
                return tools

    try:
        return anyio.run(run)
    except CatalogError:
        raise
    except Exception as exc:  # the server's or the transport's failure, named
        cause: BaseException = exc
        while isinstance(cause, BaseExceptionGroup) and cause.exceptions:
            cause = cause.exceptions[0]  # anyio wraps the real failure in task groups
        detail = (f"no answer within {timeout:.0f} s" if isinstance(cause, TimeoutError)
                  else str(cause) or "the server closed the connection")
        raise CatalogError(f"could not list tools from {command[0]!r}: "
                           f"{type(cause).__name__}: {detail}"[:500]) from None


def catalog_from_server(command: Sequence[str], *,
                        overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Catalog:
    return catalog_from_mcp(list_tools(command),
                            {k: dict(v) for k, v in (overrides or {}).items()})
