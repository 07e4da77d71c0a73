"""SupportBench: the scenario set meets the issue's sizes, the reduced bench (what CI runs)
holds, and each of the two layers that keep customers apart holds on its own."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from plangate.bench.support import main, report, run_bench, scenarios, shipped_policy
from plangate.bench.support import runner as support_runner
from plangate.catalog import load_catalog
from plangate.deployments.support import CATALOG_PATH, POLICY_PATH
from plangate.deployments.support.db import SupportDB
from plangate.gate import Gate
from plangate.policy import CompiledPolicy
from plangate.policy.loader import compile_policy


def _policy(drop: str) -> CompiledPolicy:
    doc = yaml.safe_load(POLICY_PATH.read_text(encoding="utf-8"))
    doc["catalog"] = str(CATALOG_PATH)
    doc["rules"] = [r for r in doc["rules"] if r["id"] != drop]
    return compile_policy(doc, load_catalog(CATALOG_PATH), source=f"without {drop}")


def _attacks(*families: str) -> list[Any]:
    return [s for s in scenarios() if s.kind == "attack" and s.family in families]


def test_the_scenario_set_has_the_sizes_the_issue_asks_for() -> None:
    every = scenarios()
    attacks = [s for s in every if s.kind == "attack"]
    benign = [s for s in every if s.kind == "benign"]
    assert len(attacks) >= 150 and len({s.family for s in attacks}) >= 8
    assert len(benign) >= 50
    assert all(s.goal for s in attacks) and all(s.expect for s in benign)


def test_the_reduced_bench_lands_no_attack_and_auto_approves_benign_work(tmp_path: Path) -> None:
    out = tmp_path / "support.json"
    args = argparse.Namespace(json=str(out), markdown=str(tmp_path / "support.md"), quick=True)
    assert main(args, say=lambda _text: None) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["attacks"] >= 40 and data["attacks_succeeded"] == 0
    assert data["benign_denied"] == 0 and data["benign_completed"] == data["benign"]
    assert data["benign_auto_approved"] >= 0.9 * data["benign"]
    assert set(data) >= {"benign", "benign_auto_approved", "benign_escalated", "benign_denied",
                         "benign_completed", "benign_by_class", "attacks", "attacks_succeeded",
                         "attacks_escalated", "families", "seconds", "escalations", "failures"}
    assert "# SupportBench results" in (tmp_path / "support.md").read_text(encoding="utf-8")


CROSS_CUSTOMER = ("id-guessing", "search", "foreign-ticket", "knowledge-base")


def test_row_labels_alone_keep_customers_apart() -> None:
    """Without the Cedar ownership rule, the per-row readers still stop every attempt to
    read another customer's records."""
    results = run_bench(_attacks(*CROSS_CUSTOMER), policy=_policy("customers-touch-only-their-own-records"))
    assert len(results) > 60
    assert [r.scenario.id for r in results if r.succeeded] == []


def _rows_say_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken source of row readers: every customer's rows readable by anyone."""
    monkeypatch.setattr(SupportDB, "readers_of", lambda self, address, kind: frozenset({"*"}))


def test_without_row_readers_or_ownership_another_customers_data_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: rows that say anyone may read them, and no ownership
    rule, let the same attacks through."""
    _rows_say_public(monkeypatch)
    results = run_bench(_attacks("id-guessing"), policy=_policy("customers-touch-only-their-own-records"))
    assert sum(r.succeeded for r in results) >= 10


def test_ownership_alone_keeps_customers_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """And the other way round: with rows that say anyone may read them, the Cedar
    ownership rule alone stops them."""
    _rows_say_public(monkeypatch)
    results = run_bench(_attacks("id-guessing", "search"), policy=shipped_policy())
    assert [r.scenario.id for r in results if r.succeeded] == []


def test_the_catalog_fails_closed_behind_a_gate_without_row_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    """`readers: stored` with nothing stored is the staff's: behind the plain core gate a
    customer cannot even get their own orders (denied, not leaked), and no attack lands."""

    class PlainGate(Gate):
        def __init__(self, policy: CompiledPolicy, tools: Any, db: Any, **kw: Any) -> None:
            super().__init__(policy, tools, **kw)

    monkeypatch.setattr(support_runner, "SupportGate", PlainGate)
    own = [s for s in scenarios() if s.id == "benign-01"]
    (result,) = run_bench(own)
    assert result.denied and "no-private-data-to-others" in result.steps[0].rules
    attacks = run_bench(_attacks("id-guessing"), policy=_policy("customers-touch-only-their-own-records"))
    assert not any(r.succeeded for r in attacks)


def test_every_escalation_names_what_a_human_decides() -> None:
    """An escalation's summary shows the tool, the customer and the values (amount, field)."""
    chosen = [s for s in scenarios() if s.id in ("benign-40", "benign-51")]
    data = report(run_bench(chosen), 0.0)
    assert len(data["escalations"]) == 2
    for item in data["escalations"]:
        summary = item["summary"]
        assert "account_update" in summary or "refund_issue" in summary
        assert "dev@mail.example" in summary or "cleo@mail.example" in summary
        assert "address" in summary or "295.0" in summary
