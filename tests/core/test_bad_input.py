"""Hostile and broken input: every bad plan, policy or trigger gets a clear PlangateError
subclass naming what is wrong, and nothing executes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plangate.catalog import Catalog
from plangate.errors import PlanError, PolicyError, TriggerError
from plangate.plan import load_plan, parse_plan
from plangate.policy import load_policy, parse_policy_text
from plangate.trigger import load_trigger, parse_trigger

from .conftest import event_kinds, make_gate, owner_trigger

NESTED_JSON = '{"steps": ' + "[" * 50_000 + "]" * 50_000 + "}"
NESTED_YAML = "steps: " + "[" * 50_000 + "]" * 50_000
_LEVELS = ["&a0 [x, x, x, x, x, x, x, x, x, x]"] + [
    f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
BILLION_LAUGHS = ("steps:\n  - id: s\n    tool: notify_owner\n    args: {text: {literal: ["
                  + ", ".join(_LEVELS) + "], origin: planner}}\n")

BAD_PLANS: list[tuple[Any, str]] = [
    ("{not json", "invalid JSON"),
    ("steps: [unclosed", "invalid YAML"),
    ("\x00\x01\x02binary", "invalid YAML"),
    (b"\xff\xfe\x00garbage", "invalid YAML"),
    ("[1, 2, 3]", "Input should be a valid dictionary"),
    ({"steps": "all of them"}, "steps"),
    ({"steps": [{"id": "a", "tool": "notify_owner", "args": {"text": {"literal": "x",
                                                                     "origin": "planner"}}}],
      "because": "trust me"}, "because"),
    ({"steps": [{"id": "a", "tool": "notify_owner", "args": "text"}]}, "args"),
    ({"steps": [{"id": "a" * 100, "tool": "notify_owner"}]}, "id"),
    ({"steps": [{"id": "a", "tool": "x" * 10_000}]}, "tool"),
    ({"steps": [{"id": "a", "tool": "notify_owner", "args": {"text": {"literal": "x" * 200_000,
                                                                     "origin": "planner"}}}]},
     "literal longer than"),
    ({"steps": [{"id": "a", "tool": "notify_owner",
                 "args": {"text": {"ref": "trigger", "path": "../../etc/passwd"}}}]}, "path"),
    (NESTED_JSON, "nested too deeply"),
    (NESTED_YAML, "nested too deeply"),
    (BILLION_LAUGHS, "aliases expand"),
    ("a: &a [*a]\nsteps: []\n", "recursive"),
    ("x" * (5 * 1024 * 1024), "larger than"),
]


@pytest.mark.parametrize(("data", "message"), BAD_PLANS,
                         ids=[f"plan{i}" for i in range(len(BAD_PLANS))])
def test_bad_plans_raise_plan_error_and_run_nothing(data: Any, message: str) -> None:
    """parse/check raise PlanError naming the problem; the gate denies as malformed,
    calls no tool and records no call."""
    from plangate.plan import check_plan

    from .conftest import assistant_policy

    with pytest.raises(PlanError, match=message):
        check_plan(parse_plan(data), assistant_policy().catalog)
    gate, tools = make_gate()
    outcome = gate.submit(owner_trigger(), data)
    assert outcome.review.verdict == "deny" and outcome.review.rules == ("plangate:malformed-plan",)
    assert outcome.run is None and tools.calls == []
    assert "call" not in event_kinds(gate)


def test_non_utf8_and_missing_plan_files(tmp_path: Path) -> None:
    """Files that are not UTF-8 or do not exist are PlanErrors naming the file."""
    path = tmp_path / "plan.json"
    path.write_bytes(b'{"steps": "\xff\xfe"}')
    with pytest.raises(PlanError, match=r"plan\.json: not UTF-8"):
        load_plan(path)
    with pytest.raises(PlanError, match=r"nope\.json: cannot read"):
        load_plan(tmp_path / "nope.json")


BAD_TRIGGERS: list[tuple[Any, str]] = [
    ({"channel": "email"}, "principal"),
    ({"channel": "email", "principal": 42}, "principal"),
    ({"channel": "email", "principal": "x" * 5000}, "principal"),
    ({"channel": "email", "principal": "x", "payload": "x" * 1_000_001}, "payload"),
    ({"channel": "email", "principal": "x", "evidence": {"dmarc": "pass", "trust_me": True}},
     "trust_me"),
    ({"channel": "email", "principal": "x", "evidence": "dmarc=pass"}, "evidence"),
    ({"channel": "email", "principal": "x", "meta": {"k": {"nested": 1}}}, "meta"),
    ("channel: [email", "invalid YAML"),
    (NESTED_JSON.replace("steps", "channel"), "nested too deeply"),
    ("\x00\x00", "invalid YAML"),
]


@pytest.mark.parametrize(("data", "message"), BAD_TRIGGERS,
                         ids=[f"trigger{i}" for i in range(len(BAD_TRIGGERS))])
def test_bad_triggers_raise_trigger_error(data: Any, message: str) -> None:
    """Malformed triggers raise TriggerError naming the field; the gate runs nothing."""
    with pytest.raises(TriggerError, match=message):
        parse_trigger(data)
    gate, tools = make_gate()
    with pytest.raises(TriggerError):
        gate.submit(data if isinstance(data, dict) else {"raw": data},
                    {"steps": [{"id": "n", "tool": "notify_owner",
                                "args": {"text": {"literal": "x", "origin": "planner"}}}]})
    assert tools.calls == [] and event_kinds(gate) == []


def test_bad_trigger_files(tmp_path: Path) -> None:
    """Trigger files that are binary or not UTF-8 are TriggerErrors naming the file."""
    path = tmp_path / "t.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(TriggerError, match=r"t\.yaml: not UTF-8"):
        load_trigger(path)


BAD_POLICIES: list[tuple[str, str]] = [
    ("rules: {not: a list}", "rules"),
    ("rules:\n  - permit: {}\n", r"rules\[0\]\.id"),
    ("rules:\n  - id: 'bad id!'\n    permit: {}\n", "id"),
    ("rules:\n  - id: r\n    permit: {}\n    when: 42\n", "when"),
    ("rules:\n  - id: r\n    permit: {}\n    when: '" + "true && " * 600 + "true'\n", "when"),
    ("version: 7\n", "version"),
    ("surprise: true\n", "surprise"),
    ("rules:\n  - id: r\n    forbid: {}\n    when: 'true }; permit(principal, action, resource) when { true'\n",
     "rule 'r'"),
    ("[1, 2]", "dictionary"),
    ("\x00\x01", "invalid YAML"),
    (BILLION_LAUGHS.replace("steps", "rules"), "aliases expand"),
]


@pytest.mark.parametrize(("text", "message"), BAD_POLICIES,
                         ids=[f"policy{i}" for i in range(len(BAD_POLICIES))])
def test_bad_policies_raise_policy_error(catalog: Catalog, text: str, message: str) -> None:
    """Malformed policies raise PolicyError naming what is wrong."""
    with pytest.raises(PolicyError, match=message):
        parse_policy_text(text, catalog, source="bad.yaml")


def test_cedar_injection_through_a_condition_is_refused(catalog: Catalog) -> None:
    """A `when` that tries to close its rule and smuggle in a second policy is refused:
    each rule must compile to exactly one Cedar policy."""
    text = ("rules:\n  - id: sneaky\n    forbid: {tools: [pay]}\n"
            "    when: 'false }; permit(principal, action, resource) when { true'\n")
    with pytest.raises(PolicyError, match="rule 'sneaky'"):
        parse_policy_text(text, catalog, source="bad.yaml")


def test_bad_policy_files(tmp_path: Path) -> None:
    """A policy file that is not UTF-8, or too large, is a PolicyError naming the file."""
    path = tmp_path / "p.yaml"
    path.write_bytes(b"rules: \xff")
    with pytest.raises(PolicyError, match=r"p\.yaml: not UTF-8"):
        load_policy(path)
    path.write_text("#" * (5 * 1024 * 1024))
    with pytest.raises(PolicyError, match="larger than"):
        load_policy(path)


def test_a_plan_with_a_lone_surrogate_is_denied_and_recorded(tmp_path: Any) -> None:
    """`"\\ud800"` is valid JSON but has no UTF-8 form: such a plan cannot be hashed (bound
    to an approval) nor stored as text. It is denied as malformed, not an exception, and
    its records are written (escaped) so the log still verifies."""
    import json as _json

    gate, _tools = make_gate(audit=str(tmp_path / "a.db"))
    plan_text = ('{"version": 1, "steps": [{"id": "n", "tool": "notify_owner", "args": '
                 '{"text": {"literal": "hi \\ud800", "origin": "planner"}}}]}')
    for plan in (plan_text, _json.loads(plan_text)):
        review = gate.review(owner_trigger("hi"), plan, run_id="run_s")
        assert review.verdict == "deny" and "canonical JSON" in (review.error or "")
    assert event_kinds(gate)[-3:] == ["trigger", "plan", "verdict"]
    assert gate.audit.verify().ok
