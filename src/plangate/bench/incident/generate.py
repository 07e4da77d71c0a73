"""Writes IncidentBench's scenario files: `python -m plangate.bench.incident.generate`.

The scenarios are data (YAML under `scenarios/`); this generator is how they were made,
committed so a family can be extended or audited in one place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from plangate.bench.incident.authoring import WORLD
from plangate.bench.incident.benign import benign
from plangate.bench.incident.families import attacks
from plangate.bench.incident.scenario import SCENARIOS


class _Dumper(yaml.SafeDumper):
    """Block style, and multi-line strings as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def _dump(data: object) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def write_all(folder: Path = SCENARIOS) -> int:
    items = benign() + attacks()
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
    return len(items)


if __name__ == "__main__":
    print(f"wrote {write_all()} scenarios to {SCENARIOS}")
