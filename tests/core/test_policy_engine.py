"""Policy engine: Cedar decisions on one call's facts; forbids win, errors deny."""

from __future__ import annotations

from typing import Any

import pytest

from plangate.catalog import Catalog
from plangate.policy import CompiledPolicy, parse_policy_text
from plangate.policy.engine import DEFAULT_DENY, ENGINE_ERROR
from plangate.policy.facts import CallFacts, PlanBounds


def facts(tool: str = "notify_owner", *, trust_class: str = "unknown", **over: Any) -> CallFacts:
    base: dict[str, Any] = dict(
        tool=tool, trust_class=trust_class, request_type="any", channel="email",
        principal="carol@x.example", authenticated=True, args={}, open_args=frozenset(),
        tainted_args=frozenset(), influenced_args=frozenset(), planner_args=frozenset(), chosen_args=frozenset(),
        tainted_sinks=frozenset(), influenced_sinks=frozenset(), private=False,
        readers_ok=None, args_readers_ok=None, to_owner=None, to_sender=None, to_known=None, destinations=None,
        executes_tainted=False, plan=PlanBounds(calls=1, egress=0, payments=0, loop=0))
    base.update(over)
    return CallFacts(**base)


def compile_rules(catalog: Catalog, rules: str) -> CompiledPolicy:
    return parse_policy_text("deployment: {owner: [o@x.example]}\nrules:\n" + rules, catalog,
                             source="engine.yaml")


PERMIT_ALL = "  - {id: permit-all, permit: {}}\n"
FORBID_PRIVATE = "  - {id: no-private, forbid: {}, when: context.private}\n"
ASK_PRIVATE = "  - {id: ask-private, escalate: {}, when: context.private}\n"


def test_permit_approves_and_names_the_rule(catalog: Catalog) -> None:
    """A matching permit approves, naming it."""
    d = compile_rules(catalog, PERMIT_ALL).decide(facts())
    assert (d.verdict, d.rules) == ("approve", ("permit-all",))


def test_no_rule_means_default_deny(catalog: Catalog) -> None:
    """Nothing permits: default deny, named."""
    d = compile_rules(catalog, "  - {id: only-pay, permit: {tools: [pay]}}\n").decide(facts())
    assert (d.verdict, d.rules) == ("deny", (DEFAULT_DENY,))


def test_forbid_beats_permit(catalog: Catalog) -> None:
    """A matching forbid denies whatever permits; it is the rule named."""
    policy = compile_rules(catalog, PERMIT_ALL + FORBID_PRIVATE)
    assert policy.decide(facts(private=True)).rules == ("no-private",)
    assert policy.decide(facts(private=True)).verdict == "deny"
    assert policy.decide(facts(private=False)).verdict == "approve"


def test_escalate_rescues_default_deny(catalog: Catalog) -> None:
    """An escalation that matches where no permit does asks the owner instead of denying."""
    d = compile_rules(catalog, ASK_PRIVATE).decide(facts(private=True))
    assert (d.verdict, d.rules) == ("escalate", ("ask-private",))
    assert compile_rules(catalog, ASK_PRIVATE).decide(facts()).verdict == "deny"


def test_escalate_turns_an_approval_into_a_question(catalog: Catalog) -> None:
    """A permit plus a matching escalation is an escalation, not an approval."""
    d = compile_rules(catalog, PERMIT_ALL + ASK_PRIVATE).decide(facts(private=True))
    assert (d.verdict, d.rules) == ("escalate", ("ask-private",))


def test_escalate_never_rescues_a_forbid(catalog: Catalog) -> None:
    """A hard forbid stays a deny even when an escalation also matches."""
    d = compile_rules(catalog, PERMIT_ALL + FORBID_PRIVATE + ASK_PRIVATE).decide(facts(private=True))
    assert (d.verdict, d.rules) == ("deny", ("no-private",))


def test_scopes_limit_rules(catalog: Catalog) -> None:
    """Class, tool, effect and request-type scopes each limit where a rule applies."""
    policy = compile_rules(catalog, (
        "  - {id: p-owner, permit: {classes: [owner]}}\n"
        "  - {id: p-read, permit: {effects: [read]}}\n"
        "  - {id: p-rt, permit: {tools: [reply_email], request_types: [any]}}\n"))
    assert policy.decide(facts("pay", trust_class="owner")).verdict == "approve"
    assert policy.decide(facts("pay")).verdict == "deny"
    assert policy.decide(facts("read_file")).rules == ("p-read",)
    assert policy.decide(facts("reply_email")).rules == ("p-rt",)


def test_rule_that_errors_at_evaluation_denies(catalog: Catalog) -> None:
    """A forbid whose evaluation errors (Cedar would skip it) is an engine-error deny."""
    overflow = ("  - id: overflow\n    forbid: {}\n"
                "    when: 'context.plan.calls + 9223372036854775807 > 0'\n")
    d = compile_rules(catalog, PERMIT_ALL + overflow).decide(facts())
    assert d.verdict == "deny" and d.rules == (ENGINE_ERROR,)
    assert "overflow" in d.detail


def test_escalation_that_errors_denies(catalog: Catalog) -> None:
    """An escalation that errors while asking is a deny, never a silent approval."""
    ask = ("  - id: ask-overflow\n    escalate: {}\n"
           "    when: 'context.plan.calls + 9223372036854775807 > 0'\n")
    d = compile_rules(catalog, ask).decide(facts())
    assert d.verdict == "deny" and d.rules == (ENGINE_ERROR,)


READS_EVERYTHING = "  - id: reads-all\n    forbid: {}\n    when: 'context == context && false'\n"


@pytest.mark.parametrize(("tool", "args", "detail"), [
    ("pay", {"account": "x", "amount": float("nan"), "memo": "m"}, "not finite"),
    ("pay", {"account": "x", "amount": 10**30, "memo": "m"}, "range"),
    ("pay", {"account": "x", "amount": [1], "memo": "m"}, "expected a number"),
    ("notify_owner", {"text": 5}, "expected a string"),
    ("notify_owner", {"ghost": "x"}, "not in the catalog"),
    ("send_email", {"to": ["a@b", 1]}, "expected a string"),
])
def test_unencodable_facts_deny(catalog: Catalog, tool: str, args: dict[str, Any], detail: str) -> None:
    """Argument values the engine cannot represent deny the call (fail closed) when a rule
    reads them."""
    d = compile_rules(catalog, PERMIT_ALL + READS_EVERYTHING).decide(facts(tool, args=args))
    assert (d.verdict, d.rules) == ("deny", (ENGINE_ERROR,))
    assert detail in d.detail


def test_unknown_argument_denies_even_when_no_rule_reads_it(catalog: Catalog) -> None:
    """An argument the catalog does not declare denies as soon as any rule reads args."""
    policy = compile_rules(catalog, PERMIT_ALL + "  - {id: f, forbid: {}, when: 'context.args has x'}\n")
    assert policy.decide(facts(args={"ghost": 1})).rules == (ENGINE_ERROR,)


@pytest.mark.parametrize("condition", [
    'context has readers_ok', 'context has "readers_ok"', 'context["readers_ok"]',
    'context .readers_ok',
])
def test_every_spelling_of_an_attribute_reaches_the_engine(catalog: Catalog, condition: str) -> None:
    """Decisions are memoised on the attributes rules read; every Cedar spelling of an
    attribute access counts as reading it (a dropped attribute would make a forbid fail open)."""
    guard = condition if "has" in condition else f"context has readers_ok && {condition}"
    policy = compile_rules(catalog, PERMIT_ALL + f"  - id: f\n    forbid: {{}}\n    when: '{guard}'\n")
    assert policy.decide(facts(readers_ok=True)).rules == ("f",)
    assert policy.decide(facts()).verdict == "approve"


def test_memoised_decisions_still_see_different_facts(catalog: Catalog) -> None:
    """Two calls differing in a fact a rule reads get their own decisions."""
    policy = compile_rules(catalog, PERMIT_ALL + FORBID_PRIVATE)
    assert policy.decide(facts(private=False)).verdict == "approve"
    assert policy.decide(facts(private=True)).verdict == "deny"
    assert policy.decide(facts(private=False)).verdict == "approve"


def test_unknown_tool_denies(catalog: Catalog) -> None:
    """A call to a tool outside the catalog is denied by the engine itself."""
    d = compile_rules(catalog, PERMIT_ALL).decide(facts("format_disk"))
    assert d.verdict == "deny" and d.rules == (ENGINE_ERROR,) and "unknown tool" in d.detail


def test_amount_rounding_never_slips_under_a_limit(catalog: Catalog) -> None:
    """Digits past Cedar's four decimals round up in magnitude, so 100.00001 > 100."""
    policy = compile_rules(catalog, PERMIT_ALL + (
        "  - id: big\n    forbid: {tools: [pay]}\n"
        "    when: 'context.args has amount && context.args.amount.greaterThan(decimal(\"100.0\"))'\n"))
    args = {"account": "A", "memo": "m"}
    assert policy.decide(facts("pay", args={**args, "amount": 100.00001})).verdict == "deny"
    assert policy.decide(facts("pay", args={**args, "amount": 100})).verdict == "approve"


def test_decisions_are_cached_but_pure(catalog: Catalog) -> None:
    """Deciding the same facts twice gives the same decision."""
    policy = compile_rules(catalog, PERMIT_ALL + FORBID_PRIVATE)
    f = facts(private=True)
    assert policy.decide(f) == policy.decide(f)
