"""How facts become a Cedar request and what the generated schema makes the validator
enforce: a value Cedar cannot represent exactly is refused (the call is denied), and
every argument a rule reads must be guarded with `has` and used at its catalog type."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from plangate.catalog import parse_catalog
from plangate.errors import PolicyError
from plangate.policy.facts import ALL_ATTRIBUTES, CallFacts, FactEncodingError, PlanBounds, cedar_context
from plangate.policy.loader import parse_policy_text

CATALOG = parse_catalog({"tools": {"t": {"effects": ["payment"], "args": {
    "ok": {"type": "boolean"}, "n": {"type": "integer"}, "amount": {"type": "number"},
    "memo": {"type": "string"}, "tags": {"type": "array", "items": "string"},
    "ids": {"type": "array", "items": "integer"}, "blob": {"type": "object"},
    "rows": {"type": "array", "items": "object"}}}}})
LONG_MAX = 2**63 - 1
DECIMAL_LIMIT = "922337203685477.5807"


def facts(request_type: str = "any", **args: Any) -> CallFacts:
    return CallFacts(tool="t", trust_class="owner", request_type=request_type, channel="cron",
                     principal="p", authenticated=True, args=args, open_args=frozenset(),
                     tainted_args=frozenset(), influenced_args=frozenset(), planner_args=frozenset(),
                     chosen_args=frozenset(),
                     tainted_sinks=frozenset(), influenced_sinks=frozenset(), private=False,
                     readers_ok=None, args_readers_ok=None,
                     to_owner=None, to_sender=None, to_known=None, destinations=None,
                     executes_tainted=False, plan=PlanBounds(calls=1, egress=0, payments=1, loop=0))


def encoded(**args: Any) -> dict[str, Any]:
    return cedar_context(facts(**args), CATALOG)["args"]  # type: ignore[no-any-return]


def test_the_request_type_is_in_the_context_when_a_rule_reads_it() -> None:
    """`context.request_type` is the plan's declared request type (and left out only when
    no rule reads it)."""
    assert cedar_context(facts("meeting"), CATALOG)["request_type"] == "meeting"
    assert "request_type" not in cedar_context(facts("meeting"), CATALOG,
                                               attributes=ALL_ATTRIBUTES - {"request_type"})


def test_values_are_encoded_at_their_catalog_type() -> None:
    """Booleans, integers, decimals (from numbers or numeric text) and arrays of strings
    or integers are encoded; objects and arrays of objects are judged by labels only."""
    out = encoded(ok=True, n=LONG_MAX, amount="12.5", memo="m", tags=["a"], ids=[-(2**63)],
                  blob={"x": 1}, rows=[{"x": 1}])
    assert out == {"ok": True, "n": LONG_MAX, "memo": "m", "tags": ["a"], "ids": [-(2**63)],
                   "amount": {"__extn": {"fn": "decimal", "arg": "12.5000"}}}
    assert encoded(amount=DECIMAL_LIMIT)["amount"]["__extn"]["arg"] == DECIMAL_LIMIT


@pytest.mark.parametrize("args", [
    {"ok": "yes"}, {"ok": 1},
    {"n": True}, {"n": "3"}, {"n": 2**63}, {"n": -(2**63) - 1}, {"ids": [2**63]},
    {"tags": "a"}, {"tags": ["a", 3]},
    {"amount": "abc"}, {"amount": float("inf")}, {"amount": True},
    {"amount": "922337203685477.5808"}, {"amount": Decimal("1")},
])
def test_values_cedar_cannot_hold_exactly_are_refused(args: dict[str, Any]) -> None:
    """A wrong type, an integer outside Cedar's 64 bits or a decimal outside its range
    raises `FactEncodingError` (the engine denies the call) rather than being coerced."""
    with pytest.raises(FactEncodingError):
        encoded(**args)


BASE = """deployment: {owner: [o@x.example]}
rules:
  - {id: p, permit: {}, reason: r}
"""


@pytest.mark.parametrize("when", [
    "context.args.n > 3",
    'context.args.amount.greaterThan(decimal("1.0"))',
    'context has args.memo && context.args.memo > 3',
    'context has args.n && context.args.n == "x"',
])
def test_the_schema_makes_every_argument_optional_and_typed(when: str) -> None:
    """A rule that reads an argument without `has` (it may be open at review) or at the
    wrong type is refused when the policy loads (with and without object arguments in
    the catalog, which the schema leaves out)."""
    plain = parse_catalog({"tools": {"t": {"effects": ["payment"], "args": {
        "n": {"type": "integer"}, "amount": {"type": "number"}, "memo": {"type": "string"}}}}})
    for catalog in (CATALOG, plain):
        with pytest.raises(PolicyError):
            parse_policy_text(BASE + f"  - {{id: f, forbid: {{}}, when: '{when}', reason: r}}\n", catalog)
    guarded = parse_policy_text(BASE + "  - {id: f, forbid: {}, when: 'context has args.n && context.args.n > 3', "
                                       "reason: r}\n", plain)
    assert guarded.decide(facts(n=5)).verdict == "deny" and guarded.decide(facts(n=1)).verdict == "approve"
