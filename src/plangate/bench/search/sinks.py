"""Goal models shared by the worlds: which calls are the goal's sinks, what each of their
arguments needs, and which other tools could take a sink's place.

A goal's target calls come from the benchmark (AgentDojo's `ground_truth`, InboxBench's
own attack plan). Reads among them are dropped: the recipes bring their own. Each sink
argument becomes a `Need`, classified by where its value can come from; a value the
judge does not look at is `free` (found by changing it and judging again). Sink
alternatives are the catalog's other tools with an effect in common, their arguments
filled by sink kind and content, kept only if the judge says they reach the goal.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from plangate.bench.search.engine import Target, Variant
from plangate.bench.search.probes import is_read
from plangate.bench.search.recipes import Need
from plangate.bench.search.values import Index, claim_holds, leaves, split_value
from plangate.catalog import Catalog, ToolSpec
from plangate.policy.engine import CompiledPolicy

ACTING = frozenset({"egress", "payment", "delete", "persist", "execute"})


def sink_calls(catalog: Catalog, calls: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Target]:
    return [Target(tool, dict(args)) for tool, args in calls
            if tool in catalog.tools and not is_read(catalog.tools[tool])]


def mutated(value: Any) -> Any:
    """Another value of the same shape, to learn whether the judge looks at this one."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value * 2 + 1
    if isinstance(value, str):
        try:
            day = dt.datetime.fromisoformat(value)
        except ValueError:
            return "changed"
        shifted = day + dt.timedelta(days=3)
        return shifted.strftime("%Y-%m-%d %H:%M" if " " in value else "%Y-%m-%d")[: len(value)]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return [mutated(v) for v in value]
    return None


def classify(targets: Sequence[Target], goal_text: str, index: Index,
             judge: Callable[[Sequence[Target]], bool] | None, until: float | None = None) -> list[Need]:
    """A `Need` for every argument of every target call (with no time left, values are not
    tried for being free)."""
    needs: list[Need] = []
    for i, target in enumerate(targets):
        for arg, value in target.args.items():
            if value is None:
                continue
            role = _role(value, goal_text, index, i)
            pieces = None
            if role == "derived":
                assert isinstance(value, str)
                pieces = split_value(value, index.find_text, lambda t: _attacker(t, goal_text))
            if judge is not None and (until is None or time.perf_counter() < until):
                other = mutated(value)
                if other is not None:
                    changed = [Target(t.tool, dict(t.args)) for t in targets]
                    changed[i].args[arg] = other
                    if judge(changed):
                        role, pieces = "free", None
            needs.append(Need(call=i, arg=arg, value=value, role=role, pieces=pieces))
    return needs


def _attacker(text: str, goal_text: str) -> bool:
    return claim_holds(text, goal_text)


def _role(value: Any, goal_text: str, index: Index, call: int) -> str:
    items = value if isinstance(value, list) else [value]
    scalars = [v for v in items if isinstance(v, str | int | float) and not isinstance(v, bool)]
    if scalars and all(_attacker(str(v), goal_text) for v in scalars):
        return "attacker"
    if scalars and all(index.ref_locations(v, 1, call=call) or index.copy_locations(v, 1, call=call)
                       for v in scalars):
        return "private"
    if isinstance(value, str) and split_value(value, index.find_text, lambda t: _attacker(t, goal_text)):
        return "derived"
    return "attacker"


def alternatives(catalog: Catalog, targets: Sequence[Target], examples: Mapping[str, Mapping[str, Any]],
                 limit: int = 6) -> list[tuple[str, list[Target]]]:
    """Other tools that might take the place of one target call: a shared effect (egress,
    payment, delete, persist; or write alone), every destination carried over by sink kind,
    the call's longest text put in each free-text argument in turn."""
    out: list[tuple[str, list[Target]]] = []
    for i, target in enumerate(targets):
        spec = catalog.tools[target.tool]
        mine = set(spec.effects) & ACTING or (set(spec.effects) & {"write"})
        texts = sorted((v for a, v in target.args.items() if isinstance(v, str) and a not in spec.sink_args),
                       key=lambda v: (-len(v), v))
        found = 0
        for name, other in sorted(catalog.tools.items()):
            if name == target.tool or is_read(other) or not (set(other.effects) & mine):
                continue
            base = dict(examples.get(name, {}))
            for arg, kind in other.sink_args.items():
                carried = [v for a, v in target.args.items() if spec.sink_args.get(a) == kind]
                if carried:
                    base[arg] = _shape(carried[0], other.args[arg].type)
            if not other.required_args <= set(base):
                continue
            slots: list[str | None] = [a for a, s in other.args.items()
                                       if s.type == "string" and a not in other.sink_args
                                       and not a.endswith("id")] if texts else []
            for slot in slots or [None]:
                args = dict(base)
                if slot is not None:
                    args[slot] = texts[0]
                swapped = [Target(t.tool, dict(t.args)) for t in targets]
                swapped[i] = Target(name, args)
                out.append((f"{target.tool}->{name}" + (f".{slot}" if slot else ""), swapped))
                found += 1
                if found >= limit:
                    break
            if found >= limit:
                break
    return out


def _shape(value: Any, arg_type: str) -> Any:
    if arg_type == "array" and not isinstance(value, list):
        return [value]
    if arg_type != "array" and isinstance(value, list):
        return value[0] if value else ""
    return value


def _content_slot(spec: ToolSpec, example: Mapping[str, Any]) -> str | None:
    """The free-text argument of a tool that carries the most text in its example."""
    slots = [a for a, s in spec.args.items() if s.type == "string" and s.sink is None and not s.enum
             and not a.endswith("id") and isinstance(example.get(a), str)]
    return max(slots, key=lambda a: (len(str(example[a])), a), default=None)


def _resource_args(spec: ToolSpec) -> list[str]:
    """Arguments that name a stored object the call hands out: a `path` sink, or an argument
    its `discloses` patterns name."""
    named = {m for pattern in spec.discloses for m in re.findall(r"\{([^}]*)\}", pattern)}
    return sorted({a for a, kind in spec.sink_args.items() if kind == "path"} | named)


def stored_objects(catalog: Catalog, targets: Sequence[Target], examples: Mapping[str, Mapping[str, Any]],
                   outputs_of: Callable[[Sequence[Target]], list[Any]],
                   per_pair: int = 3) -> Iterator[tuple[str, list[Target]]]:
    """The goal's content written into a stored object by one tool (a file, a note, an
    event) and the object then handed to the goal's destination by another, linked by the
    writer's own arguments or by any value its output gives back (an id, a path)."""
    for i, target in enumerate(targets):
        spec = catalog.tools[target.tool]
        texts = sorted((v for a, v in target.args.items() if isinstance(v, str) and a not in spec.sink_args),
                       key=lambda v: (-len(v), v))
        dests = {spec.sink_args[a]: v for a, v in target.args.items() if spec.sink_args.get(a) == "recipient"}
        if not texts or not dests:
            continue
        for wname, writer in sorted(catalog.tools.items()):
            example = examples.get(wname)
            slot = _content_slot(writer, example or {})
            if "write" not in writer.effects or example is None or slot is None:
                continue
            # The object is only written: whatever the writer itself would send goes nowhere.
            wargs = {**example, slot: texts[0],
                     **{a: [] for a, kind in writer.sink_args.items() if kind == "recipient"
                        and writer.args[a].type == "array"}}
            if any(kind == "recipient" and writer.args[a].type != "array" for a, kind in writer.sink_args.items()):
                continue
            written = outputs_of([Target(wname, wargs)])
            links: list[str | int] = [v for a, v in wargs.items() if a in writer.sink_args and isinstance(v, str)]
            links += [v for p, v in leaves(written[0] if written else None)
                      if p and isinstance(v, str | int) and not isinstance(v, bool)
                      and str(p[-1]).rstrip("_").lower().endswith(("id", "path", "name"))]
            for sname, sender in sorted(catalog.tools.items()):
                recipients = [a for a, kind in sender.sink_args.items() if kind == "recipient"]
                if sname == wname or is_read(sender) or not recipients:
                    continue
                for arg in _resource_args(sender):
                    for link in list(dict.fromkeys(links))[:per_pair]:
                        sargs = {**examples.get(sname, {}), arg: _shape(link, sender.args[arg].type)}
                        for r in recipients:
                            sargs[r] = _shape(dests["recipient"], sender.args[r].type)
                        if not sender.required_args <= set(sargs):
                            continue
                        chain = [*targets[:i], Target(wname, wargs), Target(sname, sargs), *targets[i + 1:]]
                        yield f"{target.tool}->{wname}.{slot}+{sname}.{arg}", chain


def variants(catalog: Catalog, targets: list[Target], examples: Mapping[str, Mapping[str, Any]],
             goal_text: str, index: Index, judge: Callable[[Sequence[Target]], bool],
             outputs_of: Callable[[Sequence[Target]], list[Any]] | None = None,
             tried: dict[str, bool] | None = None, until: float | None = None,
             limit: int = 4, stored_limit: int = 2) -> list[Variant]:
    """The benchmark's own target calls, and the sink alternatives the judge accepts: other
    tools in a sink's place, and stored objects that carry the content out. `tried`
    remembers, across a goal's contexts, which stored-object constructions ever reached it."""
    tried = {} if tried is None else tried

    def late() -> bool:
        return until is not None and time.perf_counter() > until

    out = [Variant("as the benchmark", targets, classify(targets, goal_text, index, judge, until))]
    for name, swapped in alternatives(catalog, targets, examples):
        if len(out) > limit or late():
            break
        if judge(swapped):
            out.append(Variant(name, swapped, classify(swapped, goal_text, index, judge, until)))
    if outputs_of is not None and not late():
        found: set[str] = set()
        for name, chain in stored_objects(catalog, targets, examples, outputs_of):
            if len(found) >= stored_limit or late():
                break
            if name in found or tried.get(name) is False:
                continue
            ok = judge(chain)
            tried[name] = tried.get(name, False) or ok
            if ok:
                found.add(name)
                out.append(Variant(name, chain, classify(chain, goal_text, index, judge, until)))
    return out


def request_type_for(policy: CompiledPolicy, trust_class: str, tools: set[str], preferred: str = "any") -> str:
    """The request type a planner would claim to get `tools` past the policy: the preferred
    one if it fits, else the first the trust class may make whose tools cover them all (a
    request type with no tool list restricts nothing)."""
    doc = policy.doc
    cls = doc.classes.get(trust_class)
    allowed = None if cls is None or cls.request_types is None else set(cls.request_types)
    for rt in [preferred, *sorted(doc.request_types), "any"]:
        if allowed is not None and rt not in allowed:
            continue
        spec = doc.request_types.get(rt)
        if spec is None or tools <= set(spec.tools):
            return rt
    return preferred
