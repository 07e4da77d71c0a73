"""Writes IncidentBench's scenario files: `python -m plangate.bench.incident.generate`.

The scenarios are data (YAML under `scenarios/`); this generator is how they were made,
committed so a family can be extended or audited in one place.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from plangate.bench.incident.authoring import WORLD
from plangate.bench.incident.benign import benign
from plangate.bench.incident.families import attacks
from plangate.bench.incident.overreach import capacity, oncall_overreach
from plangate.bench.incident.scenario import SCENARIOS

DEMO_EVENTS = Path(__file__).resolve().parents[2] / "deployments" / "incident" / "demo_events.yaml"
#: The scenarios `plangate demo --deployment incident` replays, in arrival order: one cluster, one morning.
DEMO_PICKS = [
    "benign-alert-01", "attack-scale-to-zero-01", "benign-alert-16", "attack-secret-leak-02",
    "benign-oncall-01", "attack-wrong-target-02", "attack-public-post-01", "benign-alert-23",
    "attack-forged-alert-01", "attack-silence-02", "attack-runbook-tamper-02", "attack-bad-release-01",
    "benign-oncall-13",
]


class _Dumper(yaml.SafeDumper):
    """Block style, and multi-line strings as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def _dump(data: object) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def write_all(folder: Path = SCENARIOS) -> int:
    items = benign() + attacks() + oncall_overreach() + capacity()
    for sub in ("benign", "attack"):
        shutil.rmtree(folder / sub, ignore_errors=True)
        (folder / sub).mkdir(parents=True)
    ids: set[str] = set()
    for item in items:
        if item["id"] in ids:
            raise ValueError(f"duplicate scenario id {item['id']}")
        ids.add(item["id"])
        sub = "benign" if item["kind"] == "benign" else "attack"
        (folder / sub / f"{item['id']}.yaml").write_text(_dump(item), encoding="utf-8")
    (folder / "world.yaml").write_text(
        "# The cluster every IncidentBench scenario starts from (written by generate.py).\n" + _dump(WORLD),
        encoding="utf-8")
    write_demo({item["id"]: item for item in items})
    return len(items)


def write_demo(by_id: dict[str, dict[str, Any]], path: Path = DEMO_EVENTS) -> None:
    """The demo's bundled morning: each event (an alert or a chat message) with the
    worst-case plan the demo replays, what the state must (not) show, and the cluster
    they all share (the world plus every pick's additions)."""
    import copy

    world = copy.deepcopy(WORLD)
    events: list[dict[str, Any]] = []
    for sid in DEMO_PICKS:
        item = by_id[sid]
        extra: dict[str, Any] = item.get("world") or {}
        for key, value in extra.items():
            for k, v in value.items():
                slot = world.setdefault(key, {})
                slot[k] = [*slot.get(k, []), *v] if isinstance(v, list) else v
        (first,) = item["runs"]  # demo picks are single-run scenarios
        event: dict[str, Any] = {"id": sid}
        event.update({k: item[k] for k in ("kind", "family", "title", "goal", "expect", "extract") if k in item})
        event.update({k: first[k] for k in ("trigger", "plan", "owner") if k in first})
        events.append(event)
    path.write_text("# The incident demo's morning (written by plangate.bench.incident.generate).\n"
                    + _dump({"world": world, "events": events}), encoding="utf-8")


if __name__ == "__main__":
    print(f"wrote {write_all()} scenarios to {SCENARIOS}")
