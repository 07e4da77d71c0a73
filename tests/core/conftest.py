"""Shared fixtures for the core tests: the assistant example policy, triggers and plans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plangate import Gate, load_policy, parse_trigger
from plangate.audit import AuditLog
from plangate.catalog import Catalog
from plangate.policy import CompiledPolicy
from plangate.testing import FixtureTools
from plangate.trigger import Trigger

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
POLICY_PATH = EXAMPLES / "assistant-policy.yaml"
CATALOG_PATH = EXAMPLES / "assistant-catalog.yaml"

OWNER = "owner@home.example"
CONTACT = "bob@partner.example"
STRANGER = "carol@newclient.example"

_POLICY: CompiledPolicy | None = None


def assistant_policy() -> CompiledPolicy:
    """The example policy, compiled once per test session (review never mutates it)."""
    global _POLICY
    if _POLICY is None:
        _POLICY = load_policy(POLICY_PATH)
    return _POLICY


@pytest.fixture
def policy() -> CompiledPolicy:
    return assistant_policy()


@pytest.fixture
def catalog() -> Catalog:
    return assistant_policy().catalog


def lit(value: Any, origin: str = "planner") -> dict[str, Any]:
    return {"literal": value, "origin": origin}


def ref(step: str, path: str = "") -> dict[str, Any]:
    return {"ref": step, "path": path} if path else {"ref": step}


def call(step_id: str, tool: str, **args: Any) -> dict[str, Any]:
    return {"id": step_id, "tool": tool, "args": args}


def plan(*steps: dict[str, Any], request_type: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"version": 1, "steps": list(steps)}
    if request_type:
        out["request_type"] = request_type
    return out


def owner_trigger(payload: str = "", instruction: str = "", channel: str = "chat") -> Trigger:
    evidence = {"paired": True} if channel == "chat" else {"dmarc": "pass"}
    return parse_trigger({"channel": channel, "principal": OWNER, "evidence": evidence,
                          "payload": payload, "instruction": instruction})


def contact_trigger(payload: str = "") -> Trigger:
    return parse_trigger({"channel": "email", "principal": f"Bob <{CONTACT}>",
                          "evidence": {"dmarc": "pass"}, "payload": payload})


def stranger_trigger(payload: str = "") -> Trigger:
    return parse_trigger({"channel": "email", "principal": f"Carol <{STRANGER}>",
                          "evidence": {"dmarc": "pass"}, "payload": payload})


def cron_trigger(instruction: str = "") -> Trigger:
    return parse_trigger({"channel": "cron", "principal": "scheduler", "instruction": instruction})


def make_gate(outputs: dict[str, Any] | None = None, *, audit: AuditLog | str = ":memory:",
              **kwargs: Any) -> tuple[Gate, FixtureTools]:
    tools = FixtureTools(outputs or {})
    return Gate(assistant_policy(), tools, audit=audit, **kwargs), tools


def event_kinds(gate: Gate) -> list[str]:
    return [e.kind for e in gate.audit.tail(10_000)]
