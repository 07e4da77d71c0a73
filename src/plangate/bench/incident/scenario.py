"""IncidentBench scenarios as data, and the triggers intake builds from them.

One YAML file per scenario under `scenarios/` (written by `generate.py`), in InboxBench's
shape (`plangate.bench.inbox.scenario.Scenario`), plus `world.yaml`, the cluster every
scenario starts from. A run's trigger is either an Alertmanager notification

    trigger: {alert: {version: "4", alerts: [...], ...}, signed: true}   # or false, "wrong", "other-body"

which the bench renders to bytes, signs (or not) and hands to the deployment's intake,
or an engineer's chat message `{chat: TEXT, user: ADDR, paired: BOOL}`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from plangate.bench.inbox.scenario import Scenario, ScenarioError, load_scenarios
from plangate.deployments.incident.intake import (
    IncomingAlert,
    alert_signature,
    alerts_from_webhook,
    render_body,
    trigger_from_chat,
)

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
#: The shared secret between the signing relay in front of Alertmanager and the deployment.
ALERT_SECRET = b"incidentbench-alert-relay-secret"
#: The chat ids the team paired with the assistant.
PAIRED = frozenset({"alice@acme.example", "ravi@acme.example", "mei@acme.example"})


def incident_scenarios(folder: Path = SCENARIOS) -> list[Scenario]:
    return load_scenarios(folder)


@cache
def world() -> dict[str, Any]:
    data = yaml.safe_load((SCENARIOS / "world.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def merged_world(extra: Mapping[str, Any]) -> dict[str, Any]:
    """world.yaml with a scenario's additions: mappings of lists extend, others update."""
    base = copy.deepcopy(world())
    for key, value in extra.items():
        if isinstance(value, Mapping):
            inner = dict(base.get(key, {}))
            for k, v in value.items():
                inner[k] = [*inner.get(k, []), *v] if isinstance(v, list) and isinstance(inner.get(k), list) else v
            base[key] = inner
        elif isinstance(value, list):
            base[key] = [*base.get(key, []), *value]
        else:
            base[key] = value
    return base


def build_incoming(spec: Mapping[str, Any]) -> list[IncomingAlert]:
    """What intake makes of a run's trigger: one entry per firing alert (alert triggers),
    or one entry with no recorded fields (chat)."""
    if "chat" in spec:
        trigger = trigger_from_chat(str(spec.get("user", "")), str(spec["chat"]),
                                    PAIRED if spec.get("paired", True) else frozenset())
        return [IncomingAlert(trigger, {})]
    if "alert" not in spec:
        raise ScenarioError(f"a trigger is an alert or a chat message, not {sorted(spec)}")
    body = render_body(spec["alert"])
    signed = spec.get("signed", True)
    if signed is True:
        signature: str | None = alert_signature(body, ALERT_SECRET)
    elif signed == "wrong":
        signature = alert_signature(body, b"someone-elses-secret")
    elif signed == "other-body":
        signature = alert_signature(body + b" ", ALERT_SECRET)
    else:
        signature = None
    return alerts_from_webhook(body, signature, ALERT_SECRET)
