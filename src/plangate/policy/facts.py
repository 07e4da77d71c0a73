"""The facts a policy decides on, and their encoding as a Cedar request.

plangate computes the facts (labels, provenance, destinations, effects, budgets); Cedar
only evaluates rules over them. The same `CallFacts` shape serves the static review (some
values still open) and the runtime check (every value concrete), so one policy governs
both halves. Facts that cannot be known yet are *absent* from the context, and the
Cedar schema marks them optional, so the validator forces every rule to guard them with
`has`; the runtime check then decides them with the concrete values.

Context attributes a rule may use:

| attribute | meaning |
|---|---|
| `trigger.channel`, `trigger.principal`, `trigger.authenticated` | who started the run |
| `trigger.message` | the id of the message that started it (its `meta.message_id`; "" if none): a |
| | rule compares an argument's value with it (`context.args.message_id == context.trigger.message`), |
| | whatever wrote the value (a reference, a copy, the sender's own words) |
| `request_type` | the kind of request the plan declares |
| `args.<name>` | concrete argument values (optional until known) |
| `open_args` | arguments whose value is only known at run time |
| `tainted_args` / `influenced_args` | arguments an attacker could write freely / shape at all |
| `planner_args` | arguments containing planner-invented literals |
| `chosen_args` | arguments not made only of what the trigger gave (its principal's words, |
| | its instruction, who sent it and how): a tool's output, however trusted, an extraction, |
| | a quote or the planner's own text were picked by the agent |
| `tainted_sinks` / `influenced_sinks` | sink kinds (`recipient`, `url`, ...) whose argument is tainted / influenced |
| `read_sinks` | sink kinds whose argument carries something the run read: a tool's output, a stored |
| | resource, an extraction's answer (not only the trigger's words and the planner's own text) |
| `private` | some argument carries data not everyone may read |
| `readers_ok` | every destination may already read every argument (optional) |
| `args_readers_ok` | the same for the arguments and the pc only, disclosed stored content |
| | aside: an exception for that content (a shared folder) must not waive what the |
| | arguments carry or what decided that the call happens (optional) |
| `to_owner`, `to_sender`, `to_known` | all destinations are the owner / the sender / known parties (optional) |
| `destinations` | the normalised destinations (optional) |
| `executes_tainted` | the call runs or loads stored content that was written from tainted data |
| `decided_privately` | an agent that runs its own tools decides whether to make this call after |
| | reading something more private than the trigger's own message (a write into a folder |
| | others read asks about it; an egress has it in `readers_ok` already) |
| `steered` | the plan was written by a planner that saw words its principal did not write (a |
| | stranger's message, a quoted or forwarded part, a header someone else wrote, a tool's output |
| | on a replan): which calls the plan makes at all may be someone else's choice, even when every |
| | value in them is the principal's (the run's integrity pc, one bit for the whole run) |
| `plan.calls`, `plan.egress`, `plan.payments`, `plan.loop` | bounds of the whole plan |
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from plangate.catalog import EFFECTS, ArgSpec, Catalog

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_DECIMAL_LIMIT = Decimal("922337203685477.5807")


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanBounds:
    calls: int
    egress: int
    payments: int
    loop: int

    def plus(self, other: PlanBounds) -> PlanBounds:
        """Both together: what a trigger spent before and this plan (a loop bound is per
        plan: the larger one)."""
        return PlanBounds(calls=self.calls + other.calls, egress=self.egress + other.egress,
                          payments=self.payments + other.payments, loop=max(self.loop, other.loop))

    def to_json(self) -> dict[str, int]:
        return {"calls": self.calls, "egress": self.egress, "payments": self.payments, "loop": self.loop}

    @classmethod
    def from_json(cls, data: Any) -> PlanBounds:
        return cls(**{k: int(data[k]) for k in ("calls", "egress", "payments", "loop")})


class CallFacts(NamedTuple):
    """Everything the policy may know about one tool call. (A NamedTuple: immutable, and
    built once per call on the review's and the executor's hot paths.)"""

    tool: str
    trust_class: str
    request_type: str
    channel: str
    principal: str
    authenticated: bool
    args: Mapping[str, Any]
    open_args: frozenset[str]
    tainted_args: frozenset[str]
    influenced_args: frozenset[str]
    planner_args: frozenset[str]
    chosen_args: frozenset[str]
    tainted_sinks: frozenset[str]
    influenced_sinks: frozenset[str]
    private: bool
    readers_ok: bool | None
    args_readers_ok: bool | None
    to_owner: bool | None
    to_sender: bool | None
    to_known: bool | None
    destinations: tuple[str, ...] | None
    executes_tainted: bool
    plan: PlanBounds
    decided_privately: bool = False
    message: str = ""
    steered: bool = False
    read_sinks: frozenset[str] = frozenset()


class FactEncodingError(ValueError):
    """A value cannot be represented for the policy engine; the call is denied."""


ALL_ATTRIBUTES = frozenset({
    "trigger", "request_type", "args", "open_args", "tainted_args", "influenced_args",
    "planner_args", "chosen_args", "tainted_sinks", "influenced_sinks", "private", "executes_tainted", "plan",
    "decided_privately", "steered", "read_sinks", "readers_ok", "args_readers_ok", "to_owner", "to_sender", "to_known",
    "destinations"})


def cedar_context(facts: CallFacts, catalog: Catalog, *,
                  attributes: frozenset[str] = ALL_ATTRIBUTES,
                  arg_names: frozenset[str] | None = None) -> dict[str, Any]:
    """Encode facts as a Cedar context. `attributes` and `arg_names` restrict it to what
    the policy's rules mention (see `CompiledPolicy`): smaller requests are cheaper to
    marshal, and calls that differ only in facts no rule reads share one decision."""
    spec = catalog.tools[facts.tool]
    ctx: dict[str, Any] = {}
    if "args" in attributes:
        args: dict[str, Any] = {}
        for name, value in facts.args.items():
            arg_spec = spec.args.get(name)
            if arg_spec is None:
                raise FactEncodingError(f"argument {name!r} is not in the catalog")
            if arg_names is not None and name not in arg_names:
                continue
            encoded = _encode(value, arg_spec)
            if encoded is not _SKIP:
                args[name] = encoded
        ctx["args"] = args
    if "trigger" in attributes:
        ctx["trigger"] = {"channel": facts.channel, "principal": facts.principal,
                          "authenticated": facts.authenticated, "message": facts.message}
    if "request_type" in attributes:
        ctx["request_type"] = facts.request_type
    for key in ("open_args", "tainted_args", "influenced_args", "planner_args", "chosen_args",
                "tainted_sinks", "influenced_sinks", "read_sinks"):
        if key in attributes:
            ctx[key] = sorted(getattr(facts, key))
    if "private" in attributes:
        ctx["private"] = facts.private
    if "executes_tainted" in attributes:
        ctx["executes_tainted"] = facts.executes_tainted
    if "decided_privately" in attributes:
        ctx["decided_privately"] = facts.decided_privately
    if "steered" in attributes:
        ctx["steered"] = facts.steered
    if "plan" in attributes:
        ctx["plan"] = {"calls": facts.plan.calls, "egress": facts.plan.egress,
                       "payments": facts.plan.payments, "loop": facts.plan.loop}
    for key in ("readers_ok", "args_readers_ok", "to_owner", "to_sender", "to_known"):
        value = getattr(facts, key)
        if value is not None and key in attributes:
            ctx[key] = value
    if facts.destinations is not None and "destinations" in attributes:
        ctx["destinations"] = list(facts.destinations)
    return ctx


_SKIP = object()


def _encode(value: Any, spec: ArgSpec) -> Any:
    t = spec.type
    if t == "string":
        if not isinstance(value, str):
            raise FactEncodingError(f"expected a string, got {type(value).__name__}")
        return value
    if t == "boolean":
        if not isinstance(value, bool):
            raise FactEncodingError(f"expected a boolean, got {type(value).__name__}")
        return value
    if t == "integer":
        return _long(value)
    if t == "number":
        return _decimal(value)
    if t == "array" and spec.items in ("string", "integer"):
        if not isinstance(value, list):
            raise FactEncodingError(f"expected an array, got {type(value).__name__}")
        return [_long(v) if spec.items == "integer" else _string(v) for v in value]
    return _SKIP  # objects and arrays of other things are judged by their labels only


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise FactEncodingError(f"expected a string, got {type(value).__name__}")
    return value


def _long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FactEncodingError(f"expected an integer, got {type(value).__name__}")
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise FactEncodingError("integer out of the policy engine's range")
    return value


def _decimal(value: Any) -> dict[str, Any]:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FactEncodingError(f"expected a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise FactEncodingError("number is not finite")
    try:
        dec = Decimal(str(value))
    except InvalidOperation:
        raise FactEncodingError(f"not a number: {value!r}") from None
    if not dec.is_finite() or abs(dec) > _DECIMAL_LIMIT:
        raise FactEncodingError("number out of the policy engine's range")
    # Round up in magnitude so a limit like `amount > 100` cannot be slipped under by
    # digits beyond Cedar's four decimal places.
    quantized = dec.quantize(Decimal("0.0001"), rounding="ROUND_UP")
    return {"__extn": {"fn": "decimal", "arg": f"{quantized:f}"}}


def _cedar_type(spec: ArgSpec) -> dict[str, Any] | None:
    t = spec.type
    if t == "string":
        return {"type": "String", "required": False}
    if t == "boolean":
        return {"type": "Boolean", "required": False}
    if t == "integer":
        return {"type": "Long", "required": False}
    if t == "number":
        return {"type": "Extension", "name": "decimal", "required": False}
    if t == "array" and spec.items in ("string", "integer"):
        elem = "String" if spec.items == "string" else "Long"
        return {"type": "Set", "element": {"type": elem}, "required": False}
    return None


def _set(elem: str = "String") -> dict[str, Any]:
    return {"type": "Set", "element": {"type": elem}}


def cedar_schema(catalog: Catalog) -> dict[str, Any]:
    """The Cedar schema: one action per tool (in groups per effect), typed contexts."""
    common: dict[str, Any] = {
        "trigger": {"type": "Record", "attributes": {
            "channel": {"type": "String"}, "principal": {"type": "String"},
            "authenticated": {"type": "Boolean"}, "message": {"type": "String"}}},
        "request_type": {"type": "String"},
        "open_args": _set(), "tainted_args": _set(), "influenced_args": _set(),
        "planner_args": _set(), "chosen_args": _set(), "tainted_sinks": _set(), "influenced_sinks": _set(),
        "read_sinks": _set(),
        "private": {"type": "Boolean"},
        "executes_tainted": {"type": "Boolean"},
        "decided_privately": {"type": "Boolean"},
        "steered": {"type": "Boolean"},
        "readers_ok": {"type": "Boolean", "required": False},
        "args_readers_ok": {"type": "Boolean", "required": False},
        "to_owner": {"type": "Boolean", "required": False},
        "to_sender": {"type": "Boolean", "required": False},
        "to_known": {"type": "Boolean", "required": False},
        "destinations": {**_set(), "required": False},
        "plan": {"type": "Record", "attributes": {
            "calls": {"type": "Long"}, "egress": {"type": "Long"},
            "payments": {"type": "Long"}, "loop": {"type": "Long"}}},
    }
    actions: dict[str, Any] = {f"effect:{e}": {} for e in EFFECTS}
    for name, spec in catalog.tools.items():
        arg_types = {a: t for a, s in spec.args.items() if (t := _cedar_type(s)) is not None}
        actions[name] = {
            "memberOf": [{"id": f"effect:{e}"} for e in spec.effects],
            "appliesTo": {
                "principalTypes": ["TrustClass"],
                "resourceTypes": ["RequestType"],
                "context": {"type": "Record", "attributes": {
                    **common, "args": {"type": "Record", "attributes": arg_types}}},
            },
        }
    return {"": {"entityTypes": {"TrustClass": {"memberOfTypes": ["TrustClass"]},
                                 "RequestType": {}},
                 "actions": actions}}
