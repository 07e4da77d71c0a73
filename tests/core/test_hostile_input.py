"""Hostile input fuzzing: whatever bytes arrive, the boundary answers with its own error.

Each boundary (plan codec, trigger parser, policy compiler, review) is fed arbitrary JSON
and mutated valid documents; the only acceptable outcomes are a parsed document or the
boundary's `PlangateError` subclass with a message, and the review never raises (a bad plan
is a deny). Nothing else may escape: an unexpected exception would be a fail-open risk in a
caller that only catches plangate's errors.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plangate.errors import PlanError, PolicyError, TriggerError
from plangate.plan.codec import parse_plan
from plangate.policy import load_policy, parse_policy_text
from plangate.review import review
from plangate.trigger import parse_trigger

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy(ROOT / "examples/assistant-policy.yaml")
EXAMPLE_PLAN = json.loads((ROOT / "examples/meeting-reply/plan.json").read_text())
TRIGGER = parse_trigger({"channel": "email", "principal": "eve@evil.example", "payload": "hi"})

EXAMPLES = int(os.environ.get("PLANGATE_FUZZ_EXAMPLES", "2000" if os.environ.get("CI") else "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=bool(os.environ.get("CI")),
                suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=40,
)
KEYS = ["version", "request_type", "steps", "id", "kind", "tool", "args", "literal", "origin",
        "ref", "path", "concat", "list", "from", "type", "over", "as", "max", "question",
        "values", "choices", "min"]


def mutate(doc: Any, data: st.DataObject) -> Any:
    """Replace one node somewhere in a valid document with an arbitrary value or key."""
    if isinstance(doc, dict) and doc and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(doc)))
        out = dict(doc)
        if data.draw(st.booleans()):
            out[key] = mutate(doc[key], data)
        else:
            out[data.draw(st.sampled_from(KEYS))] = data.draw(json_values)
        return out
    if isinstance(doc, list) and doc and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(doc) - 1))
        return [*doc[:i], mutate(doc[i], data), *doc[i + 1:]]
    return data.draw(json_values)


@FUZZ
@given(st.data())
def test_plan_parser_and_review_never_leak_other_errors(data: st.DataObject) -> None:
    """Mutated and random plans parse or raise PlanError; review always returns a verdict,
    and a plan that does not parse is never approved."""
    doc = mutate(EXAMPLE_PLAN, data) if data.draw(st.booleans()) else data.draw(json_values)
    try:
        parse_plan(doc)
        parsed = True
    except PlanError as exc:
        assert str(exc)
        parsed = False
    verdict = review(TRIGGER, doc, POLICY)
    assert verdict.verdict in ("approve", "deny", "escalate")
    if not parsed:
        assert verdict.verdict == "deny" and verdict.error


@FUZZ
@given(json_values)
def test_trigger_parser_raises_only_trigger_errors(doc: Any) -> None:
    """Arbitrary JSON as a trigger: parsed or TriggerError, nothing else."""
    try:
        parse_trigger(doc)
    except TriggerError as exc:
        assert str(exc)


POLICY_TEXT = (ROOT / "examples/assistant-policy.yaml").read_text()


@settings(max_examples=max(50, EXAMPLES // 10), deadline=None, derandomize=bool(os.environ.get("CI")))
@given(st.data())
def test_policy_compiler_raises_only_policy_errors(data: st.DataObject) -> None:
    """Policies with a random slice cut out or random text spliced in: compiled or a
    PolicyError naming what is wrong, nothing else."""
    text = POLICY_TEXT
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 80)))
    splice = data.draw(st.sampled_from(["", "when: 'context.x'", "}", "forbid: {}", "\n  - id: x",
                                        "permit(principal, action, resource);", "\t", "&&", "'"]))
    broken = text[:start] + splice + text[end:]
    try:
        parse_policy_text(broken, POLICY.catalog, source="fuzz.yaml")
    except PolicyError as exc:
        assert str(exc)
