"""Plan codec: parsing, structural checks (each naming step and field), hash, schema."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from plangate.catalog import Catalog
from plangate.errors import PlanError
from plangate.plan import check_plan, load_plan, parse_plan, plan_hash
from plangate.plan.model import MAX_CALLS, MAX_LITERAL_CHARS, MAX_STEPS

from .conftest import EXAMPLES, ROOT, call, lit, plan, ref


def _check(data: dict[str, Any], catalog: Catalog):
    return check_plan(parse_plan(data), catalog)


def _loop(step_id: str, over: dict[str, Any], steps: list[dict[str, Any]], *, max_: int = 5,
          var: str = "it") -> dict[str, Any]:
    return {"id": step_id, "kind": "for_each", "over": over, "as": var, "max": max_, "steps": steps}


def test_example_plans_check(catalog: Catalog) -> None:
    """Every example plan parses and checks against the example catalog."""
    for folder in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        checked = check_plan(load_plan(folder / "plan.json"), catalog)
        assert checked.hash.startswith("sha256:")
        assert checked.max_calls == len(list(checked.call_steps()))


def test_dependency_order_keeps_written_order(catalog: Catalog) -> None:
    """Steps run after what they refer to, otherwise in the order written."""
    p = plan(call("reply", "reply_email", to=ref("trigger", "principal"), body=ref("cal")),
             call("cal", "search_calendar", day=lit("x")),
             call("note", "notify_owner", text=lit("t")))
    assert [s.step.id for s in _check(p, catalog).order] == ["cal", "reply", "note"]


@pytest.mark.parametrize(("data", "where", "message"), [
    (plan(call("a", "notify_owner", text=ref("b")), call("b", "notify_owner", text=ref("a"))),
     "step 'a'", "cycle: a, b"),
    (plan(call("a", "notify_owner", text=ref("a"))), "step 'a' field 'text'", "itself"),
    (plan(call("a", "notify_owner", text=ref("ghost"))), "step 'a' field 'text'",
     "unknown step 'ghost'"),
    (plan(_loop("l", lit(["x"]), [call("inner", "notify_owner", text=ref("it"))]),
          call("after", "notify_owner", text=ref("inner"))),
     "step 'after' field 'text'", "inside a loop"),
    (plan(call("a", "notify_owner", text=ref("it"))), "step 'a' field 'text'", "unknown step 'it'"),
    (plan(call("a", "launch_missiles")), "step 'a' field 'tool'", "unknown tool 'launch_missiles'"),
    (plan(call("a", "notify_owner", text=lit("x"), cc=lit("y"))), "step 'a' field 'cc'",
     "has no argument 'cc'"),
    (plan(call("a", "notify_owner")), "step 'a'", "missing required arguments ['text']"),
    (plan(call("a", "notify_owner", text=lit(5))), "step 'a' field 'text'", "expected string, got int"),
    (plan(call("a", "pay", account=lit("x"), amount=lit("12"), memo=lit("m"))),
     "step 'a' field 'amount'", "expected number, got str"),
    (plan(call("a", "pay", account=lit("x"), amount=lit(True), memo=lit("m"))),
     "step 'a' field 'amount'", "expected number, got bool"),
    (plan(call("a", "send_email", to=lit(["a@b", 3]), subject=lit("s"), body=lit("b"))),
     "step 'a' field 'to'", "array item expected string"),
    (plan(call("a", "send_email", to={"concat": [lit("a")]}, subject=lit("s"), body=lit("b"))),
     "step 'a' field 'to'", "concat makes a string"),
    (plan(call("a", "notify_owner", text={"list": [lit("a")]})), "step 'a' field 'text'",
     "list makes an array"),
    (plan(call("a", "notify_owner", text=lit("x" * (MAX_LITERAL_CHARS + 1)))),
     "step 'a' field 'text'", "literal longer than"),
    (plan(call("a", "notify_owner", text=lit("x")), call("a", "notify_owner", text=lit("y"))),
     "step 'a'", "duplicate step id"),
    (plan(call("trigger", "notify_owner", text=lit("x"))), "step 'trigger'", "duplicate step id"),
    (plan(call("a", "notify_owner", text=ref("trigger", "secrets"))), "step 'a' field 'text'",
     "trigger has no field 'secrets'"),
    (plan({"id": "x", "kind": "extract", "from": lit("t"), "type": {"kind": "enum"}}),
     "step 'x' field 'type'", "enum extraction needs `values`"),
    (plan({"id": "x", "kind": "extract", "from": lit("t"), "type": {"kind": "copy"}}),
     "step 'x' field 'type'", "copy extraction needs `choices`"),
    (plan({"id": "x", "kind": "extract", "from": lit("t"),
           "type": {"kind": "bool", "choices": lit(["a"])}}),
     "step 'x' field 'type'", "only copy extraction"),
    (plan({"id": "x", "kind": "extract", "from": lit("t"),
           "type": {"kind": "number", "min": 5, "max": 1}}),
     "step 'x' field 'type'", "min is greater than max"),
    (plan({"id": "x", "kind": "extract", "from": ref("nope"), "type": {"kind": "bool"}}),
     "step 'x' field 'from'", "unknown step 'nope'"),
])
def test_structural_errors_name_step_and_field(catalog: Catalog, data: dict[str, Any], where: str,
                                               message: str) -> None:
    """Every structural refusal is a PlanError naming the step (and field) and the problem."""
    with pytest.raises(PlanError) as info:
        _check(data, catalog)
    assert info.value.where is not None and info.value.where.startswith(where), str(info.value)
    assert message in str(info.value)
    assert str(info.value).startswith(where)


def test_loop_variable_and_outer_steps_are_in_scope(catalog: Catalog) -> None:
    """Inside a loop, the loop variable and earlier outer steps may be referred to."""
    p = plan(call("cal", "search_calendar", day=lit("d")),
             _loop("each", ref("cal", "events"), [
                 call("hold", "create_hold", day=ref("ev", "day"), title=ref("cal", "0.title"))],
                 var="ev"))
    checked = _check(p, catalog)
    assert checked.max_calls == 1 + 5
    assert [s.step.id for s in checked.order] == ["cal", "each", "hold"]


def test_loop_products_above_max_calls_are_refused(catalog: Catalog) -> None:
    """Nested loop bounds multiply; more than MAX_CALLS potential calls is refused by step."""
    inner = _loop("l2", lit([1]), [_loop("l3", lit([1]), [call("c", "notify_owner", text=lit("x"))],
                                         max_=1000, var="k")], max_=1000, var="j")
    with pytest.raises(PlanError, match=f"more than {MAX_CALLS} tool calls") as info:
        _check(plan(_loop("l1", lit([1]), [inner], max_=1)), catalog)
    assert info.value.where is not None and "step 'l" in info.value.where


def test_nesting_too_deep_is_refused(catalog: Catalog) -> None:
    """Loops nested deeper than MAX_NESTING name the innermost loop."""
    body: dict[str, Any] = call("c", "notify_owner", text=lit("x"))
    for i in range(5):
        body = _loop(f"l{i}", lit([1]), [body], max_=1, var=f"v{i}")
    with pytest.raises(PlanError, match="nested deeper than 3") as info:
        _check(plan(body), catalog)
    assert info.value.where == "step 'l1'"


def test_too_many_steps_is_refused(catalog: Catalog) -> None:
    """More than MAX_STEPS steps is refused, at the top level and counting nested ones."""
    flat = plan(*[call(f"s{i}", "notify_owner", text=lit("x")) for i in range(MAX_STEPS + 1)])
    with pytest.raises(PlanError, match="steps"):
        _check(flat, catalog)
    nested = plan(*[call(f"s{i}", "notify_owner", text=lit("x")) for i in range(MAX_STEPS - 1)],
                  _loop("l", lit([1]), [call("a", "notify_owner", text=lit("x")),
                                        call("b", "notify_owner", text=lit("x"))], max_=1))
    with pytest.raises(PlanError, match=f"more than {MAX_STEPS} steps"):
        _check(nested, catalog)


def test_schema_errors_name_the_field() -> None:
    """Schema violations (bad ids, unknown keys, bad arg forms) name the field path."""
    with pytest.raises(PlanError, match=r"steps\[0\]\.call\.id"):
        parse_plan(plan(call("bad id", "notify_owner", text=lit("x"))))
    with pytest.raises(PlanError, match=r"steps\[0\]\.call\.args\.text"):
        parse_plan(plan(call("a", "notify_owner", text={"literal": "x", "origin": "god"})))
    with pytest.raises(PlanError, match="an argument is one of"):
        parse_plan(plan(call("a", "notify_owner", text={"value": "x"})))
    with pytest.raises(PlanError, match="step kind must be"):
        parse_plan(plan({"id": "a", "kind": "shell", "cmd": "rm"}))
    with pytest.raises(PlanError, match="steps"):
        parse_plan({"version": 1, "steps": []})
    with pytest.raises(PlanError, match="version"):
        parse_plan({"version": 2, "steps": [call("a", "notify_owner", text=lit("x"))]})


def test_plan_hash_ignores_key_order_and_whitespace() -> None:
    """The hash binds the plan's content, not the JSON spelling it arrived in."""
    a = plan(call("x", "send_email", to={"list": [lit("a@b")]}, subject=lit("s"), body=lit("b")))
    reordered = json.loads(json.dumps(a, sort_keys=True))
    reordered["steps"][0] = dict(reversed(list(reordered["steps"][0].items())))
    reordered["steps"][0]["args"] = dict(reversed(list(reordered["steps"][0]["args"].items())))
    text = json.dumps(reordered, indent=4)
    assert plan_hash(parse_plan(a)) == plan_hash(parse_plan(reordered)) == plan_hash(parse_plan(text))
    # Defaults spelled out or left out hash alike.
    explicit = json.loads(json.dumps(a))
    explicit["steps"][0]["kind"] = "call"
    explicit["request_type"] = "any"
    assert plan_hash(parse_plan(explicit)) == plan_hash(parse_plan(a))


def test_plan_hash_changes_with_any_content() -> None:
    """Changing one literal, origin or tool changes the hash."""
    base = plan(call("x", "notify_owner", text=lit("hello")))
    h = plan_hash(parse_plan(base))
    assert plan_hash(parse_plan(plan(call("x", "notify_owner", text=lit("hellO"))))) != h
    assert plan_hash(parse_plan(plan(call("x", "notify_owner", text=lit("hello", "payload"))))) != h
    assert plan_hash(parse_plan(plan(call("x", "notify_owner", text=lit("hello")),
                                     request_type="question"))) != h


def test_schema_command_validates_examples() -> None:
    """`plangate schema plan` prints a JSON Schema that the example plans satisfy."""
    jsonschema = pytest.importorskip("jsonschema")
    out = subprocess.run([sys.executable, "-m", "plangate", "schema", "plan"], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    schema = json.loads(out.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for folder in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        jsonschema.validate(json.loads((folder / "plan.json").read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"steps": [{"id": "a", "tool": "t", "args": {"x": {"bad": 1}}}]},
                            schema)


def test_schema_is_json_and_names_the_step_kinds() -> None:
    """The plan schema (no jsonschema needed) is draft 2020-12 and covers all step kinds."""
    out = subprocess.run([sys.executable, "-m", "plangate", "schema", "plan"], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    schema = json.loads(out.stdout)
    assert schema["$schema"].endswith("2020-12/schema")
    text = json.dumps(schema)
    for name in ("CallStep", "ExtractStep", "ForEachStep", "Lit", "Ref", "Concat", "ListOf"):
        assert name in text
