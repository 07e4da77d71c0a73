"""The policy document: per trust class, what a trigger's source may cause.

A policy file is YAML a security engineer can read:

    deployment: {owner: [...], classes: [...], lowest: unknown}
    request_types:
      meeting_request: {description: ..., tools: [check_calendar, reply_email]}
    classes:
      unknown: {request_types: [meeting_request], budget: {max_calls: 8}}
    rules:
      - id: no-private-egress
        forbid: {effects: [egress]}
        when: 'context has readers_ok && !context.readers_ok'
        reason: Private data only reaches people who can already read it.

Rules are `permit`, `forbid` or `escalate`, each with a scope (classes, tools, effects,
request types) and optional Cedar conditions over the facts plangate computes (see
`plangate.policy.facts`). They compile to Cedar; forbids beat permits; escalations turn a
would-be approval or a default deny into a question for the owner, never a hard forbid.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from plangate.catalog import Effect
from plangate.trigger import Deployment

RuleKind = Literal["permit", "forbid", "escalate"]
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class Scope(BaseModel):
    """What a rule applies to; an empty field means any."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    classes: list[str] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)
    effects: list[Effect] = Field(default_factory=list)
    #: Stored resource names (patterns, `workspace:shared/*`): the rule applies to every tool
    #: that may write one of them (its `writes`, or what it runs: `ToolSpec.effective_writes`),
    #: found in the catalog when the policy loads, whatever its name.
    writes: list[str] = Field(default_factory=list)
    request_types: list[str] = Field(default_factory=list)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID)
    permit: Scope | None = None
    forbid: Scope | None = None
    escalate: Scope | None = None
    when: str | None = Field(default=None, max_length=4000)
    unless: str | None = Field(default=None, max_length=4000)
    reason: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        kinds = [k for k in ("permit", "forbid", "escalate") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a rule has exactly one of permit, forbid or escalate")
        return self

    @property
    def kind(self) -> RuleKind:
        if self.permit is not None:
            return "permit"
        return "forbid" if self.forbid is not None else "escalate"

    @property
    def scope(self) -> Scope:
        scope = self.permit or self.forbid or self.escalate
        assert scope is not None  # guaranteed by _one_kind
        return scope


class Budget(BaseModel):
    """Upper bounds for one run of this class; exceeding any one denies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_calls: int | None = Field(default=None, ge=0)
    max_egress: int | None = Field(default=None, ge=0)
    max_payments: int | None = Field(default=None, ge=0)
    max_loop: int | None = Field(default=None, ge=1)


class RateLimit(BaseModel):
    """How many runs triggers of this class may start, across runs: a flood of mail from
    one stranger (or from many) cannot spend the owner's tools, money or model budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_principal_per_hour: int | None = Field(default=None, ge=0)
    per_principal_per_day: int | None = Field(default=None, ge=0)
    per_class_per_hour: int | None = Field(default=None, ge=0)


class ClassPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    #: When set, plans from this class must declare one of these request types.
    request_types: list[str] | None = None
    budget: Budget = Budget()
    rate: RateLimit = RateLimit()


class RequestType(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    #: The only tools a plan of this request type may call.
    tools: list[str] = Field(default_factory=list)


class PolicyDoc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    name: str = "policy"
    #: Path of the tool catalog this policy is written against, relative to the policy file.
    catalog: str | None = None
    deployment: Deployment | None = None
    request_types: dict[str, RequestType] = Field(default_factory=dict)
    classes: dict[str, ClassPolicy] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> PolicyDoc:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return self
