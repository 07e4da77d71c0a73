"""The plan: a typed DAG of steps that an agent in any language can emit as JSON.

`plangate schema plan` prints the JSON Schema of `Plan`. Argument values say where they
come from: a literal with a declared origin, a reference to an earlier output, or a
concatenation/list of those. Steps are tool calls, quarantined extractions, or bounded
loops.
"""

from __future__ import annotations

import math
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
