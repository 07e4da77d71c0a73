"""Probing a world's tools for laundering routes (`Echo`): call each acting tool once with
arguments seen in the benchmark's own plans, then look for each argument's value in the
tool's own output and in the output of every read call afterwards (including reads that
take an id or a name from the first output). Free-text arguments carry a canary, and a
value a read already showed before the write does not count as coming back through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from plangate.bench.search.recipes import Echo
from plangate.bench.search.values import Json, Path, copyable, find_paths, leaves, parses_as, path_arg
from plangate.catalog import Catalog, ToolSpec
from plangate.plan.codec import canonical_json

#: call(tool, args) -> JSON output; raises on a tool error.
Caller = Callable[[str, Mapping[str, Any]], Any]
Call = tuple[str, dict[str, Any]]
#: A read after a write: (tool, args as plan arguments), and its plain arguments (None
#: when an argument is taken from the write's output).
Read = tuple[tuple[str, Json], dict[str, Any] | None]


def collect(catalog: Catalog, calls: Iterable[tuple[str, Mapping[str, Any]]],
            per_tool: int = 6) -> dict[str, list[dict[str, Any]]]:
    """Distinct concrete arguments per tool (the first `per_tool`), and `{}` for every tool
    that needs no argument."""
    out: dict[str, list[dict[str, Any]]] = {}
    seen: set[str] = set()
    for tool, args in calls:
        rows = out.setdefault(tool, [])
        key = canonical_json([tool, dict(args)])
        if len(rows) < per_tool and key not in seen:
            seen.add(key)
            rows.append(dict(args))
    for name, spec in catalog.tools.items():
        if name not in out and not spec.required_args:
            out[name] = [{}]
    return out


def read_calls(catalog: Catalog, examples: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Call]:
    """Every example call of a read tool: the probes' and the index's reads."""
    return [(tool, dict(args)) for tool, rows in examples.items() if is_read(catalog.tools[tool]) for args in rows]


def safe(call: Caller, tool: str, args: Mapping[str, Any]) -> Any:
    try:
        return call(tool, args)
    except Exception:  # a probe that fails is simply not a route
        return None


def echo_in(output: Any, value: Any) -> tuple[Path, bool] | None:
    """Where `value` comes back in `output`: a path to it, or inside a text or as a key
    (then only a `copy` extraction takes it out)."""
    paths = find_paths(output, value, 1)
    if paths:
        return paths[0], False
    if copyable(value, output):
        return (), True
    return None


def with_canaries(spec: ToolSpec, args: Mapping[str, Any], *, keep: Sequence[str] = ()) -> dict[str, Any]:
    out = dict(args)
    for n, (name, value) in enumerate(sorted(args.items())):
        a = spec.args.get(name)
        if (a is not None and a.type == "string" and a.sink is None and not a.enum and isinstance(value, str)
                and not name.endswith("id") and name not in keep and not parses_as(value, "time")):
            out[name] = f"zq{n}canary {value}"[:80]
    return out


def _echoable(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or (isinstance(value, str) and len(value.strip()) >= 3)


def reads_after(catalog: Catalog, call: Caller, read_calls: Sequence[Call], written: Any) -> list[tuple[Read, Any]]:
    """Every read's output after a write: the world's read calls, and single-argument reads
    given each scalar of the write's output."""
    out: list[tuple[Read, Any]] = []
    for tool, args in read_calls:
        value = safe(call, tool, args)
        if value is not None:
            out.append((((tool, {k: {"literal": v, "origin": "planner"} for k, v in args.items()}), args), value))
    scalars = [(p, v) for p, v in leaves(written) if isinstance(v, str | int) and not isinstance(v, bool)
               and str(v).strip()][:12]
    for name, spec in sorted(catalog.tools.items()):
        required = sorted(spec.required_args) or sorted(spec.args)[:1]
        if not is_read(spec) or len(required) != 1 or spec.args[required[0]].type not in ("string", "integer"):
            continue
        for path, value in scalars:
            if (spec.args[required[0]].type == "string") != isinstance(value, str):
                continue
            result = safe(call, name, {required[0]: value})
            if result is not None:
                taken = {"ref": "$w", "path": path_arg(path)} if path else {"ref": "$w"}
                out.append((((name, {required[0]: taken}), None), result))
    return out


def is_read(spec: ToolSpec) -> bool:
    """A call the search may use freely to get data: it reads and neither sends, pays,
    deletes, persists nor executes (a `write` such as marking mail read is allowed)."""
    return "read" in spec.effects and not (set(spec.effects) & {"egress", "payment", "delete", "persist", "execute"})


def probe_echoes(catalog: Catalog, examples: Mapping[str, Sequence[Mapping[str, Any]]], read_calls: Sequence[Call],
                 scratch: Callable[[], AbstractContextManager[Caller]], *,
                 skip_effects: frozenset[str] = frozenset(), keep: Sequence[str] = ()) -> list[Echo]:
    """Every laundering route the acting tools offer (see the module docstring)."""
    out: list[Echo] = []
    for tool, rows in sorted(examples.items()):
        spec = catalog.tools[tool]
        if is_read(spec) or not rows or set(spec.effects) & skip_effects:
            continue
        args = with_canaries(spec, rows[0], keep=keep)
        with scratch() as call:
            before = {canonical_json([t, a]): safe(call, t, a) for t, a in read_calls}
            try:
                output = call(tool, args)
            except Exception:  # the example does not run here: no route through this tool
                continue
            reads = reads_after(catalog, call, read_calls, output)
        out.extend(_echoes_of(tool, args, output, reads, before))
    unique: dict[str, Echo] = {}
    for echo in out:
        unique.setdefault(echo.name, echo)
    return list(unique.values())


def _echoes_of(tool: str, args: Mapping[str, Any], output: Any, reads: Sequence[tuple[Read, Any]],
               before: Mapping[str, Any]) -> Iterator[Echo]:
    for arg, value in args.items():
        items = [(v, True) for v in value] if isinstance(value, list) else [(value, False)]
        for item, is_item in items[:1]:
            if not _echoable(item):
                continue
            where = echo_in(output, item)
            if where is not None:
                yield Echo(tool, arg, where[0], None, is_item, where[1])
            found = 0
            for (read, plain), read_out in reads:
                earlier = before.get(canonical_json([read[0], plain])) if plain is not None else None
                if earlier is not None and echo_in(earlier, item) is not None:
                    continue  # it was there before the write
                where = echo_in(read_out, item)
                if where is not None and found < 3:
                    yield Echo(tool, arg, where[0], read, is_item, where[1])
                    found += 1
