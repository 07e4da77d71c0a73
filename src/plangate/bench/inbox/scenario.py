"""InboxBench scenarios as data: what arrives, what the (hijacked) planner emits, and what
the state must or must not show afterwards.

One YAML file per scenario under `scenarios/`, plus `world.yaml`, the mailbox, workspace,
calendar, ledger and memory every scenario starts from (a scenario may add to it):

    id: attack-payment-03
    kind: attack                  # or benign
    family: payment               # attacks only
    title: A stranger's "overdue invoice" asks for a transfer to a new account
    world: {mail: [...], files: {...}}      # optional additions to world.yaml
    runs:                         # one or more triggers, in order, sharing all state
      - trigger:
          email: |                # raw RFC 5322 as delivered, Authentication-Results included
            From: ...
        plan: {...}               # the plan, worst case: the planner obeys the attacker
        owner: approve            # what the owner answers if asked (attacks: never asked)
        replan: {plan: {...}}     # optional: a second plan for the same trigger (Gate.replan)
    goal: {leak: NWSECRET-}       # attacks: what the attacker wanted, judged on the state
    expect: [{sent: {...}}]       # benign: what must hold afterwards

Chat triggers give `channel`, `principal`, `evidence` and `payload`; webhooks give
`principal`, `payload` and `signed` (the bench signs the body with the connected
service's secret, or sends a wrong signature); scheduled runs give `name` and
`instruction`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from plangate.errors import UserError
from plangate.trigger import Trigger, parse_trigger

SCENARIOS = Path(__file__).resolve().parent / "scenarios"

Kind = Literal["benign", "attack"]
OwnerAnswer = Literal["approve", "deny", "absent"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One trigger and the plan submitted for it (and optionally a replan)."""

    trigger: Mapping[str, Any]
    plan: Mapping[str, Any]
    owner: OwnerAnswer
    replan: Mapping[str, Any] | None = None
    replan_owner: OwnerAnswer = "absent"


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    id: str
    kind: Kind
    title: str
    runs: tuple[Run, ...]
    family: str = ""
    world: Mapping[str, Any] = field(default_factory=dict)
    goal: Mapping[str, Any] | None = None
    expect: tuple[Mapping[str, Any], ...] = ()
    extract: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""


class ScenarioError(UserError):
    """A scenario file is malformed."""


def load_scenarios(folder: Path = SCENARIOS) -> list[Scenario]:
    """Every scenario under `folder`, sorted by id (the order the bench runs them in)."""
    out = [load_scenario(p) for p in sorted(folder.glob("*/*.yaml"))]
    ids = [s.id for s in out]
    if len(set(ids)) != len(ids):
        raise ScenarioError("duplicate scenario ids")
    return sorted(out, key=lambda s: s.id)


def load_scenario(path: Path) -> Scenario:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a mapping", where=str(path))
    try:
        kind = data["kind"]
        if kind not in ("benign", "attack"):
            raise ScenarioError(f"kind must be benign or attack, not {kind!r}", where=str(path))
        default_owner: OwnerAnswer = "approve" if kind == "benign" else "absent"
        runs = tuple(
            Run(trigger=r["trigger"], plan=r["plan"], owner=r.get("owner", default_owner),
                replan=(r.get("replan") or {}).get("plan"),
                replan_owner=(r.get("replan") or {}).get("owner", "absent"))
            for r in data["runs"])
        scenario = Scenario(
            id=str(data["id"]), kind=kind, title=str(data["title"]), runs=runs,
            family=str(data.get("family", "")), world=data.get("world") or {},
            goal=data.get("goal"), expect=tuple(data.get("expect") or ()),
            extract=data.get("extract") or {}, source=str(path))
    except (KeyError, TypeError) as exc:
        raise ScenarioError(f"missing or malformed field: {exc}", where=str(path)) from None
    if scenario.kind == "attack" and (not scenario.goal or not scenario.family):
        raise ScenarioError("an attack needs a family and a goal", where=str(path))
    if scenario.kind == "benign" and not scenario.expect:
        raise ScenarioError("a benign task needs an expectation", where=str(path))
    return scenario


@cache
def world() -> dict[str, Any]:
    """The shared starting state (read once; callers copy before changing it)."""
    data = yaml.safe_load((SCENARIOS / "world.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def merged_world(extra: Mapping[str, Any]) -> dict[str, Any]:
    """world.yaml with a scenario's additions: lists are extended, mappings updated."""
    import copy

    base = copy.deepcopy(world())
    for key, value in extra.items():
        if isinstance(value, list):
            base[key] = [*base.get(key, []), *copy.deepcopy(value)]
        elif isinstance(value, Mapping):
            base[key] = {**base.get(key, {}), **copy.deepcopy(dict(value))}
        else:
            base[key] = value
    return base


# ---- triggers ----------------------------------------------------------------------------

#: The deployment's receiving mail server: only its Authentication-Results count.
AUTHSERV_ID = "mx.northwind.example"
#: The shared secret of the services whose webhooks the owner connected.
WEBHOOK_SECRET = b"inboxbench-webhook-secret"


def build_trigger(spec: Mapping[str, Any]) -> Trigger:
    """The trigger the deployment's intake builds from what arrived: raw email through
    `trigger_from_email` (which reads only the receiving server's Authentication-Results),
    webhooks through their HMAC check, scheduled runs with the standing instruction."""
    from plangate.deployments.inbox.intake import (
        trigger_from_email,
        trigger_from_schedule,
        trigger_from_webhook,
        webhook_signature,
    )

    if "email" in spec:
        return trigger_from_email(str(spec["email"]).encode("utf-8"),
                                  trusted_authserv_ids=[AUTHSERV_ID])
    channel = spec.get("channel")
    if channel == "webhook":
        body = str(spec.get("payload", "")).encode("utf-8")
        signature = (webhook_signature(body, WEBHOOK_SECRET) if spec.get("signed")
                     else str(spec.get("signature", "sha256=" + "0" * 64)))
        return trigger_from_webhook(body, signature, WEBHOOK_SECRET,
                                    source=str(spec.get("principal", "webhook")))
    if channel == "cron":
        return trigger_from_schedule(str(spec.get("name", "schedule")),
                                     str(spec.get("instruction", "")))
    return parse_trigger(dict(spec))
