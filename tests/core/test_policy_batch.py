"""Batched decisions (`CompiledPolicy.decide_many`, one Cedar call per slice of rules) are
exactly the decisions `decide` makes one call at a time: same verdict, same rules, same
detail, including engine errors, unencodable facts, unknown tools, escalations, and a
batch the engine refuses as a whole."""

from __future__ import annotations

import json
from typing import Any

import cedarpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plangate.catalog import Catalog
from plangate.policy import CompiledPolicy, engine
from plangate.policy.engine import DEFAULT_DENY, ENGINE_ERROR, Decision
from plangate.policy.facts import FactEncodingError

from .test_policy_engine import compile_rules, facts

RULES = (
    "  - {id: permit-owner, permit: {classes: [owner]}}\n"
    "  - {id: permit-read, permit: {effects: [read]}}\n"
    "  - {id: permit-mail, permit: {tools: [send_email, reply_email]}}\n"
    "  - {id: no-private-out, forbid: {effects: [egress]}, when: context.private}\n"
    "  - {id: ask-tainted, escalate: {}, when: 'context.tainted_args.contains(\"to\")'}\n"
    "  - {id: ask-pay, escalate: {tools: [pay]}}\n"
    "  - id: overflow\n    forbid: {tools: [run_tests]}\n"
    "    when: 'context.plan.calls + 9223372036854775807 > 0'\n"
    "  - id: big-pay\n    forbid: {tools: [pay]}\n"
    "    when: 'context.args has amount && context.args.amount.greaterThan(decimal(\"100.0\"))'\n"
)

TOOLS = ["notify_owner", "read_file", "send_email", "reply_email", "pay", "run_tests",
         "no_such_tool"]
CLASSES = ["owner", "unknown", "known"]

call_facts = st.builds(
    lambda tool, cls, private, tainted, amount: facts(
        tool, trust_class=cls, private=private,
        tainted_args=frozenset({"to"}) if tainted else frozenset(),
        args={"account": "acct", "amount": amount, "memo": "m"} if tool == "pay" else {}),
    st.sampled_from(TOOLS), st.sampled_from(CLASSES), st.booleans(), st.booleans(),
    st.sampled_from([5, 100, 100.00001, 250, float("nan"), 10**30]))


def alone(policy: CompiledPolicy, f: Any) -> Decision:
    """The reference: one call decided as the engine did before it batched: one
    `cedarpy.is_authorized` on the slice, then, when only escalations (or nothing) stopped
    it, one on the escalations compiled as permits."""
    if f.tool not in policy.catalog.tools:
        return Decision(verdict="deny", rules=(ENGINE_ERROR,), detail=f"unknown tool {f.tool!r}")
    piece = policy._slice(f.tool, f.trust_class)
    try:
        request = policy.cedar_request(f, piece)
    except (FactEncodingError, TypeError, ValueError) as exc:
        return Decision(verdict="deny", rules=(ENGINE_ERROR,), detail=str(exc))
    try:
        result = cedarpy.is_authorized(request, piece.main, policy._entities)
    except Exception as exc:
        return Decision(verdict="deny", rules=(ENGINE_ERROR,), detail=repr(exc)[:300])
    if result.diagnostics.errors:
        return Decision(verdict="deny", rules=(ENGINE_ERROR,),
                        detail="; ".join(result.diagnostics.errors)[:500])
    fired = tuple(sorted(piece.main_ids[int(r.removeprefix("policy"))] for r in result.diagnostics.reasons))
    if result.allowed:
        return Decision(verdict="approve", rules=fired)
    hard = tuple(r for r in fired if policy.rule(r).kind != "escalate")  # type: ignore[union-attr]
    if hard:
        return Decision(verdict="deny", rules=hard)
    escalations = [policy.rule(i) for i in piece.main_ids if policy.rule(i).kind == "escalate"]  # type: ignore[union-attr]
    ask_ids = tuple(r.id for r in escalations)  # type: ignore[union-attr]
    if ask_ids:
        ask = cedarpy.PolicySet.from_str("\n".join(
            r.cedar.replace("forbid(", "permit(", 1) for r in escalations))  # type: ignore[union-attr]
        try:
            asked = cedarpy.is_authorized(request, ask, policy._entities)
        except Exception as exc:
            return Decision(verdict="deny", rules=(ENGINE_ERROR,), detail=repr(exc)[:300])
        if asked.diagnostics.errors:
            return Decision(verdict="deny", rules=(ENGINE_ERROR,),
                            detail="; ".join(asked.diagnostics.errors)[:500])
        if asked.allowed:
            return Decision(verdict="escalate", rules=tuple(sorted(
                ask_ids[int(r.removeprefix("policy"))] for r in asked.diagnostics.reasons)))
    return Decision(verdict="deny", rules=(DEFAULT_DENY,), detail="no rule permits this call")


def one_by_one(policy: CompiledPolicy, calls: list[Any]) -> list[Decision]:
    return [alone(policy, c) for c in calls]


@pytest.fixture(params=["raw", "public"])
def engine_call(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways the engine is called: cedarpy's engine call with its answers read as text
    (the default, when cedarpy has it) and cedarpy's public call."""
    if request.param == "public":
        monkeypatch.setattr(engine, "_engine_batch", engine._public_batch)
    else:
        assert engine._engine_batch is not engine._public_batch, "cedarpy's engine call is used"
    return str(request.param)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(call_facts, min_size=1, max_size=12))
def test_a_batch_decides_each_call_as_alone(catalog: Catalog, calls: list[Any], engine_call: str) -> None:
    policy = compile_rules(catalog, RULES)
    expected = one_by_one(policy, calls)
    policy.clear_cache()
    assert policy.decide_many(calls) == expected
    # Again with the memo warm, and one at a time through `decide`: the same answers.
    assert policy.decide_many(calls) == expected
    policy.clear_cache()
    assert [policy.decide(c) for c in calls] == expected


def test_every_kind_of_answer_comes_out_of_one_batch(catalog: Catalog, engine_call: str) -> None:
    """The fixed batch covers approve, deny by forbid, escalate, default deny, engine error
    by evaluation, by encoding and by unknown tool: the property above is not vacuous."""
    policy = compile_rules(catalog, RULES)
    calls = [facts("notify_owner", trust_class="owner"), facts("send_email", private=True),
             facts("notify_owner", tainted_args=frozenset({"to"})), facts("notify_owner"),
             facts("run_tests"), facts("pay", args={"account": "a", "amount": float("nan"), "memo": "m"}),
             facts("no_such_tool")]
    verdicts = [(d.verdict, d.rules) for d in policy.decide_many(calls)]
    assert verdicts == [("approve", ("permit-owner",)), ("deny", ("no-private-out",)),
                        ("escalate", ("ask-tainted",)), ("deny", ("plangate:default-deny",)),
                        ("deny", (ENGINE_ERROR,)), ("deny", (ENGINE_ERROR,)), ("deny", (ENGINE_ERROR,))]


def test_a_batch_the_engine_refuses_is_decided_call_by_call(catalog: Catalog,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """If Cedar fails a whole batch, each call is asked alone: one bad request cannot turn
    another's approval into a deny, nor anything into an approval."""
    policy = compile_rules(catalog, RULES)
    calls = [facts("notify_owner", trust_class="owner"), facts("read_file"),
             facts("send_email", private=True), facts("notify_owner"),
             facts("notify_owner", private=True), facts("notify_owner", tainted_args=frozenset({"to"}))]
    expected = one_by_one(policy, calls)
    real = engine._engine_batch
    sizes: list[int] = []

    def flaky(requests: list[Any], *a: Any, **k: Any) -> Any:
        sizes.append(len(requests))
        if len(requests) > 1:
            raise RuntimeError("batch refused")
        return real(requests, *a, **k)

    monkeypatch.setattr(engine, "_engine_batch", flaky)
    policy.clear_cache()
    assert policy.decide_many(calls) == expected
    assert max(sizes) > 1  # a batch was tried

    def broken(requests: list[Any], *a: Any, **k: Any) -> Any:
        raise RuntimeError("engine down")

    monkeypatch.setattr(engine, "_engine_batch", broken)
    policy.clear_cache()
    assert {(d.verdict, d.rules) for d in policy.decide_many(calls)} == {("deny", (ENGINE_ERROR,))}


def _text(decision: str, reasons: list[str], timing: int, tail: str = "") -> str:
    diagnostics = {"reason": reasons, "id_annotations_by_reason": {}, "errors": []}
    head = json.dumps({"decision": decision, "correlation_id": None, "diagnostics": diagnostics},
                      separators=(",", ":"))[:-1]
    return head + f',"metrics":{{"authz_duration_micros":{timing},"build_request_duration_micros":3}}{tail}}}'


def test_an_answer_is_read_from_its_text_and_a_tail_that_is_not_timings_is_read_whole(
        catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers that differ only in their timings are one answer (kept by their head); an
    answer whose text goes on after its timings (a later key would override the decision) is
    never answered from what was kept, but read whole."""
    policy = compile_rules(catalog, RULES)
    piece = policy._slice("notify_owner", "owner")
    permit = piece.main_ids.index("permit-owner")
    texts = iter([_text("Allow", [f"policy{permit}"], 5), _text("Allow", [f"policy{permit}"], 90),
                  _text("Allow", [f"policy{permit}"], 7, tail=',"decision":"Deny"')])
    monkeypatch.setattr(engine, "_engine_batch", lambda requests, *_a: [next(texts) for _ in requests])
    calls = [facts("notify_owner", trust_class="owner", private=p) for p in (False, True)]
    assert [(d.verdict, d.rules) for d in policy.decide_many(calls)] == [("approve", ("permit-owner",))] * 2
    assert len(piece.texts) == 1  # the second answer was the first one, timings aside
    policy.clear_cache()
    [late] = policy.decide_many([facts("notify_owner", trust_class="owner", tainted_args=frozenset({"x"}))])
    assert late.verdict == "deny"  # read whole: the later key wins, as in any JSON reader


def test_an_unreadable_answer_denies(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = compile_rules(catalog, RULES)
    for bad in ("not json", '{"decision":"Allow"}', '{"decision":"Allow","diagnostics":{"reason":[1],"errors":[]}}'):
        monkeypatch.setattr(engine, "_engine_batch", lambda requests, *_a, bad=bad: [bad for _ in requests])
        policy.clear_cache()
        [d] = policy.decide_many([facts("notify_owner", trust_class="owner")])
        assert (d.verdict, d.rules) == ("deny", (ENGINE_ERROR,)), bad


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(call_facts, min_size=1, max_size=12))
def test_a_kept_context_is_the_context_the_call_encodes_to(catalog: Catalog, calls: list[Any]) -> None:
    """A slice whose rules read no argument keeps each encoded context by the facts it
    reads: every kept text is exactly what the call it is used for encodes to."""
    from plangate.policy.facts import cedar_context

    policy = compile_rules(catalog, RULES)
    policy.decide_many(calls)
    for f in calls:
        if f.tool not in policy.catalog.tools:
            continue
        piece = policy._slice(f.tool, f.trust_class)
        kept = piece.contexts.get(piece.key_of(f))
        if "args" in piece.attributes:
            assert not piece.contexts
            continue
        assert kept == json.dumps(cedar_context(f, policy.catalog, attributes=piece.attributes,
                                                arg_names=piece.arg_names))
