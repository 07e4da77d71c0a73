"""Parsing and structural checks of plans: the one place an agent's plan is trusted to be
well-formed. Every refusal names the step and the field.

`check_plan` turns a parsed `Plan` into a `CheckedPlan`: steps in a dependency order, every
reference resolved to a step in scope, every tool known, literal types matching the
catalog, and the size bounds (steps, nesting, loop products) respected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring as _quote  # json.dumps of a str, ensure_ascii=False
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from plangate.catalog import ArgSpec, Catalog
from plangate.documents import load_document, parse_text, validation_message
from plangate.errors import PlanError
from plangate.plan.model import (
    MAX_ARG_DEPTH,
    MAX_CALLS,
    MAX_LITERAL_CHARS,
    MAX_NESTING,
    MAX_STEPS,
    Arg,
    CallStep,
    Concat,
    ExtractStep,
    ForEachStep,
    ListOf,
    Lit,
    Plan,
    Ref,
    Step,
    plan_text,
)

TRIGGER_REF = "trigger"
#: `own`: the sender's own words; `segments`: each part of the payload with its provenance.
TRIGGER_FIELDS = frozenset({"principal", "channel", "payload", "instruction", "meta", "id",
                            "own", "segments"})


def parse_plan(data: Any, *, source: str = "plan") -> Plan:
    """Validate raw JSON (text, bytes or parsed) against the plan schema."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if isinstance(data, str):
        try:
            data = parse_text(data, source=source)
        except ValueError as exc:
            raise PlanError(str(exc)) from None
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(validation_message(exc, source=source, data=data)) from None
    except RecursionError:
        raise PlanError(f"{source}: nested too deeply") from None


def load_plan(path: str | Path) -> Plan:
    try:
        data = load_document(path)
    except ValueError as exc:
        raise PlanError(str(exc)) from None
    return parse_plan(data, source=str(path))


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def plan_hash(plan: Plan) -> str:
    """SHA-256 of the canonical JSON of the plan: binds an approval to this exact plan."""
    try:
        text = plan_text(plan)
        data = None if text is None else text.encode()
    except (ValueError, RecursionError):  # surrogates, huge numbers: the general path's error
        data = None
    if data is None:
        dumped = plan.model_dump(mode="json", by_alias=True, exclude_none=True)
        data = canonical_json(dumped).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Scoped:
    """A step in context: the loops around it (outermost first) and its multiplicity."""

    step: Step
    loops: tuple[str, ...]
    repeat: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedPlan:
    plan: Plan
    hash: str
    #: Every step, nested ones too, in an order where each comes after what it refers to.
    order: tuple[Scoped, ...]
    #: Upper bound on tool calls if every loop runs to its `max`.
    max_calls: int
    #: Each block's steps in execution order: "" for the plan, a loop's id for its body.
    blocks: dict[str, tuple[Step, ...]]

    def call_steps(self) -> Iterator[Scoped]:
        return (s for s in self.order if isinstance(s.step, CallStep))


def check_plan(plan: Plan, catalog: Catalog) -> CheckedPlan:
    """Check structure against the catalog; raise PlanError naming step and field."""
    seen: set[str] = set()
    order: list[Scoped] = []
    # A loop variable named like a step would make a read of that name mean either: refused.
    steps = list(_walk(plan.steps))
    ids = {s.id for s in steps}
    for s in steps:
        if isinstance(s, ForEachStep) and (s.var in ids or s.var == TRIGGER_REF):
            raise PlanError(f"loop variable {s.var!r} has the name of a step", where=f"step {s.id!r}")
    calls = _check_block(plan.steps, catalog, seen, order, loops=(), loop_vars=(), repeat=1,
                         outer_ids=frozenset())
    if calls > MAX_CALLS:
        raise PlanError(f"plan could make up to {calls} tool calls; the limit is {MAX_CALLS}")
    blocks: dict[str, list[Step]] = {}
    for scoped in order:
        blocks.setdefault(scoped.loops[-1] if scoped.loops else "", []).append(scoped.step)
    try:
        digest = plan_hash(plan)
    except (ValueError, RecursionError) as exc:  # a lone surrogate, a NaN bound: no canonical form
        raise PlanError(f"plan has no canonical JSON form ({type(exc).__name__}): it cannot be "
                        "bound to an approval") from None
    return CheckedPlan(plan=plan, hash=digest, order=tuple(order), max_calls=calls,
                       blocks={k: tuple(v) for k, v in blocks.items()})


def _check_block(steps: list[Step], catalog: Catalog, seen: set[str], order: list[Scoped], *,
                 loops: tuple[str, ...], loop_vars: tuple[str, ...], repeat: int,
                 outer_ids: frozenset[str]) -> int:
    if len(loops) > MAX_NESTING:
        raise PlanError(f"loops nested deeper than {MAX_NESTING}", where=f"step {loops[-1]!r}")
    block_ids: set[str] = set()
    for step in steps:
        sid = step.id
        if sid in seen or sid == TRIGGER_REF or sid in loop_vars:
            raise PlanError("duplicate step id", where=f"step {sid!r}")
        seen.add(sid)
        block_ids.add(sid)
    if len(seen) > MAX_STEPS:
        raise PlanError(f"more than {MAX_STEPS} steps")

    deps = {s.id: step_refs(s) for s in steps}
    visible = outer_ids | frozenset(loop_vars) | {TRIGGER_REF}
    for step in steps:
        for field, ref in deps[step.id]:
            if ref.ref not in visible and ref.ref not in block_ids:
                where = f"step {step.id!r} field {field!r}"
                # Steps nested in this block's loops exist but are out of scope here.
                nested = {s.id for s in _walk(steps)} - block_ids
                if ref.ref in seen or ref.ref in nested:
                    raise PlanError(f"refers to {ref.ref!r}, which is inside a loop and not in "
                                    "scope here", where=where)
                raise PlanError(f"refers to unknown step {ref.ref!r}", where=where)
            if ref.ref == step.id:
                raise PlanError("refers to itself", where=f"step {step.id!r} field {field!r}")
            if ref.ref == TRIGGER_REF:
                head = str(ref.segments[0]) if ref.segments else ""
                if head not in TRIGGER_FIELDS:
                    raise PlanError(f"trigger has no field {head!r}",
                                    where=f"step {step.id!r} field {field!r}")

    calls = 0
    for step in _topological(steps, deps, block_ids):
        order.append(Scoped(step=step, loops=loops, repeat=repeat))
        if isinstance(step, CallStep):
            _check_call(step, catalog)
            calls += repeat
        elif isinstance(step, ExtractStep):
            _check_extract(step)
        else:
            _check_args(step.id, "over", step.over)
            inner_outer = outer_ids | block_ids
            calls += _check_block(step.steps, catalog, seen, order, loops=(*loops, step.id),
                                  loop_vars=(*loop_vars, step.var), repeat=repeat * step.max,
                                  outer_ids=inner_outer)
            if calls > MAX_CALLS:
                raise PlanError(f"loops could make more than {MAX_CALLS} tool calls",
                                where=f"step {step.id!r}")
    return calls


def _topological(steps: list[Step], deps: dict[str, list[tuple[str, Ref]]],
                 block_ids: set[str]) -> list[Step]:
    """Dependency order that keeps the plan's own order wherever the references allow:
    each time, the first listed step whose inputs are ready. Side effects without a data
    dependency (write, then run the tests) therefore happen in the order written.
    A cycle is refused by name."""
    if not any(r.ref in block_ids for refs in deps.values() for _f, r in refs):
        return list(steps)  # nothing waits: the order written
    waiting = {sid: {r.ref for _f, r in refs if r.ref in block_ids} for sid, refs in deps.items()}
    done: list[Step] = []
    placed: set[str] = set()
    first = 0  # every step before it is placed (ids in a block are distinct)
    while len(done) < len(steps):
        while steps[first].id in placed:
            first += 1
        nxt = next((s for s in steps[first:] if s.id not in placed and waiting[s.id] <= placed),
                   None)
        if nxt is None:
            cycle = sorted(s.id for s in steps if s.id not in placed)
            raise PlanError(f"steps form a cycle: {', '.join(cycle)}", where=f"step {cycle[0]!r}")
        placed.add(nxt.id)
        done.append(nxt)
    return done


def step_refs(step: Step) -> list[tuple[str, Ref]]:
    out: list[tuple[str, Ref]] = []
    if isinstance(step, CallStep):
        for name, arg in step.args.items():
            if type(arg) is not Lit:
                _field_refs(name, arg, 0, out)
    elif isinstance(step, ExtractStep):
        _field_refs("from", step.source, 0, out)
        if step.type.choices is not None:
            _field_refs("type.choices", step.type.choices, 0, out)
    else:
        _field_refs("over", step.over, 0, out)
        # Inner steps may read outer steps: those are dependencies of the loop itself. What
        # they read inside the loop (its steps, its variable, a nested loop's variable) is
        # not; whether each such read is in scope where it stands is checked block by block.
        inner = list(_walk(step.steps))
        inner_ids = ({s.id for s in inner} | {step.var}
                     | {s.var for s in inner if isinstance(s, ForEachStep)})
        for nested in inner:
            for field, ref in step_refs(nested):
                if ref.ref not in inner_ids:
                    out.append((f"{nested.id}.{field}", ref))
    return out


def _field_refs(field: str, arg: Arg, depth: int, out: list[tuple[str, Ref]]) -> None:
    """`out.extend((field, r) for r in iter_refs(arg))`, without a generator per node."""
    if depth > MAX_ARG_DEPTH:
        raise PlanError(f"argument nested deeper than {MAX_ARG_DEPTH}")
    if isinstance(arg, Ref):
        out.append((field, arg))
    elif not isinstance(arg, Lit):
        for part in arg.concat if isinstance(arg, Concat) else arg.items:
            _field_refs(field, part, depth + 1, out)


def _walk(steps: list[Step]) -> Iterator[Step]:
    for s in steps:
        yield s
        if isinstance(s, ForEachStep):
            yield from _walk(s.steps)


def iter_leaves(arg: Arg, depth: int = 0) -> Iterator[Lit | Ref]:
    """Every literal and reference inside an argument, through concats and lists."""
    if depth > MAX_ARG_DEPTH:
        raise PlanError(f"argument nested deeper than {MAX_ARG_DEPTH}")
    if isinstance(arg, Lit | Ref):
        yield arg
    else:
        for part in arg.concat if isinstance(arg, Concat) else arg.items:
            yield from iter_leaves(part, depth + 1)


def iter_refs(arg: Arg) -> Iterator[Ref]:
    return (leaf for leaf in iter_leaves(arg) if isinstance(leaf, Ref))


def iter_literals(arg: Arg) -> Iterator[Lit]:
    return (leaf for leaf in iter_leaves(arg) if isinstance(leaf, Lit))


def _check_args(step_id: str, field: str, arg: Arg, depth: int = 0) -> None:
    """Every literal of the argument, in the order of `iter_literals`, is plain JSON and
    not too long."""
    if depth > MAX_ARG_DEPTH:
        raise PlanError(f"argument nested deeper than {MAX_ARG_DEPTH}")
    if isinstance(arg, Lit):
        value = arg.literal
        try:
            if type(value) is str:
                size = len(_quote(value))  # what canonical_json writes for a string
            elif type(value) is int:
                size = len(int.__repr__(value))  # its ValueError when too long, too
            else:
                size = len(canonical_json(value))
        except (TypeError, ValueError):
            raise PlanError("literal is not plain JSON",
                            where=f"step {step_id!r} field {field!r}") from None
        if size > MAX_LITERAL_CHARS:
            raise PlanError(f"literal longer than {MAX_LITERAL_CHARS} characters",
                            where=f"step {step_id!r} field {field!r}")
    elif not isinstance(arg, Ref):
        for part in arg.concat if isinstance(arg, Concat) else arg.items:
            _check_args(step_id, field, part, depth + 1)


def _check_call(step: CallStep, catalog: Catalog) -> None:
    spec = catalog.get(step.tool)
    if spec is None:
        raise PlanError(f"unknown tool {step.tool!r}", where=f"step {step.id!r} field 'tool'")
    arg_specs = spec.args
    args = step.args
    for name, arg in args.items():
        arg_spec = arg_specs.get(name)
        if arg_spec is None:
            raise PlanError(f"tool {step.tool!r} has no argument {name!r}",
                            where=f"step {step.id!r} field {name!r}")
        if type(arg) is Lit:
            value = arg.literal
            if (type(value) is str and arg_spec.type == "string" and arg_spec.enum is None
                    and arg_spec.max_length is None and len(value) <= _SURELY_SHORT):
                continue  # what _check_args and _type_problem would find fine
        _check_args(step.id, name, arg)
        problem = _type_problem(arg, arg_spec)
        if problem:
            raise PlanError(problem, where=f"step {step.id!r} field {name!r}")
    if not args.keys() >= spec.required_args:
        missing = sorted(spec.required_args.difference(args))
        raise PlanError(f"missing required arguments {missing} of tool {step.tool!r}",
                        where=f"step {step.id!r}")


#: Strings no longer than this are within MAX_LITERAL_CHARS as JSON (an escape is at most
#: six characters, the quotes two).
_SURELY_SHORT = (MAX_LITERAL_CHARS - 2) // 6


def _type_problem(arg: Arg, spec: ArgSpec) -> str | None:
    if isinstance(arg, Lit):
        return literal_type_problem(arg.literal, spec)
    if isinstance(arg, Concat) and spec.type not in ("string",):
        return f"concat makes a string; argument wants {spec.type}"
    if isinstance(arg, ListOf) and spec.type != "array":
        return f"list makes an array; argument wants {spec.type}"
    return None


def literal_type_problem(value: Any, spec: ArgSpec) -> str | None:
    """Why `value` does not fit `spec`, or None. Shared by review and the runtime check."""
    expected = spec.type
    if expected == "string":
        ok = isinstance(value, str)
    elif expected == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif expected == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif expected == "boolean":
        ok = isinstance(value, bool)
    elif expected == "array":
        ok = isinstance(value, list)
    elif expected == "object":
        ok = isinstance(value, dict)
    else:
        raise KeyError(expected)
    if not ok or (value is None and expected != "object"):
        return f"expected {expected}, got {type(value).__name__}"
    if spec.enum is not None and value not in spec.enum:
        return f"value not among {spec.enum}"
    if spec.max_length is not None and isinstance(value, str | list) and len(value) > spec.max_length:
        return f"longer than {spec.max_length}"
    if expected == "array" and spec.items is not None:
        item_spec = ArgSpec(type=spec.items)
        for item in value:
            if literal_type_problem(item, item_spec):
                return f"array item expected {spec.items}, got {type(item).__name__}"
    return None


def _check_extract(step: ExtractStep) -> None:
    t = step.type
    where = f"step {step.id!r} field 'type'"
    if t.kind == "enum" and not t.values:
        raise PlanError("enum extraction needs `values`", where=where)
    if t.kind == "copy" and t.choices is None:
        raise PlanError("copy extraction needs `choices` (where the value may be copied from)",
                        where=where)
    if t.kind != "copy" and t.choices is not None:
        raise PlanError("only copy extraction takes `choices`", where=where)
    if t.min is not None and t.max is not None and t.min > t.max:
        raise PlanError("min is greater than max", where=where)
    _check_args(step.id, "from", step.source)
    if t.choices is not None:
        _check_args(step.id, "type.choices", t.choices)
