"""The plan: a typed DAG of steps that an agent in any language can emit as JSON.

`plangate schema plan` prints the JSON Schema of `Plan`. Argument values say where they
come from: a literal with a declared origin, a reference to an earlier output, or a
concatenation/list of those. Steps are tool calls, quarantined extractions, or bounded
loops.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring as _quote  # json.dumps of a str, ensure_ascii=False
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

Origin = Literal["instruction", "payload", "planner"]
STEP_ID = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
PATH = r"^$|^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){0,31}$"

MAX_STEPS = 500
MAX_NESTING = 3
MAX_LOOP = 1000
MAX_CALLS = 10_000
MAX_ARG_DEPTH = 16
MAX_LITERAL_CHARS = 100_000
MAX_LITERAL_VALUES = 1_000_000
"""Values one literal may hold, nested ones included (a JSON body cannot come near it)."""

_STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Lit(BaseModel):
    """A literal value. `origin` is a claim the gate verifies: `instruction` (the owner's
    trusted text) and `payload` (the trigger's untrusted text) literals must occur there;
    `planner` literals were invented by the planner and are treated as attacker-shaped."""

    model_config = _STRICT
    literal: Any
    origin: Origin

    @field_validator("literal")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        """NaN and infinities are not JSON: no tool, cap or audit record can take them."""
        if type(value) is str:
            return value  # the common literal: nothing to look into
        stack = [value]
        budget = MAX_LITERAL_VALUES
        while stack:
            budget -= 1
            if budget < 0:  # a literal that holds itself (only a library caller can build one)
                raise ValueError(f"a literal holds more than {MAX_LITERAL_VALUES} values, or itself")
            item = stack.pop()
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError("a literal number must be finite (not NaN or infinity)")
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list | tuple):
                stack.extend(item)
        return value


class Ref(BaseModel):
    """The output of an earlier step (or `trigger`, or a loop variable), at a field path:
    dot-separated keys and list indexes, e.g. `results.0.sender`, or a list of segments
    for keys that contain dots or spaces, e.g. `["hotels", "Le Marais", "rating"]`."""

    model_config = _STRICT
    ref: str = Field(pattern=STEP_ID)
    path: Annotated[str, Field(pattern=PATH)] | Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)] | Annotated[int, Field(ge=0)]],
        Field(max_length=32)] = ""

    @property
    def segments(self) -> tuple[str | int, ...]:
        if isinstance(self.path, list):
            return tuple(self.path)
        return tuple(self.path.split(".")) if self.path else ()

    @property
    def shown(self) -> str:
        return ".".join(str(s) for s in (self.ref, *self.segments))


class Concat(BaseModel):
    """String concatenation of its parts; the result carries the join of their labels."""

    model_config = _STRICT
    concat: list[Arg] = Field(min_length=1, max_length=256)


class ListOf(BaseModel):
    """An array built from its items."""

    model_config = _STRICT
    items: list[Arg] = Field(alias="list", max_length=1000)


def _arg_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("literal", "ref", "concat", "list"):
            if key in value:
                return key
        return None
    for cls, key in ((Lit, "literal"), (Ref, "ref"), (Concat, "concat"), (ListOf, "list")):
        if isinstance(value, cls):
            return key
    return None


Arg = Annotated[
    Annotated[Lit, Tag("literal")]
    | Annotated[Ref, Tag("ref")]
    | Annotated[Concat, Tag("concat")]
    | Annotated[ListOf, Tag("list")],
    Discriminator(
        _arg_kind,
        custom_error_type="arg_form",
        custom_error_message="an argument is one of {literal, origin}, {ref, path}, "
        "{concat: [...]} or {list: [...]}",
    ),
]


class CallStep(BaseModel):
    """Call one catalog tool with the given arguments."""

    model_config = _STRICT
    id: str = Field(pattern=STEP_ID)
    kind: Literal["call"] = "call"
    tool: str = Field(min_length=1, max_length=128)
    args: dict[str, Arg] = Field(default_factory=dict, max_length=64)


class ExtractType(BaseModel):
    """What an extraction may return. Low-capacity kinds only: a bool, one of a few enum
    values, a bounded number, a date, or a value copied exactly from `choices`."""

    model_config = _STRICT
    kind: Literal["bool", "enum", "number", "date", "copy"]
    values: list[str] | None = Field(default=None, max_length=64)
    min: float | None = None
    max: float | None = None
    choices: Arg | None = None


class ExtractStep(BaseModel):
    """A quarantined model turns untrusted text into a low-capacity typed value. It has
    no tools; its output keeps the readers of its input, and its taint becomes `low`."""

    model_config = _STRICT
    id: str = Field(pattern=STEP_ID)
    kind: Literal["extract"]
    source: Arg = Field(alias="from")
    type: ExtractType
    question: str = Field(default="", max_length=2000)


class ForEachStep(BaseModel):
    """Run `steps` once per item of `over` (at most `max` items; more halts the run)."""

    model_config = _STRICT
    id: str = Field(pattern=STEP_ID)
    kind: Literal["for_each"]
    over: Arg
    var: str = Field(alias="as", pattern=STEP_ID)
    max: int = Field(ge=1, le=MAX_LOOP)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)


def _step_kind(value: Any) -> str:
    if isinstance(value, dict):
        kind = value.get("kind", "call")
        return kind if isinstance(kind, str) else "call"
    return str(getattr(value, "kind", "call"))


Step = Annotated[
    Annotated[CallStep, Tag("call")]
    | Annotated[ExtractStep, Tag("extract")]
    | Annotated[ForEachStep, Tag("for_each")],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message="step kind must be call, extract or for_each",
    ),
]


class Plan(BaseModel):
    """A whole plan. `request_type` names the kind of request the plan answers; the
    policy may limit a trust class to certain request types."""

    model_config = _STRICT
    version: Literal[1] = 1
    request_type: str = Field(default="any", pattern=STEP_ID)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)


for _model in (Concat, ListOf, ExtractType, ForEachStep, Plan):
    _model.model_rebuild()


# ---- the canonical JSON text of a plan -------------------------------------------------------
# What `plan_hash` (plan/codec.py) hashes: the same text as `canonical_json` of the plan's
# JSON dump (keys sorted, fields by alias, None fields left out), written directly instead
# of building the dump through pydantic and re-encoding it, which cost a review more than
# the rest of the check. Anything unexpected (a value pydantic's JSON mode would change: a
# tuple, a key that is not a string, a subclass, a non-finite float) returns None and takes
# the general path. Stored hashes and approvals depend on this text byte for byte
# (tests/core/test_check_speed.py).

_ORIGIN_TEXT = {origin: _quote(origin) for origin in ("instruction", "payload", "planner")}
_LITERAL_TAIL = {origin: ',"origin":' + text + "}" for origin, text in _ORIGIN_TEXT.items()}


def plan_text(plan: Plan) -> str | None:
    """The canonical JSON of the plan, or None when it takes the general path."""
    if type(plan.version) is not int:
        return None
    steps = _steps_text(plan.steps)
    if steps is None:
        return None
    return (f'{{"request_type":{_quote(plan.request_type)},"steps":{steps},'
            f'"version":{int.__repr__(plan.version)}}}')


def _steps_text(steps: list[Step]) -> str | None:
    parts: list[str] = []
    for step in steps:
        if type(step) is CallStep:
            args = step.args
            fields: list[str] = []
            for name in sorted(args) if len(args) > 1 else args:
                arg = args[name]
                # The common argument, a string literal, without a call.
                if (type(arg) is Lit and type(literal := arg.literal) is str
                        and (tail := _LITERAL_TAIL.get(arg.origin))):
                    fields.append(f'{_quote(name)}:{{"literal":{_quote(literal)}{tail}')
                    continue
                value = _arg_text(arg)
                if value is None:
                    return None
                fields.append(f"{_quote(name)}:{value}")
            parts.append(f'{{"args":{{{",".join(fields)}}},"id":{_quote(step.id)},'
                         f'"kind":{_quote(step.kind)},"tool":{_quote(step.tool)}}}')
        elif type(step) is ExtractStep:
            source = _arg_text(step.source)
            wanted = _extract_type_text(step.type)
            if source is None or wanted is None:
                return None
            parts.append(f'{{"from":{source},"id":{_quote(step.id)},"kind":{_quote(step.kind)},'
                         f'"question":{_quote(step.question)},"type":{wanted}}}')
        elif type(step) is ForEachStep:
            over = _arg_text(step.over)
            inner = _steps_text(step.steps)
            if over is None or inner is None or type(step.max) is not int:
                return None
            parts.append(f'{{"as":{_quote(step.var)},"id":{_quote(step.id)},'
                         f'"kind":{_quote(step.kind)},"max":{int.__repr__(step.max)},'
                         f'"over":{over},"steps":{inner}}}')
        else:
            return None
    return "[" + ",".join(parts) + "]"


def _extract_type_text(wanted: ExtractType) -> str | None:
    fields: list[str] = []
    if wanted.choices is not None:
        choices = _arg_text(wanted.choices)
        if choices is None:
            return None
        fields.append('"choices":' + choices)
    fields.append('"kind":' + _quote(wanted.kind))
    for key, bound in (("max", wanted.max), ("min", wanted.min)):
        if bound is not None:
            if type(bound) is not float or not math.isfinite(bound):
                return None
            fields.append(f'"{key}":{float.__repr__(bound)}')
    if wanted.values is not None:
        values = wanted.values
        if any(type(v) is not str for v in values):
            return None
        fields.append('"values":[' + ",".join(map(_quote, values)) + "]")
    return "{" + ",".join(fields) + "}"


def _arg_text(arg: Arg) -> str | None:
    if type(arg) is Lit:
        value = arg.literal
        origin = _ORIGIN_TEXT.get(arg.origin) or _quote(arg.origin)
        if type(value) is str:
            return f'{{"literal":{_quote(value)},"origin":{origin}}}'
        if value is None:
            return f'{{"origin":{origin}}}'  # a None field is left out
        text = _literal_text(value)
        return None if text is None else f'{{"literal":{text},"origin":{origin}}}'
    if type(arg) is Ref:
        path = arg.path
        if type(path) is str:
            shown = _quote(path)
        else:
            segments: list[str] = []
            for seg in path:
                if type(seg) is str:
                    segments.append(_quote(seg))
                elif type(seg) is int:
                    segments.append(int.__repr__(seg))
                else:
                    return None
            shown = "[" + ",".join(segments) + "]"
        return f'{{"path":{shown},"ref":{_quote(arg.ref)}}}'
    if type(arg) is Concat:
        return _args_text('{"concat":[', arg.concat)
    if type(arg) is ListOf:
        return _args_text('{"list":[', arg.items)
    return None


def _args_text(head: str, items: list[Arg]) -> str | None:
    parts: list[str] = []
    for item in items:
        text = _arg_text(item)
        if text is None:
            return None
        parts.append(text)
    return head + ",".join(parts) + "]}"


def _literal_text(value: Any) -> str | None:
    """canonical_json(value) when value is plain JSON data, which pydantic's JSON mode
    leaves as it is: exact str, int, float (finite), bool, None, list and dict with str
    keys. None otherwise."""
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is int:
        return int.__repr__(value)
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            for key in item:
                if type(key) is not str:
                    return None
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float:
            if not math.isfinite(item):
                return None
        elif not (kind is str or kind is int or kind is bool or item is None):
            return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)  # codec.canonical_json
