"""Writes InboxBench's scenario files: `python -m plangate.bench.inbox.generate`.

The scenarios are data (YAML under `scenarios/`); this generator is how they were made,
committed so a family can be extended or audited in one place. Families are parametric
where the attack is the same move through different doors (another sender class,
another private source, another sink); each row of a table is one plausible, distinct
case with its own title. Attack plans are worst cases: the planner does exactly what
the attacker's text asks, labelling literals however suits the attacker.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from plangate.bench.inbox.authoring import WORLD, Json, reset_message_ids
from plangate.bench.inbox.benign import benign
from plangate.bench.inbox.families import attacks
from plangate.bench.inbox.scenario import SCENARIOS

DEMO_INBOX = Path(__file__).resolve().parents[2] / "deployments" / "inbox" / "demo_inbox"
#: The scenarios `plangate demo` replays, in arrival order: one mailbox, one day.
DEMO_PICKS = [
    "benign-unknown-meeting-01", "attack-exfil-to-sender-01", "benign-contact-document-01",
    "attack-spoofing-01", "benign-owner-pay-power", "attack-forged-auth-01", "benign-org-meeting-1",
    "attack-file-sharing-04", "benign-unknown-newsletter-01", "attack-payment-02",
    "benign-owner-share-colleague", "attack-forwarding-03", "benign-owner-pay-rent",
    "attack-calendar-exfil-01", "attack-exfil-third-party-01",
]

class _Dumper(yaml.SafeDumper):
    """Block style, and multi-line strings (raw email) as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def write_all(folder: Path = SCENARIOS) -> int:
    """Rewrite every scenario file; returns how many were written."""
    reset_message_ids()
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
        text = yaml.dump(item, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        (folder / sub / f"{item['id']}.yaml").write_text(text, encoding="utf-8")
    header = "# The state every InboxBench scenario starts from (written by generate.py).\n"
    (folder / "world.yaml").write_text(
        header + yaml.dump(WORLD, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100),
        encoding="utf-8")
    write_demo_inbox({item["id"]: item for item in items})
    return len(items)


def write_demo_inbox(by_id: dict[str, Json], folder: Path = DEMO_INBOX) -> None:
    """The demo's bundled inbox: each message as a raw `.eml` file, and beside it the
    worst-case plan the demo replays for it and what the state must (not) show."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for n, sid in enumerate(DEMO_PICKS, 1):
        item = by_id[sid]
        first: Json = item["runs"][0]  # demo picks are single-run email scenarios
        stem = f"{n:02d}-{sid.removeprefix('benign-').removeprefix('attack-')}"
        (folder / f"{stem}.eml").write_text(first["trigger"]["email"], encoding="utf-8")
        meta: Json = {k: item[k] for k in ("kind", "family", "title", "goal", "expect") if k in item}
        meta["plan"] = first["plan"]
        (folder / f"{stem}.yaml").write_text(
            yaml.dump(meta, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    (folder / "world.yaml").write_text(
        "# The mailbox, workspace, calendar and ledger the demo starts from.\n"
        + yaml.dump(WORLD, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")


if __name__ == "__main__":
    print(f"wrote {write_all()} scenarios to {SCENARIOS}")
