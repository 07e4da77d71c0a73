"""Tool catalogs from a live MCP server (optional extra `mcp`).

`plangate catalog from-mcp -- COMMAND ARGS...` starts a stdio MCP server, asks it for
`tools/list`, and writes a catalog with conservative annotations from the MCP hints
(`plangate.catalog.catalog_from_mcp`): a tool not marked read-only writes and deletes, an
open-world tool is egress with untrusted output. The deployer then tightens or confirms
each entry (sinks, readers) with an overrides file; nothing here trusts a description.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from plangate.catalog import Catalog, catalog_from_mcp, parse_catalog
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


# -- The MCP gateway's catalog: every upstream's listing, namespaced, plus overrides ---------

SEPARATOR = "__"
#: What an upstream tool nobody has annotated is taken to do: everything. It may write,
#: delete, send, run, persist and pay; its output is untrusted and private to the owner;
#: `unverifiable` makes the label rules treat it as reading every stored resource and
#: echoing every argument. An override from the deployer is the only way to narrow this.
WORST_CASE: dict[str, Any] = {
    "effects": ["read", "write", "delete", "egress", "execute", "persist", "payment"],
    "output": {"readers": ["owner"], "untrusted": True},
    "unverifiable": "an MCP upstream tool without the deployer's annotations",
}
#: Effects that change stored resources, and the one that runs them. A tool with such an
#: effect whose annotations do not say *which* resources (`writes`, `executes`, `loads`)
#: is taken to touch every one (`*`): what it wrote carries the label of all it may have
#: copied, and it may run whatever is stored (the write-then-execute rules see it).
#: Without this, an unannotated `move_file` washes a file's label off by moving it.
WRITING = frozenset({"write", "delete", "persist"})
ANYWHERE = ["*"]


def namespaced(upstream: str, tool: str) -> str:
    """The gateway's name for an upstream's tool: `fs__read_file`."""
    return f"{upstream}{SEPARATOR}{tool}"


def _merge(entry: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """The override's fields replace the entry's; `args` merge per argument (an override
    may add `sink: path` to one argument and keep the listed types of the others)."""
    out = dict(entry)
    for key, value in override.items():
        if key == "args" and isinstance(value, Mapping):
            args = {k: dict(v) for k, v in entry.get("args", {}).items()}
            for name, spec in value.items():
                args[name] = {**args.get(name, {}), **(dict(spec) if isinstance(spec, Mapping) else {})}
            out["args"] = args
        else:
            out[key] = value
    if "effects" in override and "unverifiable" not in override:
        # The deployer said what the tool does: its claims (reads, from_args) stand, and
        # `plangate catalog verify` is where they are checked. An override that only adds
        # a sink or an output label says nothing of what the tool reads or sends, so the
        # rest stays the worst case (it still reads, echoes and discloses everything).
        out.pop("unverifiable", None)
    return out


def _touches(entry: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Where a tool writes and what it runs, when nobody said: everywhere (`ANYWHERE`)
    for the effects it has. Patterns the override gives stand."""
    effects = set(entry.get("effects", []))
    if effects & WRITING and "writes" not in override:
        entry["writes"] = ANYWHERE
    if "execute" in effects:
        for key in ("executes", "loads"):
            if key not in override:
                entry[key] = ANYWHERE
    return entry


def gateway_catalog(listings: Mapping[str, list[dict[str, Any]]],
                    overrides: Mapping[str, Mapping[str, Any]] | None = None, *,
                    hints: Mapping[str, bool] | None = None) -> tuple[Catalog, dict[str, str]]:
    """The catalog of an MCP gateway: each upstream's tools under `upstream__tool`.

    `listings`: upstream name -> its `tools/list` result (dicts, camelCase or snake_case).
    `overrides`: namespaced tool name -> catalog fields (the deployer's annotations).
    An unannotated tool gets `WORST_CASE`, unless `hints[upstream]` says the deployer
    takes that upstream's MCP hints as a starting point (`catalog_from_mcp`'s reading).
    Returns the catalog and the tools left out, each with why (a tool whose listing is not
    a valid catalog entry is left out: it cannot be planned, so it cannot be called).
    An override naming no listed tool is an error: a typo must not leave a tool unguarded.
    """
    overrides = dict(overrides or {})
    entries: dict[str, dict[str, Any]] = {}
    left_out: dict[str, str] = {}
    for upstream, tools in listings.items():
        listed = Counter(str(tool.get("name")) for tool in tools)
        for tool in tools:
            raw = tool.get("name")
            if not isinstance(raw, str):
                raise CatalogError(f"upstream {upstream!r} lists a tool without a string name")
            name = namespaced(upstream, raw)
            if listed[raw] > 1:
                # Which definition would a call reach? The upstream's choice, not the
                # one reviewed: a name listed twice is never plannable.
                left_out[name] = "listed more than once by its upstream"
                overrides.pop(name, None)
                continue
            try:  # the listed argument types (and, if trusted, what the hints say)
                spec = catalog_from_mcp([tool]).tools[raw]
            except CatalogError as exc:
                left_out[name] = str(exc)[:300]
                overrides.pop(name, None)
                continue
            entry = spec.model_dump(mode="json", exclude_defaults=True, exclude={"name"})
            hinted = list(entry["effects"])
            # The hints are the server's word on its effects, never on its data: a
            # read-only, closed-world tool still returns whatever text is in the file it
            # read. So output and `unverifiable` stay the worst case even when trusted.
            entry.update(WORST_CASE)
            if (hints or {}).get(upstream):
                entry["effects"] = hinted
            override = overrides.pop(name, {})
            entries[name] = _touches(_merge(entry, override), override)
    if overrides:
        raise CatalogError(f"overrides name tools no upstream lists: {sorted(overrides)}")
    good: dict[str, Any] = {}
    for name, entry in entries.items():
        try:
            parse_catalog({"tools": {name: entry}}, source=f"MCP tool {name}")
        except CatalogError as exc:
            left_out[name] = str(exc)[:300]
            continue
        good[name] = entry
    return parse_catalog({"tools": good}, source="MCP gateway catalog"), left_out
