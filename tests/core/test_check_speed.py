"""The fast plan check equals the one it replaced, error for error and hash for hash.

The plan hash is stored in audit logs and approvals: the text it is taken of must stay
the same byte for byte. The check's refusals name a step and a field, and which refusal a
plan gets depends on the order of the checks. The old functions are kept here as the
reference; Hypothesis compares old and new on generated plans, valid and broken (unknown
tools and steps, cycles, loops too deep or too large, literals too long or not JSON,
values pydantic's JSON mode rewrites).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from plangate.catalog import ArgSpec, Catalog
from plangate.errors import PlanError
from plangate.plan.codec import (
    TRIGGER_FIELDS,
    TRIGGER_REF,
    CheckedPlan,
    Scoped,
    _walk,
    canonical_json,
    check_plan,
    iter_literals,
    iter_refs,
    literal_type_problem,
    parse_plan,
    plan_hash,
    step_refs,
)
from plangate.plan.model import (
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

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])

# ---- the check as it was ------------------------------------------------------------------

def ref_plan_hash(plan: Plan) -> str:
    """SHA-256 of the canonical JSON of the plan: binds an approval to this exact plan."""
    dumped = plan.model_dump(mode="json", by_alias=True, exclude_none=True)
    return "sha256:" + hashlib.sha256(canonical_json(dumped).encode()).hexdigest()


def ref_check_plan(plan: Plan, catalog: Catalog) -> CheckedPlan:
    """Check structure against the catalog; raise PlanError naming step and field."""
    seen: set[str] = set()
    order: list[Scoped] = []
    calls = _ref_check_block(plan.steps, catalog, seen, order, loops=(), loop_vars=(), repeat=1,
                         outer_ids=frozenset())
    if calls > MAX_CALLS:
        raise PlanError(f"plan could make up to {calls} tool calls; the limit is {MAX_CALLS}")
    blocks: dict[str, list[Step]] = {}
    for scoped in order:
        blocks.setdefault(scoped.loops[-1] if scoped.loops else "", []).append(scoped.step)
    return CheckedPlan(plan=plan, hash=ref_plan_hash(plan), order=tuple(order), max_calls=calls,
                       blocks={k: tuple(v) for k, v in blocks.items()})


def _ref_check_block(steps: list[Step], catalog: Catalog, seen: set[str], order: list[Scoped], *,
                 loops: tuple[str, ...], loop_vars: tuple[str, ...], repeat: int,
                 outer_ids: frozenset[str]) -> int:
    if len(loops) > MAX_NESTING:
        raise PlanError(f"loops nested deeper than {MAX_NESTING}", where=f"step {loops[-1]!r}")
    block_ids: set[str] = set()
    for step in steps:
        if step.id in seen or step.id == TRIGGER_REF or step.id in loop_vars:
            raise PlanError("duplicate step id", where=f"step {step.id!r}")
        seen.add(step.id)
        block_ids.add(step.id)
    if len(seen) > MAX_STEPS:
        raise PlanError(f"more than {MAX_STEPS} steps")

    deps = {s.id: ref_step_refs(s) for s in steps}
    visible = outer_ids | frozenset(loop_vars) | {TRIGGER_REF}
    # Steps nested in this block's loops exist but are out of scope here; say so by name.
    nested = {s.id for s in _walk(steps)} - block_ids
    for step in steps:
        for field, ref in deps[step.id]:
            if ref.ref not in visible and ref.ref not in block_ids:
                where = f"step {step.id!r} field {field!r}"
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
    for step in _ref_topological(steps, deps, block_ids):
        order.append(Scoped(step=step, loops=loops, repeat=repeat))
        if isinstance(step, CallStep):
            _ref_check_call(step, catalog)
            calls += repeat
        elif isinstance(step, ExtractStep):
            _ref_check_extract(step)
        else:
            _ref_check_args(step.id, "over", step.over)
            inner_outer = outer_ids | block_ids
            calls += _ref_check_block(step.steps, catalog, seen, order, loops=(*loops, step.id),
                                  loop_vars=(*loop_vars, step.var), repeat=repeat * step.max,
                                  outer_ids=inner_outer)
            if calls > MAX_CALLS:
                raise PlanError(f"loops could make more than {MAX_CALLS} tool calls",
                                where=f"step {step.id!r}")
    return calls


def _ref_topological(steps: list[Step], deps: dict[str, list[tuple[str, Ref]]],
                 block_ids: set[str]) -> list[Step]:
    """Dependency order that keeps the plan's own order wherever the references allow:
    each time, the first listed step whose inputs are ready. Side effects without a data
    dependency (write, then run the tests) therefore happen in the order written.
    A cycle is refused by name."""
    waiting = {sid: {r.ref for _f, r in refs if r.ref in block_ids} for sid, refs in deps.items()}
    done: list[Step] = []
    placed: set[str] = set()
    while len(done) < len(steps):
        nxt = next((s for s in steps if s.id not in placed and waiting[s.id] <= placed), None)
        if nxt is None:
            cycle = sorted(s.id for s in steps if s.id not in placed)
            raise PlanError(f"steps form a cycle: {', '.join(cycle)}", where=f"step {cycle[0]!r}")
        placed.add(nxt.id)
        done.append(nxt)
    return done


def ref_step_refs(step: Step) -> list[tuple[str, Ref]]:
    out: list[tuple[str, Ref]] = []
    if isinstance(step, CallStep):
        for name, arg in step.args.items():
            out.extend((name, r) for r in iter_refs(arg))
    elif isinstance(step, ExtractStep):
        out.extend(("from", r) for r in iter_refs(step.source))
        if step.type.choices is not None:
            out.extend(("type.choices", r) for r in iter_refs(step.type.choices))
    else:
        out.extend(("over", r) for r in iter_refs(step.over))
        # Inner steps may read outer steps: those are dependencies of the loop itself.
        inner_ids = {s.id for s in _walk(step.steps)} | {step.var}
        for inner in _walk(step.steps):
            for field, ref in ref_step_refs(inner):
                if ref.ref not in inner_ids:
                    out.append((f"{inner.id}.{field}", ref))
    return out


def _ref_check_args(step_id: str, field: str, arg: Arg) -> None:
    for lit in iter_literals(arg):
        try:
            size = len(canonical_json(lit.literal))
        except (TypeError, ValueError):
            raise PlanError("literal is not plain JSON", where=f"step {step_id!r} field {field!r}") from None
        if size > MAX_LITERAL_CHARS:
            raise PlanError(f"literal longer than {MAX_LITERAL_CHARS} characters",
                            where=f"step {step_id!r} field {field!r}")


def _ref_check_call(step: CallStep, catalog: Catalog) -> None:
    spec = catalog.get(step.tool)
    if spec is None:
        raise PlanError(f"unknown tool {step.tool!r}", where=f"step {step.id!r} field 'tool'")
    for name, arg in step.args.items():
        where = f"step {step.id!r} field {name!r}"
        arg_spec = spec.args.get(name)
        if arg_spec is None:
            raise PlanError(f"tool {step.tool!r} has no argument {name!r}", where=where)
        _ref_check_args(step.id, name, arg)
        _ref_check_type(arg, arg_spec, where)
    missing = sorted(spec.required_args - set(step.args))
    if missing:
        raise PlanError(f"missing required arguments {missing} of tool {step.tool!r}",
                        where=f"step {step.id!r}")


def _ref_check_type(arg: Arg, spec: ArgSpec, where: str) -> None:
    if isinstance(arg, Lit):
        problem = ref_literal_type_problem(arg.literal, spec)
        if problem:
            raise PlanError(problem, where=where)
    elif isinstance(arg, Concat) and spec.type not in ("string",):
        raise PlanError(f"concat makes a string; argument wants {spec.type}", where=where)
    elif isinstance(arg, ListOf) and spec.type != "array":
        raise PlanError(f"list makes an array; argument wants {spec.type}", where=where)


def ref_literal_type_problem(value: Any, spec: ArgSpec) -> str | None:
    """Why `value` does not fit `spec`, or None. Shared by review and the runtime check."""
    expected = spec.type
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }[expected]
    if value is None and expected != "object":
        ok = False
    if not ok:
        return f"expected {expected}, got {type(value).__name__}"
    if spec.enum is not None and value not in spec.enum:
        return f"value not among {spec.enum}"
    if spec.max_length is not None and isinstance(value, str | list) and len(value) > spec.max_length:
        return f"longer than {spec.max_length}"
    if expected == "array" and spec.items is not None:
        item_spec = ArgSpec(type=spec.items)
        for item in value:
            if ref_literal_type_problem(item, item_spec):
                return f"array item expected {spec.items}, got {type(item).__name__}"
    return None


def _ref_check_extract(step: ExtractStep) -> None:
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
    _ref_check_args(step.id, "from", step.source)
    if t.choices is not None:
        _ref_check_args(step.id, "type.choices", t.choices)


# ---- generated plans -------------------------------------------------------------------------

CATALOG = Catalog.model_validate({"tools": {
    "text": {"args": {"s": {}, "short": {"max_length": 5}, "pick": {"enum": ["a", "b"]}},
             "required": ["s"]},
    "numbers": {"args": {"n": {"type": "integer"}, "f": {"type": "number"},
                         "b": {"type": "boolean"}, "o": {"type": "object"}}, "required": []},
    "lists": {"args": {"a": {"type": "array", "items": "string"}, "x": {"type": "array"},
                       "pick": {"type": "integer", "enum": [1, 2]}}},
}})
IDS = ["a", "b", "c", "d", "e", "it", "trigger"]
ARG_NAMES = ["s", "short", "pick", "n", "f", "b", "o", "a", "x", "nope"]
# Literals at and just past the size limit, with escapes that make JSON longer.
LONG = ["x" * (MAX_LITERAL_CHARS - 2), "x" * (MAX_LITERAL_CHARS - 1), "\x00" * 16666,
        "\x00" * 16667, '"' * 49999, '"' * 50000, "é" * (MAX_LITERAL_CHARS - 1)]
strings = st.one_of(st.text(max_size=8), st.sampled_from(["a", "b", "", "é\u2028", "\udfff"]))


def json_of(texts: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(),
                  st.floats(allow_nan=False, allow_infinity=False), texts),
        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                st.dictionaries(texts, inner, max_size=3)), max_leaves=8)


json_values = json_of(strings)
json_text_values = json_of(st.text(max_size=8))  # no lone surrogates
# Values a Python caller may put in a plan that JSON text cannot: pydantic's JSON mode
# rewrites some of them (tuples, keys that are not strings), json.dumps refuses others.
python_values = st.one_of(
    st.tuples(st.integers(), strings), st.frozensets(st.integers(), max_size=2),
    st.dictionaries(st.one_of(st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False)),
                    st.integers(), min_size=1, max_size=3),
    st.integers(4299, 4301).map(lambda digits: -(10 ** digits)),  # too long to write out
    st.sampled_from([2 ** 70, -0.0, 1e300, [(1, 2)], {"k": (1,)}]))
long_values = st.integers(0, len(LONG) - 1).map(lambda n: LONG[n])  # not shown whole in reprs
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False,
                                                                     allow_infinity=False), strings)
literal_values = st.sampled_from([scalars] * 10 + [json_values] * 10 + [python_values, long_values]
                                 ).flatmap(lambda values: values)
origins = st.sampled_from(["instruction", "payload", "planner"])
paths = st.one_of(st.sampled_from(["", "payload", "own", "nope", "a.b", "0", "meta.subject"]),
                  st.lists(st.one_of(st.sampled_from(["x", "a b", "payload"]), st.integers(0, 3)),
                           max_size=3))


FITTING = {"string": strings, "integer": st.integers(), "boolean": st.booleans(),
           "number": st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)),
           "array": st.lists(strings, max_size=2), "object": st.dictionaries(strings, json_values)}


FITTING_TEXT = {**FITTING, "string": st.text(max_size=8),  # no lone surrogates
                "array": st.lists(st.text(max_size=8), max_size=2),
                "object": st.dictionaries(st.text(max_size=8), st.integers())}


def deep(levels: int) -> dict[str, Any]:
    arg: dict[str, Any] = {"literal": "x", "origin": "planner"}
    for _ in range(levels):
        arg = {"list": [arg]}
    return arg


@st.composite
def plans(draw: st.DrawFn, broken: bool = True) -> dict[str, Any]:
    """Plans whose steps have fresh ids, call known tools with fitting arguments and refer
    to steps in scope, in any order that has no cycle. With `broken`, now and then one
    of these fails: a repeated id, an unknown tool or argument, a missing or ill-typed
    argument, a reference to an unknown step, into a loop or round a cycle, nesting too
    deep, a literal too long or not JSON."""
    made: list[str] = []

    def rarely(times: int) -> bool:
        """True about once in `times` (the rare case last: Hypothesis favours the first)."""
        return broken and draw(st.sampled_from([False] * (times - 1) + [True]))

    def fresh(visible: list[str]) -> str:
        if made and rarely(12):
            return draw(st.sampled_from([*made, "trigger", "it"]))
        made.append(f"s{len(made)}")
        visible.append(made[-1])
        return made[-1]

    def arg(visible: list[str], depth: int = 0, wants: str = "", fits: Any = None) -> dict[str, Any]:
        forms = ["literal"] * 8 + ["ref"] * 2 + ["list", "concat"] * (depth < 3)
        if not broken and wants in ("array", "string"):
            forms = ["list"] * 3 if wants == "array" and depth == 0 else ["literal", "ref", "concat"]
        pick = draw(st.sampled_from(forms + ["deep"] * (depth == 0 and broken)))
        if pick == "literal":
            fitting = (FITTING if broken else FITTING_TEXT).get(wants) if fits is None else fits
            value = draw(fitting if fitting is not None and not rarely(4) else
                         literal_values if broken else json_text_values)
            return {"literal": value, "origin": draw(origins)}
        if pick == "ref":
            wrong = ["it", "x", "s9", *made] if rarely(5) else []
            target = draw(st.sampled_from([*visible * 6, "trigger", "trigger", *wrong]))
            path = draw(st.sampled_from(["payload", "own", "meta.subject"]) if target == "trigger"
                        and not rarely(4) else paths if broken else st.just(""))
            return {"ref": target, "path": path}
        if pick == "deep" and rarely(8):
            return draw(st.sampled_from([deep(16), deep(17), {"concat": [deep(15)]}]))
        parts = [arg(visible, depth + 1)
                 for _ in range(draw(st.integers(0 if pick == "list" else 1, 3)))]
        return {"list": parts} if pick == "list" else {"concat": parts}

    def call(visible: list[str], tool: str) -> dict[str, Any]:
        specs = CATALOG.tools[tool].args if tool in CATALOG.tools else {}
        required = CATALOG.tools[tool].required_args if tool in CATALOG.tools else {"s"}
        names = [n for n in (specs or ["s"]) if n in required or draw(st.booleans())]
        if rarely(10):
            names.insert(draw(st.integers(0, len(names))), draw(st.sampled_from(ARG_NAMES)))
        args = {}
        for name in names:
            spec = specs.get(name)
            fits = (st.sampled_from(spec.enum) if spec is not None and spec.enum and not rarely(3)
                    else st.text(max_size=5) if name == "short" else None)
            args[name] = (arg(visible, wants=spec.type if spec is not None else "", fits=fits)
                          if spec is None or spec.type in ("string", "array") or rarely(2)
                          else {"literal": draw(fits if fits is not None else FITTING_TEXT[spec.type]),
                                "origin": "planner"})
        return {"id": fresh(visible), "tool": tool, "args": args}

    def steps(depth: int, outer: list[str]) -> list[dict[str, Any]]:
        visible = list(outer)
        out: list[dict[str, Any]] = []
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(["call", "call", "extract"] + ["loop"] * (
                depth < MAX_NESTING or rarely(2))))
            if kind == "call":
                out.append(call(visible, "unknown" if rarely(12) else
                                draw(st.sampled_from(["text", "numbers", "lists"]))))
            elif kind == "extract":
                wanted: dict[str, Any] = {"kind": draw(st.sampled_from(
                    ["bool", "enum", "number", "date", "copy"]))}
                keys = {"enum": ["values"], "copy": ["choices"]}.get(wanted["kind"], [])
                if rarely(3):
                    keys = draw(st.lists(st.sampled_from(["values", "min", "max", "choices"]),
                                         unique=True))
                elif wanted["kind"] == "number":
                    keys = draw(st.lists(st.sampled_from(["min", "max"]), unique=True))
                for key in keys:
                    wanted[key] = (arg(visible) if key == "choices" else
                                   draw(st.lists(st.sampled_from(["x", "é"]), min_size=not broken,
                                                 max_size=2))
                                   if key == "values" else
                                   draw(st.integers(-3, 3) if key == "min" else st.integers(3, 9))
                                   if not rarely(3) else draw(st.floats(allow_nan=False)))
                source = arg(visible)
                out.append({"id": fresh(visible), "kind": "extract", "from": source, "type": wanted,
                            "question": draw(st.sampled_from(["", "which?"]))})
            else:
                over = arg(visible)
                var = draw(st.sampled_from(["it", "it", "x", "s0"])) if rarely(3) else f"v{depth}"
                loop_id = fresh(visible)
                # The check refuses a reference to a loop's variable from its body when that
                # loop sits in another loop (step_refs does not count it as inner), so a
                # valid plan uses only the outermost loop's variable.
                body = steps(depth + 1, [*visible, var] if broken else
                             [v for v in visible if v != loop_id] + [var] * (depth == 0))
                out.append({"id": loop_id, "kind": "for_each", "over": over, "as": var,
                            "max": draw(st.sampled_from([1, 2, 3, 1000] if broken else [1, 2, 3])),
                            "steps": body})
        if draw(st.booleans()):
            draw(st.randoms()).shuffle(out)  # references forward; a cycle if an id repeats
        return out

    return {"version": 1, "request_type": draw(st.sampled_from(["any", "mail"])),
            "steps": steps(0, [])}


def outcome(check: Any, *arguments: Any) -> Any:
    """What a function returns, or the type and text of what it raises."""
    try:
        return "value", check(*arguments)
    except Exception as exc:
        return "raised", type(exc).__name__, str(exc)


def parsed(data: dict[str, Any]) -> Plan | None:
    try:
        return parse_plan(data)
    except PlanError:
        return None


@SETTINGS
@given(st.one_of(plans(), plans(broken=False)))
@example({"version": 1, "steps": [{"id": "a", "tool": "text", "args": {"s": deep(17)}}]})
@example({"version": 1, "steps": [
    {"id": "a", "tool": "text", "args": {"s": {"ref": "b"}}},
    {"id": "b", "tool": "text", "args": {"s": {"ref": "a"}}}]})
@example({"version": 1, "steps": [{"id": "a", "kind": "extract", "from": {"ref": "trigger"},
                                   "type": {"kind": "number", "min": float("inf")}}]})
def test_check_plan_equals_the_old_check(data: dict[str, Any]) -> None:
    """The same CheckedPlan (hash, order, blocks, bound on calls) or the same refusal. One
    change on purpose: a plan with no canonical JSON form (a lone surrogate, a NaN bound),
    where the old check let the hash's ValueError out, is a PlanError (a malformed-plan
    deny, not a crash of the gate)."""
    plan = parsed(data)
    if plan is not None:
        old = outcome(ref_check_plan, plan, CATALOG)
        new = outcome(check_plan, plan, CATALOG)
        steps = list(_walk(plan.steps))
        loop_vars = {s.var for s in steps if isinstance(s, ForEachStep)}
        if old[0] == "raised" and old[1] in ("UnicodeEncodeError", "ValueError", "RecursionError") \
                and new[:2] == ("raised", "PlanError") and "has the name of a step" not in new[2]:
            assert "no canonical JSON form" in new[2]
            return
        if new[:2] == ("raised", "PlanError") and "has the name of a step" in new[2]:
            # On purpose: a loop variable named like a step is refused.
            assert loop_vars & {s.id for s in steps}
            return
        if old[:2] == ("raised", "PlanError") and "refers to unknown step" in old[2] and any(
                f"unknown step {v!r}" in old[2] for v in loop_vars):
            # On purpose: a nested loop's steps may read its variable (the old check refused
            # it); everything else about the plan is checked as before.
            assert new[0] == "value" or new[1] == "PlanError"
            return
        assert new == old


@SETTINGS
@given(st.one_of(plans(), plans(broken=False)))
@example({"version": 1, "steps": [{"id": "a", "kind": "extract", "from": {"ref": "trigger"},
                                   "type": {"kind": "number", "max": float("-inf")}}]})
@example({"version": 1, "steps": [{"id": "a", "tool": "t", "args": {
    "x": {"literal": {10: "a", 9: "b"}, "origin": "payload"},
    "y": {"literal": [{None: 1, True: 2}], "origin": "payload"}}}]})
def test_plan_hash_equals_the_hash_of_the_dump(data: dict[str, Any]) -> None:
    """Byte for byte the canonical JSON of pydantic's JSON dump, whatever the literals;
    the direct text is written for every plan that JSON text can express."""
    plan = parsed(data)
    if plan is not None:
        assert outcome(plan_hash, plan) == outcome(ref_plan_hash, plan)
        text = outcome(plan_text, plan)
        dump = outcome(lambda: canonical_json(plan.model_dump(mode="json", by_alias=True,
                                                              exclude_none=True)))
        if text[0] == dump[0] == "value" and text[1] is not None:
            assert text[1] == dump[1]


@SETTINGS
@given(st.sampled_from(sorted((tool, name) for tool, spec in CATALOG.tools.items() for name in spec.args)),
       st.one_of(literal_values, long_values, st.text(min_size=4, max_size=7),
                 st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=2)),
       st.booleans())
@example(("text", "s"), "\x00" * 16667, False)
@example(("text", "short"), "abcdef", False)
def test_one_argument_is_checked_as_before(arg: tuple[str, str], value: Any, in_list: bool) -> None:
    """A literal for each argument of each tool: the fast path for plain strings and the
    general one give the same refusals (type, enum, length, size, not JSON)."""
    tool, name = arg
    literal = {"literal": value, "origin": "payload"}
    plan = parsed({"version": 1, "steps": [{"id": "a", "tool": tool, "args": {
        name: {"list": [literal]} if in_list else literal,
        **{n: {"literal": 1, "origin": "planner"} for n in CATALOG.tools[tool].required_args
           if n != name}}}]})
    if plan is not None:
        assert outcome(check_plan, plan, CATALOG) == outcome(ref_check_plan, plan, CATALOG)


def test_numbers_too_long_to_write_are_refused_as_before() -> None:
    """Python will not write an int of more than 4300 digits: not plain JSON, as before."""
    for digits in (4298, 4299, 4300):
        for value in (10 ** digits, -(10 ** digits), [10 ** digits]):
            for tool, name in (("numbers", "n"), ("text", "s"), ("lists", "x")):
                required = {n: {"literal": "x", "origin": "planner"}
                            for n in CATALOG.tools[tool].required_args if n != name}
                plan = parse_plan({"version": 1, "steps": [{"id": "a", "tool": tool, "args": {
                    name: {"literal": value, "origin": "payload"}, **required}}]})
                assert outcome(check_plan, plan, CATALOG) == outcome(ref_check_plan, plan, CATALOG)


def ref_finite(value: Any) -> Any:
    """Lit's finite-number validator as it was."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError("a literal number must be finite (not NaN or infinity)")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return value


@SETTINGS
@given(st.one_of(literal_values, st.recursive(st.sampled_from([float("nan"), float("inf"), 1.5, "x"]),
                                              lambda inner: st.lists(inner, max_size=3) | st.tuples(inner)
                                              | st.dictionaries(st.text(max_size=2), inner, max_size=2))))
def test_finite_literals_are_refused_as_before(value: Any) -> None:
    """The parse-time check of literals, with its fast path for strings."""
    assert outcome(Lit._finite, value) == outcome(ref_finite, value)


def test_plan_text_is_written_for_json_plans() -> None:
    """The direct text covers what a planner sends, so reviews take the fast path."""
    data = {"version": 1, "steps": [
        {"id": "a", "tool": "t", "args": {"x": {"literal": {"k": [1, 2.5, None, True, "é"]},
                                                "origin": "payload"},
                                          "y": {"literal": None, "origin": "planner"},
                                          "z": {"concat": [{"ref": "trigger", "path": ["a b", 0]}]}}},
        {"id": "l", "kind": "for_each", "over": {"list": []}, "as": "it", "max": 2, "steps": [
            {"id": "e", "kind": "extract", "from": {"ref": "it"},
             "type": {"kind": "copy", "choices": {"ref": "a"}, "min": 1, "values": ["v"]}}]}]}
    plan = parse_plan(data)
    assert plan_text(plan) is not None
    assert plan_hash(plan) == ref_plan_hash(plan)


SPECS = [ArgSpec(type=t, **extra) for t in ("string", "integer", "number", "boolean", "array", "object")
         for extra in ({}, {"enum": ["a", 1]}, {"max_length": 2})] + [
    ArgSpec(type="array", items="integer"), ArgSpec(type="array", items="string", max_length=1)]


@SETTINGS
@given(literal_values)
def test_literal_type_problem_equals_the_old_one(value: Any) -> None:
    for spec in SPECS:
        assert outcome(literal_type_problem, value, spec) == outcome(ref_literal_type_problem, value, spec)


@SETTINGS
@given(plans())
def test_step_refs_equal_the_old_ones(data: dict[str, Any]) -> None:
    """The same references, but for one change on purpose: a loop no longer reports, as its
    own dependency, a read of a loop variable declared inside it (a nested loop's), which
    made a nested loop unable to read its own variable."""
    plan = parsed(data)
    if plan is not None:
        for step in _walk(plan.steps):
            old = outcome(ref_step_refs, step)
            if old[0] == "value" and isinstance(step, ForEachStep):
                nested_vars = {s.var for s in _walk(step.steps) if isinstance(s, ForEachStep)}
                old = ("value", [(f, r) for f, r in old[1] if f == "over" or r.ref not in nested_vars])
            assert outcome(step_refs, step) == old
